"""Latvian personal codes (personas kods): the old form with the birth date and a check digit,
and the new form (from 1 July 2017) that starts with 32 and says nothing about the person.

* old: ``DDMMYY-CNNNN``: day, month, two digits of the year, the century digit (0 → 1800s,
  1 → 1900s, 2 → 2000s), three serial digits and a check digit:
  ``(1101 − Σ wᵢ·dᵢ) mod 11`` with weights 1 6 3 7 9 10 5 8 4 2 over the first ten digits
  (a code whose result would be 10 is never issued);
* new: ``32NNNN-NNNNN``: eleven digits starting with 32, no date and no check digit the
  authorities publish, so only the form is checked.

The hyphen is optional when typed; ``normalise`` gives the stored form with it.
"""
import re
from datetime import date

from rules.i18n import _l

OLD, NEW = "old", "new"
WEIGHTS = (1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CENTURIES = {"0": 1800, "1": 1900, "2": 2000}
_SHAPE = re.compile(r"(\d{6})-?(\d{5})")


def check_digit(first_ten):
    """The check digit of an old-form code's first ten digits (10 means: no valid code)."""
    return (1101 - sum(w * int(d) for w, d in zip(WEIGHTS, first_ten, strict=True))) % 11


def normalise(text):
    """``DDMMYY-NNNNN`` from what was typed (spaces dropped, the hyphen added), or None when
    it is not eleven digits in that shape."""
    match = _SHAPE.fullmatch(re.sub(r"\s", "", text or ""))
    return f"{match.group(1)}-{match.group(2)}" if match else None


def birth_date(code):
    """The birth date an old-form code carries (None for a new-form or malformed code)."""
    code = normalise(code)
    if code is None or code.startswith("32"):
        return None
    century = CENTURIES.get(code[7])
    if century is None:
        return None
    try:
        return date(century + int(code[4:6]), int(code[2:4]), int(code[0:2]))
    except ValueError:
        return None


def problem(text):
    """Why ``text`` is not a Latvian personal code (a translatable message), or None if it is one."""
    code = normalise(text)
    if code is None:
        return _l("Enter the personal code as 11 digits, for example 010190-12345.")
    if code.startswith("32"):
        return None
    digits = code.replace("-", "")
    if birth_date(code) is None:
        return _l("The first six digits of the personal code must be a date of birth (DDMMYY).")
    if check_digit(digits[:10]) != int(digits[10]):
        return _l("This personal code is not valid: check the digits.")
    return None


def kind(text):
    """OLD or NEW for a valid code, None otherwise."""
    if problem(text) is not None:
        return None
    return NEW if normalise(text).startswith("32") else OLD
