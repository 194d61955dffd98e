"""A software authenticator for the tests (issue 12): it makes real WebAuthn answers — an EC P-256
key, authenticator data, client data JSON, a "none" attestation in CBOR, ECDSA signatures — so the
server's verification (``webauthn``) runs on them as it would on a phone's or a security key's."""
import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40


def b64url(data):
    import base64
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    import base64
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftAuthenticator:
    """One credential on one authenticator. ``sign_count`` counts up with each assertion (set it
    to play a clone); ``origin`` and ``rp_id`` are what the browser would report."""

    def __init__(self, origin="http://portal.test", rp_id="portal.test", sign_count=0, counting=True):
        self.origin, self.rp_id = origin, rp_id
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.sign_count = sign_count
        self.counting = counting
        self.user_handle = b""

    def _cose_key(self):
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})

    def _auth_data(self, flags, attested=b"", rp_id=None):
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        return rp_hash + bytes([flags]) + struct.pack(">I", self.sign_count) + attested

    @staticmethod
    def _client_data(kind, challenge, origin):
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin,
                           "crossOrigin": False}).encode()

    def create(self, options, origin=None, challenge=None, rp_id=None):
        """The answer to ``navigator.credentials.create(options)`` (options as the server's JSON)."""
        self.user_handle = unb64url(options["user"]["id"])
        client_data = self._client_data("webauthn.create", challenge or options["challenge"], origin or self.origin)
        attested = (bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id
                    + self._cose_key())
        auth_data = self._auth_data(UP | UV | AT, attested, rp_id)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {"id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
                "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation),
                             "transports": ["internal", "hybrid"]},
                "authenticatorAttachment": "platform", "clientExtensionResults": {}}

    def get(self, options, origin=None, challenge=None, rp_id=None, tamper=False, verified=True, user_handle=None):
        """The answer to ``navigator.credentials.get(options)``; the counter moves on first."""
        if self.counting:
            self.sign_count += 1
        client_data = self._client_data("webauthn.get", challenge or options["challenge"], origin or self.origin)
        auth_data = self._auth_data(UP | (UV if verified else 0), rp_id=rp_id)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        if tamper:
            signature = signature[:-1] + bytes([signature[-1] ^ 1])
        return {"id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
                "response": {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                             "signature": b64url(signature),
                             "userHandle": b64url(self.user_handle if user_handle is None else user_handle)},
                "authenticatorAttachment": "platform", "clientExtensionResults": {}}
