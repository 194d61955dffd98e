"""Trusted e-identity (OpenID Connect) in plain data: the personal code as a broker sends it,
normalised to one form, the failures of a sign-in and how long a pending one waits.

A broker names the person by a personal code, in one of two shapes a provider's configuration
chooses (``personal_code_format``):

- ``etsi``: the ETSI EN 319 412-1 semantics identifier the certificate carries in its
  ``serialNumber`` (``PNOLV-010101-12345``: "PNO" = national personal number, the country, the
  code), which Latvija.lv-style brokers pass on as ``serial_number``;
- ``plain``: the code alone (``010101-12345``), of the country the provider's configuration names.

Either way the portal keeps ``LV:01010112345`` (country, colon, the code without separators): the
same person always reads the same, whichever bank or card they came through.
"""
import re
from datetime import timedelta

from rules.i18n import _l

ETSI, PLAIN = "etsi", "plain"
FORMATS = (ETSI, PLAIN)

_ETSI = re.compile(r"^PNO(?P<country>[A-Z]{2})-(?P<code>[0-9A-Z][0-9A-Z-]{3,30})$")
_SEPARATORS = re.compile(r"[\s-]")
_CODE = re.compile(r"^[0-9A-Z]{4,30}$")
# A Latvian personal code is 11 digits (DDMMYY-NNNNN, or 32…-… for codes issued since 2017).
_LATVIAN = re.compile(r"^[0-9]{11}$")


def normalise_personal_code(value, country):
    """``COUNTRY:CODE`` for a code of ``country`` (two letters), or None when it is no code."""
    if not isinstance(value, str) or not isinstance(country, str) or not re.fullmatch(r"[A-Za-z]{2}", country):
        return None
    country = country.upper()
    code = _SEPARATORS.sub("", value.strip().upper())
    if not _CODE.match(code) or (country == "LV" and not _LATVIAN.match(code)):
        return None
    return f"{country}:{code}"


def personal_code_from_claim(value, form, country="LV"):
    """The normalised personal code in a claim's ``value`` sent in ``form`` (``etsi`` or
    ``plain``; ``country`` is the plain form's country), or None when the claim does not hold
    one (missing, another kind of identifier such as ``IDCLV-…`` or ``PASLV-…``, malformed)."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    if form == ETSI:
        found = _ETSI.match(value.strip().upper())
        return normalise_personal_code(found["code"], found["country"]) if found else None
    if form == PLAIN:
        return normalise_personal_code(value, country)
    return None


def masked_personal_code(normalised):
    """What a page may show of a code: its country and last two characters (``LV •••••••••45``)."""
    country, _, code = (normalised or "").partition(":")
    if len(code) < 4:
        return ""
    return f"{country} {'•' * (len(code) - 2)}{code[-2:]}"


def methods(amr):
    """The ``amr`` claim as a list of short strings (a broker may send one string)."""
    if isinstance(amr, str):
        amr = [amr]
    if not isinstance(amr, (list, tuple)):
        return []
    return [str(m)[:40] for m in amr if isinstance(m, (str, int))][:10]


# Changing how one signs in or is reached (e-mail, phone, linking e-identity) needs a sign-in
# (or a confirmation) this recent: step-up (blueprints/stepup.py).
STEP_UP_WINDOW = timedelta(minutes=5)
# A sign-in that stopped to ask the person something (link to an account) waits this long.
PENDING_LIFETIME = timedelta(minutes=10)
# ID tokens may be this many seconds off our clock (exp, iat): brokers' clocks drift a little.
CLOCK_LEEWAY_SECONDS = 30

# Why a trusted sign-in failed: the audit row's ``reason`` and the page's words.
(CANCELLED, PROVIDER_ERROR, STATE, CODE_REFUSED, TOKEN_INVALID, NO_PERSONAL_CODE, UNAVAILABLE, EXPIRED,
 ACCOUNT_CLOSED, OTHER_PERSON, NOT_FRESH) = (
    "cancelled", "provider_error", "state", "code_refused", "token_invalid", "no_personal_code", "unavailable",
    "expired", "account_closed", "other_person", "not_fresh")
ACR_TOO_LOW = "acr_too_low"


def acr_sufficient(acr, minimum, order=()):
    """Whether an ID token's ``acr`` meets a provider's minimum (issue 12): with an ``order`` (the
    provider's levels, weakest first) any level at or above the minimum; without one, the minimum
    exactly (or, given as a list, any of it). No minimum: any acr, none too."""
    if not minimum:
        return True
    if order:
        levels = list(order)
        return acr in levels and minimum in levels and levels.index(acr) >= levels.index(minimum)
    allowed = [minimum] if isinstance(minimum, str) else list(minimum)
    return acr in allowed

FAILURES = {
    CANCELLED: _l("The sign-in was cancelled at the identity provider. Nothing has changed; you can "
                  "try again or sign in another way."),
    PROVIDER_ERROR: _l("The identity provider could not sign you in. Try again, or choose another way "
                       "to sign in."),
    STATE: _l("This sign-in answer does not belong to this browser, or was already used. Start the "
              "sign-in again from this page."),
    CODE_REFUSED: _l("The identity provider refused to confirm the sign-in (it may have taken too long, "
                     "or the answer was used already). Start the sign-in again."),
    TOKEN_INVALID: _l("The identity provider's answer could not be verified, so you have not been "
                      "signed in. Start the sign-in again."),
    NO_PERSONAL_CODE: _l("The identity provider did not tell us your personal code, which we need to "
                         "know who you are. Choose another way to sign in."),
    UNAVAILABLE: _l("The identity provider cannot be reached right now. Try again in a few minutes, or "
                    "sign in with your password."),
    EXPIRED: _l("The sign-in took too long. Start it again."),
    ACCOUNT_CLOSED: _l("The account linked to your e-identity is closed. Contact us if you need it again."),
    OTHER_PERSON: _l("This e-identity is not the one linked to the account you are signed in to (or the "
                     "account is linked to another e-identity). Nothing has changed."),
    NOT_FRESH: _l("To link e-identity to your account, first confirm your password, then try again."),
    ACR_TOO_LOW: _l("The way you confirmed your identity at the identity provider is not strong enough "
                    "for this portal. Start again and choose a stronger method, e.g. an eID card, "
                    "eParaksts Mobile or Smart-ID."),
}
