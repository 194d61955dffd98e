"""The second factor of a password sign-in (issue 12): a TOTP code (RFC 6238: 30-second steps,
6 digits, from an authenticator app) or one of ten single-use recovery codes. E-identity is a
strong sign-in by itself and needs none."""
import re
import secrets
from datetime import timedelta

STEP_SECONDS = 30
DIGITS = 6
# A code of the step before or after is taken too (a phone's clock a little off); a code is
# taken once only: a step at or before the last one used is refused.
STEPS_AROUND = 1
ISSUER = "Kabinets"

RECOVERY_CODES = 10
# Recovery codes: 10 characters from an alphabet without look-alikes (0/O, 1/l/I), shown as
# "xxxxx-xxxxx": about 50 bits each, stored as a keyed hash.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 10

# Between the right password and the code: the person has this long to enter it.
SECOND_STEP_WINDOW = timedelta(minutes=5)

TOTP, RECOVERY, PASSKEY = "totp", "recovery", "passkey"
KINDS = (TOTP, RECOVERY, PASSKEY)  # what may prove the second step (a passkey: rules/passkeys.py)


def may_act_for(requires_eid, requires_second_factor, signed_in_with_eid, second_factor_used):
    """Whether a session may act for a client with these requirements: e-identity is strong by
    itself; a password is strong with a second factor."""
    if requires_eid and not signed_in_with_eid:
        return False
    if requires_second_factor and not (signed_in_with_eid or second_factor_used):
        return False
    return True


def new_recovery_code():
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def read_code(text):
    """What a typed code is: (TOTP, "123456"), (RECOVERY, "abcdefghjk") or (None, "") for
    anything else. Spaces and dashes people type or paste are left out; case is ignored."""
    cleaned = re.sub(r"[\s\-]", "", (text or "")[:64]).lower()
    if re.fullmatch(rf"[0-9]{{{DIGITS}}}", cleaned):
        return TOTP, cleaned
    if len(cleaned) == _RECOVERY_LENGTH and all(c in _RECOVERY_ALPHABET for c in cleaned):
        return RECOVERY, cleaned
    return None, ""


def step_of(timestamp):
    """The TOTP time step a moment (epoch seconds) falls in."""
    return int(timestamp) // STEP_SECONDS


def grouped_secret(secret):
    """The secret as people type it into an app by hand: groups of four."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
