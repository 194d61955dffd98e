"""The plain data and pure functions of the domain.

Roles and their rights, password and code policy, identifier parsing, the
legal documents a registrant accepts. No database access and no request here,
so all of it is tested without a web request (``tests/test_rules.py``).
"""
import re
import secrets
from datetime import date, timedelta
from functools import lru_cache

import phonenumbers
from babel import Locale
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from rules.i18n import _l

LANGUAGES = {"lv": "Latviešu", "en": "English"}  # Latvian first, English second

# --- Who acts ------------------------------------------------------------------------
# The author of a message, the actor of a document's history entry: one set of names.

CLIENT, STAFF, SERVICE, SYSTEM = "client", "staff", "service", "system"

# The largest id a URL or a form may name (PostgreSQL's integer): anything larger is "not found".
MAX_ID = 2**31 - 1
MAX_PAGE = 100_000
# Rows on one page of a list, messages on one page of a thread (models.paging), and rows of
# each list of a staff queue (two lists on one screen). A page then costs about what the same
# page costs with 10 rows (benchmarks/lists.py): rendering a row is most of a page's time.
LIST_PAGE_SIZE = 20
THREAD_PAGE_SIZE = 20
QUEUE_PAGE_SIZE = 10
# The header's unread count looks at this many of the client's most recently active threads.
UNREAD_RECENT_THREADS = 100


def bounded_int(value, default=None, low=0, high=MAX_ID):
    """``value`` (text from a URL or form) as an int within low…high; ``default`` when it is
    not a whole number or out of range (never an overflow further down)."""
    try:
        number = int(str(value).strip(), 10)
    except (TypeError, ValueError):
        return default
    return number if low <= number <= high else default

# How often an open page asks the server for news (seconds): a thread, the documents list.
THREAD_POLL_SECONDS = 3
LIST_POLL_SECONDS = 5

# --- Clients, memberships, staff ------------------------------------------------

NATURAL = "natural"
LEGAL = "legal"

SELF, MAIN, REGISTRANT, COLLEAGUE = "self", "main", "registrant", "colleague"
ROLES = (SELF, MAIN, REGISTRANT, COLLEAGUE)
ROLE_LABELS = {
    SELF: _l("Private account"),
    MAIN: _l("Main user"),
    REGISTRANT: _l("Registrant (main-user rights not yet confirmed)"),
    COLLEAGUE: _l("Colleague"),
}
PERMISSIONS = ("documents", "submit", "messages", "finance", "services", "manage_users")
PERMISSION_LABELS = {
    "documents": _l("See documents"),
    "submit": _l("Submit documents"),
    "messages": _l("Messages"),
    "finance": _l("Finance"),
    "services": _l("Services"),
    "manage_users": _l("Manage users"),
}
_ALL = {p: True for p in PERMISSIONS}
ROLE_DEFAULT_RIGHTS = {
    # A natural person acts for themself without limits.
    SELF: {**_ALL, "manage_users": False, "own_items_only": False},
    # The main user (signing rights confirmed by staff or the register) runs the company.
    MAIN: {**_ALL, "own_items_only": False},
    # Whoever registered a company may start its application but not hand out access
    # until main-user rights are confirmed (CMP-4).
    REGISTRANT: {**_ALL, "manage_users": False, "own_items_only": False},
    # Colleagues get what the main user ticks; by default only their own items.
    COLLEAGUE: {"documents": True, "submit": True, "messages": True, "finance": False,
                "services": False, "manage_users": False, "own_items_only": True},
}

STAFF_ROLES = ("consultant", "supervisor", "admin")
STAFF_ROLE_LABELS = {
    "consultant": _l("Consultant"),
    "supervisor": _l("Supervisor"),
    "admin": _l("Administrator"),
}


def staff_role_at_least(role, required):
    """Staff roles are ordered: an administrator may do what a consultant may."""
    if role not in STAFF_ROLES:
        return False
    return STAFF_ROLES.index(role) >= STAFF_ROLES.index(required)


# --- Legal documents accepted at registration -----------------------------------

# The version is the date the text took effect; a registrant's consent records it.
LEGAL_DOCUMENTS = {
    "privacy": {"version": "2026-11-01", "effective": date(2026, 11, 1), "title": _l("Privacy notice")},
    "terms": {"version": "2026-11-01", "effective": date(2026, 11, 1),
              "title": _l("General terms of business")},
}

# --- Passwords --------------------------------------------------------------------

PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128  # ASVS: accept at least 64; never truncate
PASSWORD_HISTORY_LENGTH = 5
TEMPORARY_PASSWORD_LIFETIME = timedelta(hours=1)


@lru_cache(maxsize=1)
def common_passwords():
    """The 30 000 most common passwords (zxcvbn's list), lower-cased."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS
    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common_password(password):
    """Common as typed, or a common word dressed up with case, digits and symbols."""
    lowered = password.lower()
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", lowered)
    return lowered in common_passwords() or (len(core) >= 4 and core in common_passwords())


def password_problems(password):
    """Every rule the password breaks, as translatable messages (empty if fine)."""
    problems = []
    if len(password) < PASSWORD_MIN_LENGTH:
        problems.append(_l("Use at least %(n)d characters.", n=PASSWORD_MIN_LENGTH))
    if len(password) > PASSWORD_MAX_LENGTH:
        problems.append(_l("Use at most %(n)d characters.", n=PASSWORD_MAX_LENGTH))
    if not re.search(r"\d", password):
        problems.append(_l("Add a digit."))
    if not re.search(r"[a-zāčēģīķļņšūž]", password) and not any(c.islower() for c in password):
        problems.append(_l("Add a lower-case letter."))
    if not any(c.isupper() for c in password):
        problems.append(_l("Add an upper-case letter."))
    if not re.search(r"[^\w\s]|_", password):
        problems.append(_l("Add a symbol, for example ! ? # or %."))
    if not problems and is_common_password(password):
        problems.append(_l("This password is too common; choose one that is harder to guess."))
    return problems


# A temporary password is read off a phone's screen and typed, often on another phone: no
# look-alikes (0/O/o, 1/l/I), nothing a keyboard or an SMS mangles (no +, no quotes), and a
# layout that reads at a glance: capitals, small letters and digits in groups of four, the
# hyphens being the symbol the rule asks for ("KPRT-mdbz-4729", about 2^48 possibilities:
# enough for one hour behind the sign-in throttling).
TEMPORARY_PASSWORD_GROUPS = ("ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnpqrstuvwxyz", "23456789")


def temporary_password(choice=secrets.choice):
    """A new temporary password in the layout above; it satisfies ``password_problems``."""
    for _attempt in range(100):
        candidate = "-".join("".join(choice(alphabet) for _ in range(4)) for alphabet in TEMPORARY_PASSWORD_GROUPS)
        if not password_problems(candidate):
            return candidate
    raise RuntimeError("the temporary password layout no longer satisfies the password rule")


# --- Identifiers: e-mail and phone -------------------------------------------------

def normalise_email(value, test_domains=False):
    """Syntax-checked, normalised e-mail, or None. No DNS look-up (works offline).

    Addresses under the special-use domains (``.test``, ``.invalid``, ``.local`` …) can receive
    no e-mail and are refused; ``test_domains`` accepts ``.test`` (RFC 2606), which the demo
    accounts use: development passes it, production never does."""
    try:
        result = validate_email((value or "").strip(), check_deliverability=False,
                                test_environment=test_domains)
    except EmailNotValidError:
        return None
    return result.normalized.lower()


def reserved_email_domain(value):
    """The domain of an address refused only for being a special-use one (``kabinets.test``),
    so a form can say that instead of blaming the format; None for any other address."""
    local, _at, domain = (value or "").strip().rpartition("@")
    domain = domain.lower()
    if not any(domain == d or domain.endswith("." + d) for d in SPECIAL_USE_DOMAIN_NAMES):
        return None
    return domain if normalise_email(f"{local}@example.lv") else None


def normalise_phone(value, region=None):
    """A valid phone number as E.164 (+37120000000), or None."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_identifier(value, test_domains=False):
    """Sign-in and recovery take an e-mail or a phone in +xxx12345678 form (``test_domains``:
    as for ``normalise_email``)."""
    value = (value or "").strip()
    if "@" in value:
        email = normalise_email(value, test_domains)
        return ("email", email) if email else (None, None)
    if value.startswith("+") or value.startswith("00"):
        phone = normalise_phone("+" + value[2:] if value.startswith("00") else value)
        return ("phone", phone) if phone else (None, None)
    return (None, None)


def mask(channel, target):
    """Show where a code went without showing it all (j***@example.lv, +371 ****0000)."""
    if channel == "email" and "@" in target:
        name, domain = target.split("@", 1)
        return f"{name[:1]}***@{domain}"
    return f"{target[:4]} ****{target[-4:]}" if len(target) > 8 else "****"


@lru_cache(maxsize=4)
def countries(locale="lv"):
    """(ISO code, localised name) for every country, sorted by name."""
    names = Locale.parse(locale).territories
    codes = {r for r in phonenumbers.SUPPORTED_REGIONS if r in names}
    return sorted(((c, names[c]) for c in codes), key=lambda x: x[1])


@lru_cache(maxsize=4)
def phone_regions(locale="lv"):
    """(ISO code, "Name (+code)") for the phone country-code select, Latvia first."""
    items = [(c, f"{n} (+{phonenumbers.country_code_for_region(c)})")
             for c, n in countries(locale)]
    items.sort(key=lambda x: x[0] != "LV")
    return items


# --- Confirmation codes ---------------------------------------------------------------

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
CODE_MAX_ATTEMPTS = 5
CODE_RESEND_COOLDOWN = timedelta(seconds=60)
CODE_OK, CODE_WRONG, CODE_DEAD = "ok", "wrong", "dead"
REGISTRATION_LIFETIME = timedelta(hours=24)
RESET_LIFETIME = timedelta(minutes=30)

# --- Changing the e-mail or phone (ACC-14) ---------------------------------------------
# The user's contact details that sign in and receive codes; each is changed only after a
# code sent to the new value comes back (``models.ContactChange``).
CONTACT_FIELDS = ("email", "phone")
CONTACT_CHANNELS = {"email": "email", "phone": "sms"}  # where a code for the field goes
CONTACT_CHANGE_LIFETIME = timedelta(minutes=30)

# --- Sessions ---------------------------------------------------------------------------

SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=12)
