"""Password hashing (argon2id). The hasher is one object so tests can use a cheap one."""
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

password_hasher = PasswordHasher()


def set_password_hasher(hasher):
    """Use another ``argon2.PasswordHasher`` (tests: a cheap profile). Returns the old one."""
    global password_hasher, DUMMY_PASSWORD_HASH
    old, password_hasher = password_hasher, hasher
    DUMMY_PASSWORD_HASH = hasher.hash(secrets.token_urlsafe(16))
    return old


def hash_password(password):
    return password_hasher.hash(password)


def password_matches(password_hash, password):
    """True when password matches the stored argon2 hash (never raises)."""
    if not password_hash:
        return False
    try:
        return password_hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash):
    """True when a (verified) hash was made with other argon2 parameters than today's, so it
    is hashed again at the next successful sign-in."""
    return password_hasher.check_needs_rehash(password_hash)


def dummy_check(password):
    """Spend what a real check costs when there is no account, so "no such user"
    takes as long as "wrong password"."""
    password_matches(DUMMY_PASSWORD_HASH, password)
    return False


# A real hash to verify against when an account does not exist.
DUMMY_PASSWORD_HASH = hash_password(secrets.token_urlsafe(16))
