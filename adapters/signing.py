"""The signing service (DOC-10; e.g. Dokobit), reached through an adapter.

An adapter has a ``name`` (stored on each invitation) and ``invitation_url(invitation)``,
the address the signer opens. ``DevSigningService`` records the invitation and lets a
development page of this portal play the service, which answers through the same
HMAC-signed callback a real one would; it is refused in production. ``NoSigningService``
(``SIGNING_BACKEND=none``) is production without a service: clients upload the package
signed elsewhere, and nobody is offered an invitation.

The callback codec (``sign_callback``, ``verify_callback``, ``signed_callback``) is the
service's side of the webhook: HMAC-SHA256 over ``timestamp.body`` with a shared secret.
"""
import hashlib
import hmac
import json
import time

from rules.keys import same

SIGNATURE_HEADER = "X-Signing-Signature"
TIMESTAMP_HEADER = "X-Signing-Timestamp"


def sign_callback(body, timestamp, secret):
    """The HMAC-SHA256 a callback carries over ``timestamp.body``."""
    return hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_callback(body, timestamp, signature, max_age_seconds, secret, now=None):
    """The parsed payload of an authentic, fresh callback; None otherwise (never raises)."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return None
    if abs((now or time.time()) - sent) > max_age_seconds:
        return None
    if not same(sign_callback(body, sent, secret), signature or ""):
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def signed_callback(payload, secret, now=None):
    """(body, headers) of a callback as the service sends it (the dev page and tests use it)."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    timestamp = int(now or time.time())
    return body, {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign_callback(body, timestamp, secret),
                  "Content-Type": "application/json"}


class DevSigningService:
    """Development backend: nothing leaves the machine. The invitation is a row; the
    "service" is a page of this portal that completes it through the signed callback."""

    name = "dev"
    development_only = True
    available = True

    def __init__(self, secret, path_for_token):
        self.secret = secret  # the webhook's shared secret
        self._path_for_token = path_for_token  # the dev page's path, built without a request

    def invitation_url(self, invitation):
        """The address the signer opens for an invitation row."""
        return self._path_for_token(invitation.token)


class NoSigningService:
    """No signing service: invitations are not offered (``available`` is False), so the
    package is signed elsewhere and uploaded as a container."""

    name = "none"
    development_only = False
    available = False

    def __init__(self, secret):
        self.secret = secret  # a callback still needs one to be refused properly

    def invitation_url(self, invitation):
        raise RuntimeError("no signing service is configured (SIGNING_BACKEND=none)")
