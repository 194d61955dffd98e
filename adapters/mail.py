"""E-mail leaving the portal: SMTP, or a development outbox.

``SmtpMail`` speaks SMTP to MAIL_SERVER. ``DevMail`` stores what it "sent" in
``DevOutbox`` (and logs it), so a developer, staff in a demo and the tests can
read it; it is refused in production (``adapters.build``).
"""
import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import models
from adapters import DeliveryError

log = logging.getLogger(__name__)


class DevMail:
    name = "dev"
    development_only = True

    def send(self, to, subject, text, html, message_id=None):
        models.DevOutbox.create(channel="email", recipient=to, subject=subject, body=text)
        log.info("DEV E-MAIL to %s: %s\n%s", to, subject, text)


class SmtpMail:
    name = "smtp"
    development_only = False

    def __init__(self, server, port=25, use_tls=False, username="", password="", sender="", timeout=15):
        self.server, self.port, self.use_tls = server, port, use_tls
        self.username, self.password, self.sender, self.timeout = username, password, sender, timeout

    def send(self, to, subject, text, html, message_id=None):
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id or make_msgid(domain="kabinets")
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        try:
            with smtplib.SMTP(self.server, self.port, timeout=self.timeout) as smtp:
                if self.use_tls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            raise DeliveryError(f"SMTP: {error}") from error
