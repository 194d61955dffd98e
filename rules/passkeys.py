"""Passkeys (WebAuthn) as a second factor of a password sign-in and as a step-up (issue 12): the
relying party's id and origin, how long a challenge lives, what a passkey's name may be, and what
a signature counter may do. Pure: the ceremony itself is ``webauthn``'s, in blueprints/passkeys.py."""
from datetime import timedelta
from urllib.parse import urlsplit

# A ceremony (the browser asking the authenticator, the person touching it) must finish this soon
# after its options were handed out; each challenge is taken once (models.passkeys.PasskeyChallenge).
CHALLENGE_LIFETIME = timedelta(minutes=5)
CHALLENGE_BYTES = 32
TIMEOUT_MS = 120_000  # what the browser is told to wait for the person

NAME_MAX = 60
PASSKEYS_MAX = 10  # per person: enough for every device one owns

# What a challenge is for: one purpose's challenge never completes another's ceremony.
# SIGN_IN is the second step after a password; PASSKEY_SIGN_IN signs in with a passkey alone (a
# discoverable credential, the person not named beforehand, user verification required).
REGISTER, SIGN_IN, STEP_UP, PASSKEY_SIGN_IN = "register", "sign-in", "step-up", "passkey-sign-in"
PURPOSES = (REGISTER, SIGN_IN, STEP_UP, PASSKEY_SIGN_IN)

RP_NAME = "Kabinets"

TRANSPORTS = ("usb", "nfc", "ble", "internal", "hybrid", "smart-card", "cable")


def relying_party(base_url, rp_id=None, origin=None):
    """(RP id, origin) of the portal: set in the configuration, else the host and the origin of
    ``BASE_URL`` (the address people reach the portal at)."""
    parts = urlsplit(base_url or "")
    found_origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return (rp_id or parts.hostname or ""), (origin or found_origin)


def sign_count_moves_on(stored, reported):
    """Whether a passkey's signature counter is believable (WebAuthn §6.1.1): an authenticator that
    counts must count up; one reporting 0 with 0 stored does not count at all (most passkeys
    synced between devices). A counter at or below the stored one is a cloned authenticator."""
    if stored == 0 and reported == 0:
        return True
    return reported > stored


def clean_name(text):
    """A passkey's name as shown in the list: trimmed, inner runs of space made one."""
    return " ".join((text or "").split())[:NAME_MAX]


def clean_transports(values):
    """The transports a browser reported, limited to the known ones (they are hints, nothing more)."""
    if not isinstance(values, (list, tuple)):
        return []
    return [v for v in values if isinstance(v, str) and v in TRANSPORTS][:len(TRANSPORTS)]
