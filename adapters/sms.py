"""SMS leaving the portal: an HTTP gateway, or a development outbox.

``HttpSms`` posts JSON to SMS_GATEWAY_URL with a bearer token. ``DevSms`` stores
the text in ``DevOutbox`` (and logs it); it is refused in production.

``send`` takes the notification's ``key``, sent as the request's ``id`` and as an
``Idempotency-Key`` header (the same on every attempt, so the gateway can drop a copy),
and an ``on_handover`` hook called just before the request leaves:

- the gateway could not be reached (connection refused, connect timeout), or answered
  that it did not take the message: ``DeliveryError`` (4xx other than 408/429 are
  ``permanent``);
- the request left and no answer came: ``DeliveryUnknown``.
"""
import logging

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, NameResolutionError

import models
from adapters import DeliveryError, DeliveryUnknown, no_handover

log = logging.getLogger(__name__)


class DevSms:
    name = "dev"
    development_only = True

    def send(self, to, text, key=None, on_handover=no_handover):
        on_handover()
        models.DevOutbox.create(channel="sms", recipient=to, body=text)
        log.info("DEV SMS to %s: %s", to, text)


class HttpSms:
    name = "http"
    development_only = False

    def __init__(self, url, token="", sender="Kabinets", timeout=15, connect_timeout=5):
        self.url, self.token, self.sender = url, token, sender
        self.timeout, self.connect_timeout = timeout, connect_timeout

    def send(self, to, text, key=None, on_handover=no_handover):
        payload = {"to": to, "text": text, "sender": self.sender}
        headers = {"Authorization": f"Bearer {self.token}"}
        if key:
            payload["id"] = key  # lets the gateway drop a copy of the same message
            headers["Idempotency-Key"] = key
        on_handover()
        try:
            response = requests.post(self.url, json=payload, headers=headers,
                                     timeout=(self.connect_timeout, self.timeout))
        except requests.RequestException as error:
            if _never_left(error):
                raise DeliveryError(f"SMS gateway unreachable: {error}") from error
            raise DeliveryUnknown(f"SMS gateway: no answer after the message was sent ({error!r})") from error
        if response.status_code >= 300:
            permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 429)
            raise DeliveryError(f"SMS gateway answered {response.status_code}", permanent=permanent)


def _never_left(error):
    """True when the request cannot have reached the gateway: no connection was made."""
    if isinstance(error, (requests.ConnectTimeout, requests.exceptions.InvalidURL,
                          requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)):
        return True
    cause = error.args[0] if error.args else None
    reason = getattr(cause, "reason", cause)
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError, NameResolutionError))
