"""Powers of attorney (pilnvaras; issue 13, seed 003): a person uploads a signed power of attorney
for a company with the rights it grants; staff (supervisors and above) verify it, setting its
validity, and the access it grants ends by itself when it expires. No Flask here."""
from datetime import timedelta

from rules.i18n import _l

from rules.company import GRANTABLE_RIGHTS, rights_problems  # noqa: F401

WAITING, VERIFIED, REFUSED, EXPIRED = "waiting", "verified", "refused", "expired"
STATUSES = (WAITING, VERIFIED, REFUSED, EXPIRED)
STATUS_LABELS = {
    WAITING: _l("Waiting for our staff to verify it"),
    VERIFIED: _l("Verified"),
    REFUSED: _l("Refused"),
    EXPIRED: _l("Expired"),
}
NOTICE_BEFORE = timedelta(days=14)  # the person and the company's main users are told once
MAX_NOTE = 2000
MAX_YEARS = 10  # a validity longer than this is a typing mistake
# Verifying for a person whose membership a main user revoked needs staff to say so (issue 13).
REVOKED_MESSAGE = _l("A main user revoked this person's access to the company. Tick the box if the power of "
                     "attorney stands anyway, or refuse it.")

# What the staff document page says of a submitter's authority to sign (seed 003).
REGISTER, ATTORNEY, NEITHER = "register", "power_of_attorney", "neither"
AUTHORITY_LABELS = {
    REGISTER: _l("Has representation rights in the company register"),
    ATTORNEY: _l("Has a valid power of attorney"),
    NEITHER: _l("Neither representation rights in the register nor a valid power of attorney"),
}


def validity_problem(valid_from, valid_until):
    """Why the dates staff set are wrong, or None."""
    if valid_from is None or valid_until is None:
        return _l("Enter both dates.")
    if valid_until < valid_from:
        return _l("The power of attorney must end after it starts.")
    if (valid_until - valid_from).days > MAX_YEARS * 366:
        return _l("A power of attorney for more than ten years: check the dates.")
    return None


def authority(register_may, attorney_valid):
    """The submitter's authority as the staff document page shows it."""
    if register_may:
        return REGISTER
    return ATTORNEY if attorney_valid else NEITHER
