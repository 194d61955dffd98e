"""How e-mail and SMS leave the portal: real backends and development ones.

``smtp`` speaks SMTP to MAIL_SERVER; ``http`` posts to an SMS gateway with a
bearer token. The ``dev`` backends store what they "sent" in DevOutbox (and
print it), so a developer, staff in a demo, and the tests can read it.
"""
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import requests
from flask import current_app

import models


class DeliveryError(Exception):
    """The backend refused or could not be reached; the notification stays pending."""


def send_email(to, subject, text, html):
    config = current_app.config
    if config["MAIL_BACKEND"] == "dev":
        models.DevOutbox.create(channel="email", recipient=to, subject=subject, body=text)
        current_app.logger.info("DEV E-MAIL to %s: %s\n%s", to, subject, text)
        return
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="kabinets")
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=15) as smtp:
            if config["MAIL_USE_TLS"]:
                smtp.starttls()
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryError(f"SMTP: {error}") from error


def send_sms(to, text):
    config = current_app.config
    if config["SMS_BACKEND"] == "dev":
        models.DevOutbox.create(channel="sms", recipient=to, body=text)
        current_app.logger.info("DEV SMS to %s: %s", to, text)
        return
    try:
        response = requests.post(
            config["SMS_GATEWAY_URL"],
            json={"to": to, "text": text, "sender": config["SMS_SENDER"]},
            headers={"Authorization": f"Bearer {config['SMS_GATEWAY_TOKEN']}"},
            timeout=15)
    except requests.RequestException as error:
        raise DeliveryError(f"SMS gateway: {error}") from error
    if response.status_code >= 300:
        raise DeliveryError(f"SMS gateway answered {response.status_code}")
