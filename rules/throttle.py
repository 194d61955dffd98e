"""How often sign-in, password recovery, registration codes, password changes and changes of
the e-mail or phone may be tried (ACC-7, ACC-10, ACC-12, ACC-13, ACC-18), and the known-device
token that keeps an account's owner in.

Three kinds of budget, each a counter per key and fixed window:

- **per source** (the client address; behind ``TRUSTED_PROXIES`` the real one): refuses the
  source when spent (429 with the time to wait);
- **per account**, for sign-in from browsers the account does not know: refuses those
  browsers. A *known device* — a browser that signed in to the account before and carries its
  device token — has a budget of its own instead, so someone guessing at an account cannot
  lock its owner out (OWASP's "device cookies"). A known device also gets past a spent
  per-source budget, within its own budget (an office behind one address);
- **per target**, for messages (recovery and registration codes): caps what reaches one
  e-mail or phone. Recovery answers the same whatever the cap says and the owner can finish
  with a code already sent (see ``another_message_due``), so a stranger can neither spam the
  owner nor block their recovery, nor learn whether an account exists.

Every budget is charged *before* the work it guards (an argon2 check, a message), with one
atomic increment, so N requests at once never get more than the budget past it; a successful
sign-in or password change is given back. The first refusal of a window is what the audit
log records, once per key and window.

Pure data and functions: the views charge the budgets (``blueprints.throttling``).
"""
import secrets
from dataclasses import dataclass
from datetime import timedelta

from rules.keys import same


@dataclass(frozen=True)
class Budget:
    """``amount`` attempts per ``window`` for each key; ``name`` is part of the counter's key
    and of the audit row."""

    name: str
    amount: int
    window: timedelta

    @property
    def seconds(self):
        return int(self.window.total_seconds())


MINUTES_15, HOUR = timedelta(minutes=15), timedelta(hours=1)

# Sign-in: failures (successes are given back) per 15 minutes.
SIGN_IN_PER_SOURCE = Budget("sign-in/source", 30, MINUTES_15)
SIGN_IN_PER_ACCOUNT = Budget("sign-in/account", 5, MINUTES_15)  # from unknown browsers
SIGN_IN_PER_DEVICE = Budget("sign-in/device", 5, MINUTES_15)  # each known device on its own

# Password recovery: requests per hour.
RECOVERY_PER_SOURCE = Budget("recovery/source", 20, HOUR)
RECOVERY_MESSAGES_PER_TARGET = Budget("recovery/target", 5, HOUR)  # silent: no message beyond it
RECOVERY_PER_DEVICE = Budget("recovery/device", 5, HOUR)  # a known device, past the target's cap

# Registration: code requests (the contact step) per hour; resends count per target too.
REGISTRATION_PER_SOURCE = Budget("registration/source", 20, HOUR)
REGISTRATION_MESSAGES_PER_TARGET = Budget("registration/target", 5, HOUR)

# Password change of a signed-in user: failures per 15 minutes (a success is given back).
# The second step of a password sign-in (a TOTP or recovery code, issue 12): the password is
# right already, so the account's budget is small; a known device has its own, so a guesser
# who has the password cannot lock the owner out.
SECOND_STEP_PER_ACCOUNT = Budget("second-step/account", 5, MINUTES_15)  # from unknown browsers
SECOND_STEP_PER_DEVICE = Budget("second-step/device", 5, MINUTES_15)  # each known device on its own

PASSWORD_CHANGE_PER_ACCOUNT = Budget("password-change/account", 10, MINUTES_15)

# Changing the e-mail or phone: the password check is throttled as sign-in's is (failures per
# 15 minutes; a right password is given back), so a session in someone else's hands cannot
# guess at the password there either, and the owner's known browser keeps a budget of its
# own. Codes to one new address or number are capped as registration's are.
CONTACT_CHANGE_PER_SOURCE = Budget("contact-change/source", 30, MINUTES_15)
CONTACT_CHANGE_PER_ACCOUNT = Budget("contact-change/account", 5, MINUTES_15)  # from unknown browsers
CONTACT_CHANGE_PER_DEVICE = Budget("contact-change/device", 5, MINUTES_15)  # each known device on its own
CONTACT_CHANGE_MESSAGES_PER_TARGET = Budget("contact-change/target", 5, HOUR)

# Invitations to a company (issue 13): new ones and re-sends per company, and messages to one
# e-mail or phone, so a main user's account in someone else's hands cannot send a flood.
INVITATIONS_PER_COMPANY = Budget("invitations/company", 30, timedelta(days=1))
INVITATION_MESSAGES_PER_TARGET = Budget("invitations/target", 5, timedelta(days=1))
# An invitation's code typed at an employee's first e-identity sign-in: wrong codes per 15 minutes
# from one address (a right one is given back). The codes are 256 random bits, so this keeps the
# audit log and the database quiet rather than stopping a guess.
INVITATION_CODE_PER_SOURCE = Budget("invitation-code/source", 10, MINUTES_15)


def minutes_until(reset_at, now):
    """Whole minutes from ``now`` until ``reset_at`` (epoch seconds), at least 1."""
    return max(1, int((reset_at - now + 59) // 60))


def another_message_due(newest_code_at, now, lifetime):
    """Past a target's message cap, one more code goes out only when the target has none
    younger than a code's lifetime. So at any moment the owner either holds a live code (which
    any recovery of theirs accepts, however it started) or can get one; and a target still
    gets at most one extra message per lifetime, each code with its few tries."""
    return newest_code_at is None or newest_code_at + lifetime <= now


# --- Known devices ---------------------------------------------------------------------------
# A browser's device cookie holds a token per account that signed in there (newest first):
# "v1.<user id>.<issued, epoch s>.<nonce>.<mac>". The MAC covers the user's password hash, so
# a password change (or a recovery) makes every earlier token worthless; signing out does not,
# since the token only lets its browser past the per-account budget — it signs nobody in.

KNOWN_DEVICE_LIFETIME = timedelta(days=180)
KNOWN_DEVICES_PER_BROWSER = 3  # accounts remembered on one browser (a shared computer)
_DEVICE_PURPOSE = "known-device"


def _device_mac(keys, user_id, issued, nonce, password_hash):
    return keys.mac(_DEVICE_PURPOSE, f"v1.{user_id}.{issued}.{nonce}|{password_hash}")


def device_token(keys, user_id, password_hash, issued, nonce=None):
    """A new token for ``user_id`` bound to the current password hash."""
    nonce = nonce or secrets.token_urlsafe(16)
    return f"v1.{user_id}.{int(issued)}.{nonce}.{_device_mac(keys, user_id, int(issued), nonce, password_hash)}"


def _parts(token):
    """(user id, issued, nonce, mac) of a well-formed token, else None."""
    pieces = token.split(".")
    if len(pieces) != 5 or pieces[0] != "v1" or not pieces[1].isdigit() or not pieces[2].isdigit():
        return None
    return int(pieces[1]), int(pieces[2]), pieces[3], pieces[4]


def device_tokens(cookie_value):
    """The well-formed tokens of a device cookie, newest first (at most a few)."""
    tokens = [t for t in (cookie_value or "")[:2000].split("~") if _parts(t)]
    return tokens[:KNOWN_DEVICES_PER_BROWSER]


def known_device(keys, cookie_value, user_id, password_hash, now):
    """The device id (the token's nonce) when the cookie holds a live token for this user and
    this password, else None."""
    for token in device_tokens(cookie_value):
        owner, issued, nonce, mac = _parts(token)
        if owner != user_id or not (now - KNOWN_DEVICE_LIFETIME.total_seconds() <= issued <= now + 60):
            continue
        if same(mac, _device_mac(keys, owner, issued, nonce, password_hash)):
            return nonce
    return None


def remember_device(cookie_value, token):
    """The cookie value with ``token`` first, replacing the same user's older tokens."""
    owner = _parts(token)[0]
    others = [t for t in device_tokens(cookie_value) if _parts(t)[0] != owner]
    return "~".join([token, *others][:KNOWN_DEVICES_PER_BROWSER])
