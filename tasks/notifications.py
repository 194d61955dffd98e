"""Sending the outbox: one job per notification, and the sweep.

A notification row is written in the same transaction as the change that
causes it; ``enqueue_notification`` runs after the commit. If Redis is down at
that moment nothing is lost: ``sweep_notifications`` (every minute, from
``rq cron``) queues every row still pending. ``models.action()`` hands the rows
of an action to ``enqueue_notification`` after its commit. ``Notification.claim`` lets only
one job send a row, so a row is never sent twice.
"""
import logging
from datetime import timedelta

from flask import current_app, render_template
from flask_babel import force_locale, gettext as _

import adapters
import models
from adapters import DeliveryError
from rules.keys import SealBroken
from tasks import enqueue_notification, with_app

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


# Subjects of e-mails, by template (the body lives in templates/email/).
SUBJECTS = {
    "registration_code": lambda: _("Your registration confirmation code"),
    "account_exists": lambda: _("Someone tried to register with your details"),
    "welcome": lambda: _("Welcome to Kabinets"),
    "reset_code": lambda: _("Your password recovery code"),
    "temporary_password": lambda: _("Your temporary password"),
    "password_changed": lambda: _("Your password has been changed"),
    "document_info_needed": lambda: _("We need more information about your document"),
    "document_ready_for_signing": lambda: _("Your documents are ready for signing"),
    "document_signing_invitation": lambda: _("Invitation to sign your documents"),
    "document_signed": lambda: _("Your documents are signed"),
    "message_reply": lambda: _("A new reply in your client cabinet"),
    "message_received": lambda: _("We have received your message"),
}


def render_notification(notification):
    """(subject, text, html) for e-mail, (None, text, None) for SMS, in the user's language."""
    params = notification.opened_params()
    params["base_url"] = current_app.config["BASE_URL"]
    with force_locale(notification.language or "lv"):
        if notification.channel == "sms":
            return None, render_template(f"sms/{notification.template}.txt", **params).strip(), None
        subject = SUBJECTS[notification.template]()
        text = render_template(f"email/{notification.template}.txt", subject=subject, **params)
        html = render_template(f"email/{notification.template}.html", subject=subject, **params)
        return subject, text, html


@with_app
def send_notification(notification_id):
    """Send one notification if it is still pending. Returns the final status."""
    notification = models.Notification.get_or_none(models.Notification.id == notification_id)
    if notification is None or not notification.claim():
        return "skipped"
    notification = models.Notification.get_by_id(notification_id)
    outside = adapters.of(current_app)
    try:
        subject, text, html = render_notification(notification)
    except SealBroken:
        # No key opens the parameters (SECRET_KEY changed without SECRET_KEY_PREVIOUS):
        # never send the message with its code missing.
        (models.Notification.update(status="failed", params="", error="parameters could not be decrypted")
         .where(models.Notification.id == notification_id).execute())
        log.error("Notification %s: parameters could not be decrypted; not sent", notification_id)
        return "failed"
    try:
        if notification.channel == "email":
            outside.mail.send(notification.recipient, subject, text, html)
        else:
            outside.sms.send(notification.recipient, text)
    except DeliveryError as error:
        status = "failed" if notification.attempts >= MAX_ATTEMPTS else "pending"
        (models.Notification.update(status=status, error=str(error)[:500])
         .where(models.Notification.id == notification_id).execute())
        log.warning("Notification %s not sent: %s", notification_id, error)
        return status
    # Sent: the code or temporary password inside is no longer kept.
    (models.Notification.update(status="sent", sent_at=models.utcnow(), params="", error="")
     .where(models.Notification.id == notification_id).execute())
    return "sent"


@with_app
def sweep_notifications(older_than_seconds=30):
    """Queue pending rows that missed their job; give up on rows stuck while sending."""
    now = models.utcnow()
    stuck = now - timedelta(minutes=15)
    # A job that died mid-send may or may not have sent: never risk a second copy.
    (models.Notification.update(status="failed", error="interrupted while sending")
     .where(models.Notification.status == "sending", models.Notification.claimed_at < stuck).execute())
    due = (models.Notification.select(models.Notification.id)
           .where(models.Notification.status == "pending",
                  models.Notification.created_at < now - timedelta(seconds=older_than_seconds)))
    count = 0
    for row in due:
        if enqueue_notification(row.id):
            count += 1
    models.clean_expired(now)
    return count
