"""E-mail leaving the portal: SMTP, or a development outbox.

``SmtpMail`` speaks SMTP to MAIL_SERVER. ``DevMail`` stores what it "sent" in
``DevOutbox`` (and logs it), so a developer, staff in a demo and the tests can
read it; it is refused in production (``adapters.build``).

``send`` takes the notification's ``key`` (the Message-ID is built from it, so every
attempt at one notification carries the same Message-ID and a receiver can drop a copy)
and an ``on_handover`` hook, called just before the message itself leaves (SMTP DATA):

- an error before the hook: ``DeliveryError`` (not delivered, safe to try again);
- a refusal of the message by the server: ``DeliveryError`` (``permanent`` for 5xx);
- no answer after it (timeout, connection lost): ``DeliveryUnknown``.
"""
import email.policy
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

import models
from adapters import DeliveryError, DeliveryUnknown, no_handover

log = logging.getLogger(__name__)


def message_id(key, sender):
    """``<key@domain of the sender>``; a random one without a key."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "kabinets.invalid"
    return f"<{key}@{domain}>" if key else make_msgid(domain=domain)


class DevMail:
    name = "dev"
    development_only = True

    def send(self, to, subject, text, html, key=None, on_handover=no_handover):
        on_handover()
        models.DevOutbox.create(channel="email", recipient=to, subject=subject, body=text)
        log.info("DEV E-MAIL to %s: %s\n%s", to, subject, text)


class SmtpMail:
    name = "smtp"
    development_only = False

    def __init__(self, server, port=25, use_tls=False, username="", password="", sender="", timeout=15):
        self.server, self.port, self.use_tls = server, port, use_tls
        self.username, self.password, self.sender, self.timeout = username, password, sender, timeout

    def compose(self, to, subject, text, html, key=None):
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id(key, self.sender)
        message.set_content(text)
        message.add_alternative(html, subtype="html")
        return message

    def send(self, to, subject, text, html, key=None, on_handover=no_handover):
        message = self.compose(to, subject, text, html, key)
        data = message.as_bytes(policy=email.policy.SMTP)
        smtp = None
        try:
            smtp = smtplib.SMTP(self.server, self.port, timeout=self.timeout)
            if self.use_tls:
                smtp.starttls(context=ssl.create_default_context())  # the server's certificate and name are checked
            if self.username:
                smtp.login(self.username, self.password)
            smtp.ehlo_or_helo_if_needed()
            options = ["BODY=8BITMIME"] if smtp.has_extn("8bitmime") else []
            code, reply = smtp.mail(parseaddr(self.sender)[1], options)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, self.sender)
            code, reply = smtp.rcpt(to)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
        except (OSError, smtplib.SMTPException) as error:
            _close(smtp)
            raise DeliveryError(f"SMTP: {error}", permanent=_permanent(error)) from error
        try:
            on_handover()
        except BaseException:
            _close(smtp)
            raise
        try:
            smtp.data(data)
        except smtplib.SMTPResponseException as error:
            # The server answered, and said no: not delivered.
            _close(smtp)
            raise DeliveryError(f"SMTP: {error}", permanent=_permanent(error)) from error
        except (OSError, smtplib.SMTPException) as error:
            _close(smtp)
            raise DeliveryUnknown(f"SMTP: no answer after the message was sent ({error!r})") from error
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass  # delivered: the server said so before the goodbye


def _permanent(error):
    """A 5xx answer: the server will not take this message, however often it is tried."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    code = getattr(error, "smtp_code", None)
    return isinstance(code, int) and 500 <= code < 600


def _close(smtp):
    if smtp is not None:
        try:
            smtp.close()
        except OSError:
            pass
