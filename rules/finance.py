"""Invoices and payments as plain data: numbers, payment references, IBANs, the EPC QR payload,
amounts and an invoice's status. No database, no Flask (``tests/test_finance.py`` tests them alone).

- **Invoice numbers** are ``KAB-<year>-<six digits>``, sequential per year (the counter is
  ``models.finance.InvoiceCounter``).
- **Payment references** are ISO 11649 creditor references ("RF" + two check digits + up to 21
  letters or digits), built from the invoice number, so a bank statement names the invoice.
- **IBAN** and **BIC** are checked here (ISO 13616 mod-97, the length of each SEPA country).
- **The EPC069-12 QR code** ("SEPA credit transfer", version 002) a banking app scans.
- **Money** is ``Decimal`` with two places, in euro: never a float.
"""
import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NamedTuple

from rules.i18n import _l

CURRENCY = "EUR"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# The largest amount of one invoice or payment (and of the EPC QR code: 999 999 999,99).
MAX_AMOUNT = Decimal("999999999.99")

# --- Invoice numbers ------------------------------------------------------------------------

NUMBER_PREFIX = "KAB"
NUMBER_DIGITS = 6
NUMBER_RE = re.compile(r"\bKAB-(\d{4})-(\d{6})\b", re.IGNORECASE)


def invoice_number(year, sequence):
    """The invoice number: ``KAB-2026-000123``."""
    if not 1 <= sequence < 10 ** NUMBER_DIGITS:
        raise ValueError("the year's invoice numbers are used up")
    return f"{NUMBER_PREFIX}-{year:04d}-{sequence:0{NUMBER_DIGITS}d}"


def numbers_in(text):
    """Invoice numbers written in free text (a payment's unstructured remittance), upper-cased."""
    return [f"{NUMBER_PREFIX}-{y}-{n}" for y, n in NUMBER_RE.findall(text or "")]


# --- ISO 11649 creditor references and ISO 13616 IBAN: the same mod-97 -------------------------

def _as_digits(text):
    """Letters as numbers (A = 10 … Z = 35), digits as they are."""
    return "".join(str(int(c, 36)) for c in text)


def _mod97(text):
    return int(_as_digits(text)) % 97


def compact(text):
    """Spaces out, upper case: how references and IBANs are compared."""
    return re.sub(r"\s+", "", str(text or "")).upper()


RF_BODY_RE = re.compile(r"^[A-Z0-9]{1,21}$")
RF_RE = re.compile(r"^RF\d{2}[A-Z0-9]{1,21}$")


def rf_reference(body):
    """The ISO 11649 creditor reference of ``body`` (1–21 letters or digits): ``RF`` + check digits + body."""
    body = compact(body)
    if not RF_BODY_RE.match(body):
        raise ValueError("a creditor reference's body is 1 to 21 letters or digits")
    check = 98 - _mod97(body + "RF00")
    return f"RF{check:02d}{body}"


def rf_valid(reference):
    """True for a well-formed ISO 11649 reference whose check digits are right (spaces allowed)."""
    reference = compact(reference)
    return bool(RF_RE.match(reference)) and _mod97(reference[4:] + reference[:4]) == 1


def rf_grouped(reference):
    """As printed for people: groups of four (``RF18 5390 0754 7034``)."""
    reference = compact(reference)
    return " ".join(reference[i:i + 4] for i in range(0, len(reference), 4))


def invoice_reference(number):
    """The payment reference of an invoice number: RF + check digits + its year and sequence."""
    year, sequence = number.split("-")[1:]
    return rf_reference(year + sequence)


# IBAN lengths of the SEPA countries (the SWIFT IBAN registry).
IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28,
    "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31,
    "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "VA": 22,
}
IBAN_RE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")


def iban_valid(iban):
    """True for an IBAN of a SEPA country with its length and a right mod-97 check (spaces allowed)."""
    iban = compact(iban)
    return (bool(IBAN_RE.match(iban)) and IBAN_LENGTHS.get(iban[:2]) == len(iban)
            and _mod97(iban[4:] + iban[:4]) == 1)


def iban_grouped(iban):
    iban = compact(iban)
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


BIC_RE = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")


def bic_valid(bic):
    return bool(BIC_RE.match(compact(bic)))


# --- Money --------------------------------------------------------------------------------------

def parse_amount(text):
    """An amount as people type it ("1 234,56", "1234.56", "12") as a Decimal of two places,
    or None: more than two decimals, not a number, zero, negative or too large."""
    text = re.sub(r"[\s\u00a0\u202f€]", "", str(text or ""))
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    if not re.fullmatch(r"\d{1,9}(\.\d{1,2})?", text):
        return None
    try:
        amount = Decimal(text).quantize(CENT)
    except InvalidOperation:
        return None
    return amount if CENT <= amount <= MAX_AMOUNT else None


def cents(value):
    """A Decimal of exactly two places (stored values come back as Decimals already)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# --- Status ---------------------------------------------------------------------------------------

UNPAID, PARTLY_PAID, PAID, OVERDUE, CREDITED = "unpaid", "partly_paid", "paid", "overdue", "credited"
STATUSES = (UNPAID, PARTLY_PAID, OVERDUE, PAID, CREDITED)
STATUS_LABELS = {
    UNPAID: _l("Unpaid"),
    PARTLY_PAID: _l("Partly paid"),
    PAID: _l("Paid"),
    OVERDUE: _l("Overdue"),
    CREDITED: _l("Credited in full"),
}


class Balance(NamedTuple):
    """An invoice's money as the client sees it: ``paid + credited + remaining`` is the amount,
    or, when more came in than was due, ``paid + credited`` is the amount plus ``overpaid``."""

    amount: Decimal
    paid: Decimal
    remaining: Decimal  # never below zero
    overpaid: Decimal  # paid beyond what is due after credit notes (staff refund or set it off)
    status: str
    credited: Decimal = ZERO  # the invoice's credit notes together


def balance(amount, paid, due_on, today, credited=ZERO):
    """What is due is the amount less its credit notes. An invoice credited in full with nothing
    paid is credited; otherwise nothing left to pay is paid; past the due date is overdue (even
    when partly paid: the remaining amount is late), some paid is partly paid, nothing paid is
    unpaid."""
    amount, paid, credited = cents(amount), cents(paid), cents(credited or ZERO)
    due = amount - credited
    remaining = max(due - paid, ZERO)
    overpaid = max(paid - due, ZERO)
    if credited >= amount and paid == ZERO:
        status = CREDITED
    elif remaining == ZERO:
        status = PAID
    elif due_on is not None and due_on < today:
        status = OVERDUE
    elif paid > ZERO:
        status = PARTLY_PAID
    else:
        status = UNPAID
    return Balance(amount, paid, remaining, overpaid, status, credited)


# --- Credit notes ---------------------------------------------------------------------------------

def creditable(amount, credited):
    """How much a new credit note may credit: the invoice's amount not credited yet. Paid or
    not: crediting a paid invoice leaves an overpayment the client is refunded."""
    return max(cents(amount) - cents(credited or ZERO), ZERO)


def credit_note_number(invoice_number, sequence):
    """A credit note's number: its invoice's number and its place among the invoice's credit
    notes (``KAB-2026-000123-K1``), so a statement or a letter naming it names the invoice too."""
    if not 1 <= sequence <= 99:
        raise ValueError("an invoice has at most 99 credit notes")
    return f"{invoice_number}-K{sequence}"


# --- What an invoice is for ----------------------------------------------------------------------

COMMISSION_FEE, OTHER = "commission_fee", "other"
PURPOSES = {
    COMMISSION_FEE: _l("Commission fee"),
    OTHER: _l("Other services"),
}

# --- The EPC069-12 QR code ("SEPA credit transfer", version 002) -----------------------------------

EPC_NAME_MAX = 70
EPC_REFERENCE_MAX = 35
EPC_TEXT_MAX = 140
EPC_PAYLOAD_MAX_BYTES = 331


def epc_amount(amount):
    """``EUR123.45``: the euro sign of the standard, a point, two decimals, no grouping."""
    amount = cents(amount)
    if not CENT <= amount <= MAX_AMOUNT:
        raise ValueError("an EPC QR amount is 0.01 to 999999999.99 euro")
    return f"{CURRENCY}{amount}"


def epc_payload(name, iban, amount, reference="", text="", bic="", purpose=""):
    """The text of an EPC069-12 QR code (version 002, UTF-8, SEPA credit transfer): one element
    a line (LF), in the standard's order — service tag BCD, version 002, character set 1,
    identification SCT, the BIC (optional within the EEA), the beneficiary's name, their IBAN,
    the amount, the purpose code, then either the structured creditor reference or the
    unstructured text (never both), nothing after the last element that is given."""
    name, iban, bic, reference = str(name).strip(), compact(iban), compact(bic), compact(reference)
    text = " ".join(str(text or "").split())
    if not name or len(name) > EPC_NAME_MAX:
        raise ValueError("the beneficiary's name is 1 to 70 characters")
    if not iban_valid(iban):
        raise ValueError("not a valid IBAN")
    if bic and not bic_valid(bic):
        raise ValueError("not a valid BIC")
    if reference and text:
        raise ValueError("a structured reference or a text, not both")
    if reference and (len(reference) > EPC_REFERENCE_MAX or not rf_valid(reference)):
        raise ValueError("not a valid ISO 11649 reference")
    if len(text) > EPC_TEXT_MAX:
        raise ValueError("the remittance text is at most 140 characters")
    if purpose and not re.fullmatch(r"[A-Z0-9]{4}", purpose):
        raise ValueError("a purpose code is four letters or digits")
    lines = ["BCD", "002", "1", "SCT", bic, name, iban, epc_amount(amount), purpose, reference, text]
    while lines[-1] == "":
        lines.pop()
    payload = "\n".join(lines)
    if len(payload.encode("utf-8")) > EPC_PAYLOAD_MAX_BYTES:
        raise ValueError("an EPC QR payload is at most 331 bytes")
    return payload


# --- Bank statements ------------------------------------------------------------------------------

STATEMENT_MAX_BYTES = 5 * 1024 * 1024  # a camt.053 file larger than this is refused unread
STATEMENT_MAX_ENTRIES = 5000

# What became of one entry of an imported statement.
MATCHED, UNMATCHED, ASSIGNED, SKIPPED = "matched", "unmatched", "assigned", "skipped"
ENTRY_LABELS = {
    MATCHED: _l("Matched by reference"),
    UNMATCHED: _l("Not matched"),
    ASSIGNED: _l("Assigned by hand"),
    SKIPPED: _l("Not a payment to us"),
}


# Why an entry was not matched by itself (``StatementEntry.reason``), in words for staff.
REASON_NO_INVOICE, REASON_CURRENCY, REASON_DEBIT = "no_invoice", "currency", "debit"
REASON_NOT_BOOKED, REASON_REVERSAL, REASON_BATCH = "not_booked", "reversal", "batch"
REASONS = {
    REASON_NO_INVOICE: _l("Its payment details name no invoice (or more than one)."),
    REASON_CURRENCY: _l("Not in the invoice's currency."),
    REASON_DEBIT: _l("Money going out of the account."),
    REASON_NOT_BOOKED: _l("Not booked yet."),
    REASON_REVERSAL: _l("A reversal of an earlier entry."),
    REASON_BATCH: _l("A batch of several payments: assign it by hand."),
}

# Why a statement file was refused, in words for staff.
REFUSED_EMPTY, REFUSED_TOO_LARGE, REFUSED_DTD, REFUSED_NOT_XML = "empty", "too_large", "dtd", "not_xml"
REFUSED_NOT_CAMT053, REFUSED_STATEMENTS, REFUSED_NO_IBAN = "not_camt053", "statements", "no_iban"
REFUSED_TOO_MANY, REFUSED_AMOUNT, REFUSED_OTHER_ACCOUNT = "too_many", "amount", "other_account"
REFUSALS = {
    REFUSED_EMPTY: _l("Choose the statement file."),
    REFUSED_TOO_LARGE: _l("The file is larger than %(mb)d MB.", mb=STATEMENT_MAX_BYTES // (1024 * 1024)),
    REFUSED_DTD: _l("The file declares a document type (a DTD), which a bank statement never needs."),
    REFUSED_NOT_XML: _l("The file is not well-formed XML."),
    REFUSED_NOT_CAMT053: _l("The file is not an ISO 20022 camt.053 bank statement."),
    REFUSED_STATEMENTS: _l("The file must hold exactly one statement."),
    REFUSED_NO_IBAN: _l("The statement names no valid IBAN."),
    REFUSED_TOO_MANY: _l("The statement has more than %(n)d entries.", n=STATEMENT_MAX_ENTRIES),
    REFUSED_AMOUNT: _l("An entry's amount is missing, not a number or out of range."),
    REFUSED_OTHER_ACCOUNT: _l("The statement is of another account than the one clients pay to."),
}


def due_date_valid(due_on, issued_on):
    """A due date is the issue date or later, and at most two years after it."""
    return isinstance(due_on, date) and issued_on <= due_on <= issued_on + timedelta(days=731)
