"""Company-register representation data in plain data: reading the institution's CSV of it
(``flask import-register``) and deciding whether a person may become a company's main user
remotely (seed 000: "Uzņēmuma paraksta tiesīgās personas var attālināti noformēt savam
uzņēmumam Galvenā lietotāja tiesības").

The CSV has a header row naming its columns (comma or semicolon separated, UTF-8 with or without
a byte-order mark): ``registration_number``, ``company_name``, ``personal_code``, ``role`` and
``signing_rights`` (``alone``, ``jointly`` or ``none``; the register's Latvian words are
understood too). Reading it is pure: bytes lines in, each record out either as a valid entry or
as the problems of its line. Nothing here prints a personal code: problems name the line and the
column, never the value.
"""
import csv
import re
from dataclasses import dataclass
from datetime import timedelta

from rules import COLLEAGUE, REGISTRANT
from rules.i18n import _l
from rules.identity import ETSI, normalise_personal_code, personal_code_from_claim
from rules.uploads import KB, MB, UploadPolicy

# --- Signing rights and what they allow ----------------------------------------------------

ALONE, JOINTLY, NONE = "alone", "jointly", "none"
SIGNING_RIGHTS = (ALONE, JOINTLY, NONE)
SIGNING_LABELS = {
    ALONE: _l("Signs alone"),
    JOINTLY: _l("Signs jointly with others"),
    NONE: _l("No signing rights"),
}
# What the register (and people preparing the file) write for each: compared lower-cased.
SIGNING_ALIASES = {
    ALONE: {"alone", "sole", "individually", "individual", "atsevišķi", "atsevisķi", "atseviski", "viens"},
    JOINTLY: {"jointly", "joint", "together", "kopā", "kopa", "kopīgi", "kopigi"},
    NONE: {"none", "no", "nav", "-"},
}
_SIGNING_WORDS = {word: right for right, words in SIGNING_ALIASES.items() for word in words}

# The outcomes of ``decide``: may they become main user by e-identity alone?
MAY, NEEDS_STAFF, NO, STALE, TAKEN = "may", "needs_staff", "no", "stale", "taken"
OUTCOMES = {
    MAY: _l("The company register shows you may sign for the company alone: you can become its main user now."),
    NEEDS_STAFF: _l("The company register shows you sign for the company jointly with others, so we need "
                    "to check the authorisation: upload an authorisation signed by those who sign with you, "
                    "and our staff will verify it."),
    NO: _l("The company register data we hold does not show you with signing rights for this company. If "
           "it should, upload a signed authorisation and our staff will verify it."),
    STALE: _l("The company register data we hold is out of date, so it cannot confirm your rights just now. "
              "Upload a signed authorisation and our staff will verify it, or try again later."),
    TAKEN: _l("This company already has an account in the cabinet under this registration number: become "
              "its main user from the list of companies the register shows you, on your dashboard."),
}
OUTCOME_LABELS = {
    MAY: _l("signs alone"),
    NEEDS_STAFF: _l("signs jointly: staff check an authorisation"),
    NO: _l("no signing rights shown"),
    STALE: _l("register data missing or out of date"),
    TAKEN: _l("another client has the registration number"),
}
# Register data older than this confirms nothing: representation changes, and the institution
# imports a fresh snapshot regularly (a day or a week apart).
MAX_AGE = timedelta(days=45)


def decide(signing_rights, imported_at, now, max_age=MAX_AGE):
    """May a person become the company's main user remotely, given the signing rights of every
    register row naming them for that company (the rows of one snapshot, imported at
    ``imported_at``; None when there is no snapshot)? ``MAY`` when any row lets them sign alone;
    ``NEEDS_STAFF`` when they sign only jointly (staff check the others' authorisation); ``NO``
    when they have no rows or rows without signing rights; ``STALE`` when the snapshot is too
    old (or missing) to say anything."""
    if imported_at is None or now - imported_at > max_age:
        return STALE
    rights = set(signing_rights)
    if ALONE in rights:
        return MAY
    if JOINTLY in rights:
        return NEEDS_STAFF
    return NO



def may_ask_for_main_user(role, legal):
    """Who may ask for main-user rights of a company (by e-identity or an authorisation): whoever
    acts for it without them — its registrant, or a colleague."""
    return legal and role in (REGISTRANT, COLLEAGUE)


# --- Staff finding a person to grant main-user rights after a visit (CMP-2) ------------------

PERSON_FOUND, PERSON_NOT_FOUND, PERSON_AMBIGUOUS = "found", "not_found", "ambiguous"
PERSON_MESSAGES = {
    PERSON_NOT_FOUND: _l("No client account has this e-mail address or personal code. The person registers "
                         "in the cabinet first (or signs in once with e-identity)."),
    PERSON_AMBIGUOUS: _l("More than one account stated this personal code: enter the person's e-mail address."),
}
MAX_VISIT_NOTE = 1000


# --- Asking staff instead: a signed authorisation ----------------------------------------

WAITING, GRANTED, REFUSED = "waiting", "granted", "refused"
REQUEST_STATUSES = (WAITING, GRANTED, REFUSED)
REQUEST_STATUS_LABELS = {
    WAITING: _l("Waiting for our staff to verify it"),
    GRANTED: _l("Granted"),
    REFUSED: _l("Refused"),
}
MAX_NOTE = 2000
# The authorisation: one signed document (a scan, a PDF, or an e-signed EDOC/ASiC-E container).
AUTHORISATION_POLICY = UploadPolicy(
    name="authorisation", extensions=frozenset({"pdf", "edoc", "asice", "jpg", "jpeg", "png", "tif", "tiff"}),
    min_file_size=1 * KB, max_file_size=20 * MB, max_files=1, max_total=20 * MB, one_document_per_file=True)


# --- Reading the CSV -------------------------------------------------------------------------

COLUMNS = ("registration_number", "company_name", "personal_code", "role", "signing_rights")
HEADER_ALIASES = {
    "registration_number": {"registration_number", "reg_nr", "regcode", "registration number", "reģistrācijas numurs",
                            "registracijas_numurs"},
    "company_name": {"company_name", "name", "company", "nosaukums", "company name"},
    "personal_code": {"personal_code", "personas_kods", "personas kods", "personal code"},
    "role": {"role", "position", "amats"},
    "signing_rights": {"signing_rights", "signing rights", "rights_of_representation", "paraksta_tiesibas",
                       "paraksta tiesības"},
}
_HEADER_WORDS = {alias: column for column, aliases in HEADER_ALIASES.items() for alias in aliases}

MAX_FILE_BYTES = 200 * 1024 * 1024  # the whole Latvian register's officers are a few tens of MB
MAX_LINE_BYTES = 4096  # one representative on one line; anything longer is no register row
MAX_ROWS = 2_000_000
MAX_NAME = 250
MAX_ROLE = 100
# A Latvian company's registration number: 11 digits (40003…, 50003…, 40103…).
_REGISTRATION_NUMBER = re.compile(r"^[0-9]{11}$")
# What a spreadsheet would run as a formula when the value is opened in one (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class Entry:
    """One valid register row: the personal code normalised (``rules.identity``), never stored so."""

    line: int
    registration_number: str
    company_name: str
    personal_code: str
    role: str
    signing_rights: str


@dataclass(frozen=True)
class Problem:
    """What is wrong with a line (``line`` 0: with the file as a whole)."""

    line: int
    message: str

    def __str__(self):
        return f"line {self.line}: {self.message}" if self.line else self.message


class FileRefused(Exception):
    """The file as a whole cannot be read as register data (nothing of it is imported)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def registration_number(value):
    """A Latvian company's registration number (11 digits, spaces ignored), or None."""
    if not isinstance(value, str):
        return None
    value = re.sub(r"\s", "", value)
    return value if _REGISTRATION_NUMBER.match(value) else None


def personal_code(value):
    """The normalised personal code of a register row (``010185-10001``, or the ETSI form
    ``PNOLV-010185-10001``), or None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if value.upper().startswith("PNO"):
        return personal_code_from_claim(value, ETSI)
    return normalise_personal_code(value, "LV")


def signing_rights(value):
    """``ALONE``, ``JOINTLY`` or ``NONE`` for the words of a row, or None."""
    return _SIGNING_WORDS.get((value or "").strip().lower()) if isinstance(value, str) else None


def looks_like_formula(value):
    """True for text a spreadsheet would take for a formula (``=cmd|' /C calc'!A0``)."""
    return value.startswith(FORMULA_STARTS)


def _text(value, column, limit, problems, line):
    """A name or role: trimmed, no control characters, no formula, within ``limit``."""
    value = value.strip()
    if not value:
        problems.append(Problem(line, f"{column} is empty"))
    elif len(value) > limit:
        problems.append(Problem(line, f"{column} is longer than {limit} characters"))
    elif _CONTROL.search(value):
        problems.append(Problem(line, f"{column} holds control characters"))
    elif looks_like_formula(value):
        problems.append(Problem(line, f"{column} starts with {value[0]!r}, which a spreadsheet would run as a formula"))
    return value


def _lines(raw_lines, problems):
    """Text lines of the file: the byte-order mark dropped, each line decoded as UTF-8 (a line
    that is not becomes a problem and an empty line), over-long lines refused. ``raw_lines``
    yields bytes lines (a binary file, ``readline`` with a limit so a line never outgrows it)."""
    for number, raw in enumerate(raw_lines, start=1):
        if number > MAX_ROWS + 1:
            raise FileRefused(f"the file has more than {MAX_ROWS} rows")
        if number == 1:
            if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise FileRefused("the file is UTF-16 text: save it as \"CSV UTF-8\"")
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
        if len(raw) > MAX_LINE_BYTES:
            problems.append(Problem(number, f"the line is longer than {MAX_LINE_BYTES} bytes"))
            yield ""
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            if number == 1:
                raise FileRefused("the file is not UTF-8 text: save it as \"CSV UTF-8\"") from None
            problems.append(Problem(number, "the line is not UTF-8 text (save the file as \"CSV UTF-8\")"))
            yield ""
            continue
        if "\x00" in text:
            if number == 1:
                raise FileRefused("the file is not text (it holds NUL bytes)")
            problems.append(Problem(number, "the line holds NUL bytes"))
            yield ""
            continue
        yield text


def _columns(header):
    """{column: index} of the header row; FileRefused when a column is missing or repeated."""
    found = {}
    for index, name in enumerate(header):
        column = _HEADER_WORDS.get(name.strip().lower())
        if column is None:
            continue
        if column in found:
            raise FileRefused(f"the header names the column {column} twice")
        found[column] = index
    missing = [c for c in COLUMNS if c not in found]
    if missing:
        raise FileRefused("the header row must name the columns " + ", ".join(COLUMNS)
                          + " (missing: " + ", ".join(missing) + ")")
    return found


def read(raw_lines):
    """Every record of the file after its header, in order: an ``Entry``, or a list of the
    ``Problem``s of its line. Raises ``FileRefused`` when the file as a whole cannot be read (not
    UTF-8, no header, too many rows). The same company must have the same name on every row."""
    problems = []  # filled by _lines for lines it could not decode
    lines = _lines(raw_lines, problems)
    first = next(lines, None)
    if first is None or not first.strip():
        raise FileRefused("the file is empty: the first line must be the header row")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    header = next(csv.reader([first], delimiter=delimiter))
    columns = _columns(header)
    width = max(columns.values()) + 1
    names = {}  # registration number → (company name, line first seen)
    # strict: an unbalanced quote is an error of its line, not a swallowed file
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            line = reader.line_num + 1
            yield [Problem(line, f"the line is not valid CSV ({error})")]
            continue
        line = reader.line_num + 1  # the header was read before the reader
        decoding = [p for p in problems if p.line <= line]
        problems[:] = [p for p in problems if p.line > line]
        if decoding:
            yield decoding
            continue
        if not any(cell.strip() for cell in cells):
            continue  # blank lines are allowed
        yield _entry(line, cells, columns, width, names)


def _entry(line, cells, columns, width, names):
    if len(cells) < width:
        return [Problem(line, f"the row has {len(cells)} columns, the header {width}")]
    value = {column: cells[index] for column, index in columns.items()}
    problems = []
    number = registration_number(value["registration_number"])
    if number is None:
        problems.append(Problem(line, "registration_number must be 11 digits (a Latvian company)"))
    code = personal_code(value["personal_code"])
    if code is None:
        problems.append(Problem(line, "personal_code is not a valid Latvian personal code"))
    rights = signing_rights(value["signing_rights"])
    if rights is None:
        problems.append(Problem(line, "signing_rights must be one of alone, jointly, none"))
    name = _text(value["company_name"], "company_name", MAX_NAME, problems, line)
    role = _text(value["role"], "role", MAX_ROLE, problems, line)
    if number is not None and not problems:
        known = names.setdefault(number, (name, line))
        if known[0] != name:
            problems.append(Problem(line, f"company {number} has another name on line {known[1]}"))
    if problems:
        return problems
    return Entry(line, number, name, code, role, rights)
