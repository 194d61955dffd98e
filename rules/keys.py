"""Keys derived from the one application secret, one per purpose.

Every key the portal uses (code hashes, sealed outbox parameters, the message
poll token, the signing-service webhook) comes from ``Keyring.key(purpose)``:
HKDF-SHA256 over ``SECRET_KEY`` with the purpose as ``info``, so no two
purposes share a key and none is the secret itself. Previous secrets
(``SECRET_KEY_PREVIOUS``) still open what they sealed (``MultiFernet``), so a
rotated secret never turns a waiting code into an empty e-mail.
"""
import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SealBroken(Exception):
    """A sealed value no current or previous key opens (tampered, or its key is gone)."""


def derive(secret, purpose, length=32):
    """The key for ``purpose`` derived from ``secret`` (HKDF-SHA256, no salt)."""
    if not secret:
        raise ValueError("an empty secret derives no keys")
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None,
                info=f"kabinets:{purpose}".encode()).derive(secret.encode())


def same(a, b):
    """Constant-time equality of two tokens as bytes; False for anything that is not text."""
    try:
        a = a.encode() if isinstance(a, str) else bytes(a)
        b = b.encode() if isinstance(b, str) else bytes(b)
    except (TypeError, ValueError, UnicodeEncodeError):
        return False
    return hmac.compare_digest(a, b)


class Keyring:
    """The keys of one secret (and the previous ones, for opening old sealed values)."""

    def __init__(self, secret, previous=()):
        self._secrets = [secret, *[s for s in previous if s and s != secret]]
        self._cache = {}

    def key(self, purpose):
        """The current key for ``purpose`` (32 bytes)."""
        if purpose not in self._cache:
            self._cache[purpose] = derive(self._secrets[0], purpose)
        return self._cache[purpose]

    def mac(self, purpose, message):
        """Hex HMAC-SHA256 of ``message`` under the purpose's current key."""
        data = message.encode() if isinstance(message, str) else message
        return hmac.new(self.key(purpose), data, hashlib.sha256).hexdigest()

    def macs(self, purpose, message):
        """``mac`` under the current key and then under each previous secret's: a value looked up
        by its MAC is still found after a rotation (and can be stored again under the current)."""
        data = message.encode() if isinstance(message, str) else message
        return [hmac.new(derive(s, purpose), data, hashlib.sha256).hexdigest() for s in self._secrets]

    def _fernet(self, purpose):
        return MultiFernet([Fernet(base64.urlsafe_b64encode(derive(s, purpose)))
                            for s in self._secrets])

    def seal(self, purpose, text):
        """Encrypt and authenticate ``text`` under the purpose's current key."""
        return self._fernet(purpose).encrypt(text.encode()).decode()

    def unseal(self, purpose, token):
        """Open a sealed value with the current or a previous key; SealBroken if none can."""
        try:
            return self._fernet(purpose).decrypt(token.encode()).decode()
        except (InvalidToken, ValueError, UnicodeError) as error:
            raise SealBroken(purpose) from error
