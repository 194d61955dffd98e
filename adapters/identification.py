"""The identification provider (seed 004 §5, §8; ONB-9), reached through an adapter.

An adapter has a ``name`` (stored on each identification), ``available`` (False: nobody is
offered remote identification, staff identify in person or by video), ``start(session, return_url)``
— the address the person is sent to for a session the portal made up — and
``parse_webhook(body, headers, now)`` — the result of an authentic, fresh webhook, or
``WebhookRefused`` with the HTTP status to answer and a code for the audit log.

The webhook is generic: a JSON body ``{"event", "session", "result", "reason", "timestamp"}``
(``result`` one of approved / declined / retry; ``timestamp`` in Unix seconds, inside the
body so the signature covers it) with ``X-Identification-Signature: sha256=<hex>``, the
HMAC-SHA256 of the raw body under the shared secret. The portal compares in constant time
(``hmac.compare_digest``) before it reads anything, refuses a body older or newer than the
replay window, and drops an event id it has seen (``models.identification``).

- ``DevIdentification`` (``IDENTIFICATION_BACKEND=dev``): the provider's pages are this
  portal's own (``/dev/identification/…``); they take the photos and send the signed webhook.
  Development only: production refuses to start with it.
- ``HostedIdentification`` (``hosted``): a provider with hosted pages, the start address from
  ``IDENTIFICATION_START_URL`` (``{session}`` and ``{return_url}`` filled in).
- ``NoIdentification`` (``none``, production's default): remote identification is not offered.
"""
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import quote

SIGNATURE_HEADER = "X-Identification-Signature"
SIGNATURE_PREFIX = "sha256="
MAX_BODY = 64 * 1024  # a result is a few hundred bytes

# Why a webhook was refused: (HTTP status, code for the audit row and the provider).
NO_SIGNATURE, BAD_SIGNATURE, BAD_BODY, STALE = (
    (401, "missing signature"), (401, "bad signature"), (400, "malformed body"), (403, "outside the replay window"))


class WebhookRefused(Exception):
    def __init__(self, refusal):
        super().__init__(refusal[1])
        self.status, self.code = refusal


@dataclass(frozen=True)
class WebhookResult:
    """What a provider said about one session: ``result`` is its word (approved, declined,
    retry; rules.identification maps it), ``event`` its own id of this message."""

    event: str
    session: str
    result: str
    reason: str
    timestamp: int


def sign(body, secret):
    """The signature header's value for ``body`` (bytes) under ``secret`` (bytes)."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_valid(body, signature, secret):
    """Constant-time check of the header against the body's HMAC; False for anything odd."""
    if not isinstance(signature, str) or not signature or not secret:
        return False
    expected = sign(body, secret)
    given = signature.strip()
    if not given.startswith(SIGNATURE_PREFIX):
        given = SIGNATURE_PREFIX + given
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace"))


def parse_webhook(body, headers, secret, max_age_seconds, now=None):
    """The ``WebhookResult`` of an authentic, fresh webhook; ``WebhookRefused`` otherwise.
    The signature is checked over the raw bytes before the body is parsed at all."""
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        raise WebhookRefused(NO_SIGNATURE)
    if not isinstance(body, bytes) or len(body) > MAX_BODY or not signature_valid(body, signature, secret):
        raise WebhookRefused(BAD_SIGNATURE)
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise WebhookRefused(BAD_BODY) from None
    if not isinstance(payload, dict):
        raise WebhookRefused(BAD_BODY)
    fields = {name: payload.get(name) for name in ("event", "session", "result")}
    if not all(isinstance(v, str) and 0 < len(v) <= 200 for v in fields.values()):
        raise WebhookRefused(BAD_BODY)
    sent = payload.get("timestamp")
    if isinstance(sent, bool) or not isinstance(sent, int):
        raise WebhookRefused(BAD_BODY)
    if abs((now if now is not None else time.time()) - sent) > max_age_seconds:
        raise WebhookRefused(STALE)
    reason = payload.get("reason")
    return WebhookResult(event=fields["event"], session=fields["session"], result=fields["result"],
                         reason=reason[:500] if isinstance(reason, str) else "", timestamp=sent)


def signed_webhook(payload, secret, now=None):
    """(body, headers) of a webhook as a provider sends it (the development provider and tests)."""
    payload = {"timestamp": int(now if now is not None else time.time()), **payload}
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    return body, {SIGNATURE_HEADER: sign(body, secret), "Content-Type": "application/json"}


def new_session():
    """A session reference the portal makes up for one attempt (unguessable: it names the
    development provider's page)."""
    return secrets.token_urlsafe(24)


class _Provider:
    development_only = False
    available = True

    def __init__(self, secret, max_age_seconds):
        self.secret = secret  # the webhook's shared secret (bytes)
        self.max_age_seconds = max_age_seconds

    def parse_webhook(self, body, headers, now=None):
        return parse_webhook(body, headers, self.secret, self.max_age_seconds, now)


class DevIdentification(_Provider):
    """Development backend: the provider's pages are this portal's (``blueprints/dev_identification``)."""

    name = "dev"
    development_only = True

    def __init__(self, secret, max_age_seconds, path_for_session):
        super().__init__(secret, max_age_seconds)
        self._path_for_session = path_for_session  # the dev page's path, built without a request

    def start(self, session, return_url):
        return self._path_for_session(session) + "?next=" + quote(return_url, safe="")

    def webhook(self, session, result, reason="", now=None):
        """(body, headers) of this provider's webhook for ``session`` (a fresh event id)."""
        return signed_webhook({"event": "dev-" + secrets.token_hex(12), "session": session, "result": result,
                               "reason": reason}, self.secret, now)


class HostedIdentification(_Provider):
    """A provider with hosted pages: the person goes to ``start_url`` with the session and
    the address to come back to filled in; the result comes by the generic webhook."""

    name = "hosted"

    def __init__(self, secret, max_age_seconds, start_url):
        super().__init__(secret, max_age_seconds)
        self.start_url = start_url

    def start(self, session, return_url):
        return self.start_url.replace("{session}", quote(session, safe="")).replace(
            "{return_url}", quote(return_url, safe=""))


class NoIdentification(_Provider):
    """No remote identification: staff identify people in person or by video."""

    name = "none"
    available = False

    def start(self, session, return_url):
        raise RuntimeError("no identification provider is configured (IDENTIFICATION_BACKEND=none)")


BACKENDS = ("dev", "hosted", "none")


def from_config(config, secret, path_for_session):
    """The provider the configuration names (``IDENTIFICATION_BACKEND``)."""
    backend = config.get("IDENTIFICATION_BACKEND") or "none"
    max_age = float(config.get("IDENTIFICATION_WEBHOOK_MAX_AGE") or 300)
    if backend == "dev":
        return DevIdentification(secret, max_age, path_for_session)
    if backend == "hosted":
        return HostedIdentification(secret, max_age, config.get("IDENTIFICATION_START_URL") or "")
    if backend == "none":
        return NoIdentification(secret, max_age)
    raise RuntimeError(f"unknown IDENTIFICATION_BACKEND {backend!r} ({', '.join(BACKENDS)})")
