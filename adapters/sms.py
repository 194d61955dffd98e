"""SMS leaving the portal: an HTTP gateway, or a development outbox.

``HttpSms`` posts JSON to SMS_GATEWAY_URL with a bearer token. ``DevSms`` stores
the text in ``DevOutbox`` (and logs it); it is refused in production.
"""
import logging

import requests

import models
from adapters import DeliveryError

log = logging.getLogger(__name__)


class DevSms:
    name = "dev"
    development_only = True

    def send(self, to, text, key=None):
        models.DevOutbox.create(channel="sms", recipient=to, body=text)
        log.info("DEV SMS to %s: %s", to, text)


class HttpSms:
    name = "http"
    development_only = False

    def __init__(self, url, token="", sender="Kabinets", timeout=15):
        self.url, self.token, self.sender, self.timeout = url, token, sender, timeout

    def send(self, to, text, key=None):
        payload = {"to": to, "text": text, "sender": self.sender}
        if key:
            payload["id"] = key  # lets the gateway drop a copy of the same message
        try:
            response = requests.post(self.url, json=payload,
                                     headers={"Authorization": f"Bearer {self.token}"},
                                     timeout=self.timeout)
        except requests.RequestException as error:
            raise DeliveryError(f"SMS gateway: {error}") from error
        if response.status_code >= 300:
            raise DeliveryError(f"SMS gateway answered {response.status_code}")
