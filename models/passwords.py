"""Password hashing (argon2id). The hasher is one object so tests can use a cheap one.

Every hash and every check takes argon2's 64 MiB for its moment, and a process serving four
threads took four times that during a burst of sign-ins. So at most ``checks_at_once`` (1 unless
the portal sets PASSWORD_CHECKS_AT_ONCE) run at a time in a process; the others wait their turn.
argon2 keeps the processor busy (its four lanes run in threads of their own), so a sign-in that
waits finishes no later than it would have beside the others, and a process's memory stays
bounded however many sign in at once.
"""
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

password_hasher = PasswordHasher()
_at_once = threading.BoundedSemaphore(1)
_dummy_hash = None  # made at the first check for an unknown account: argon2 at import cost every process 64 MiB


def set_password_hasher(hasher):
    """Use another ``argon2.PasswordHasher`` (tests: a cheap profile). Returns the old one."""
    global password_hasher, _dummy_hash
    old, password_hasher = password_hasher, hasher
    _dummy_hash = None
    return old


def set_checks_at_once(n):
    """How many argon2 hashes and checks may run at a time in this process (at least 1)."""
    global _at_once
    _at_once = threading.BoundedSemaphore(max(1, int(n)))


def hash_password(password):
    with _at_once:
        return password_hasher.hash(password)


def password_matches(password_hash, password):
    """True when password matches the stored argon2 hash (never raises)."""
    if not password_hash:
        return False
    try:
        with _at_once:
            return password_hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash):
    """True when a (verified) hash was made with other argon2 parameters than today's, so it
    is hashed again at the next successful sign-in."""
    return password_hasher.check_needs_rehash(password_hash)


def dummy_hash():
    """A real hash (of a random password) to check against when an account does not exist."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(secrets.token_urlsafe(16))
    return _dummy_hash


def dummy_check(password):
    """Spend what a real check costs when there is no account, so "no such user"
    takes as long as "wrong password"."""
    password_matches(dummy_hash(), password)
    return False
