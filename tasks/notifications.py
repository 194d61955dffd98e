"""Sending the outbox: one job per notification, and the sweep. Never lost, never twice.

A notification row is written in the same transaction as the change that causes it, and
``models.action()`` queues its job after the commit (``enqueue_notification``). The job
claims the row (``pending → sending``), renders it, records the hand-over just before the
message leaves (``rules.outbox`` has the states), and records the outcome:

- sent → ``sent`` (its parameters wiped);
- refused, unreachable, or any error before the hand-over → ``pending`` again after a
  back-off (``failed`` once the attempts are used up);
- no answer after the hand-over → ``unknown``: it may have arrived, so it is not sent
  again by itself; staff decide (``/staff/notifications``).

``sweep_notifications`` (every minute, from ``rq cron``) settles rows whose job died (a
claim older than its lease: never handed over → sent again; handed over → unknown) and
queues the pending rows that are due: those whose back-off is over and those whose
action could not queue them (Redis away). A job already waiting is not queued twice.
"""
import logging
import time

from flask import current_app, render_template
from flask_babel import force_locale, gettext as _

import adapters
import models
from adapters import DeliveryError, DeliveryUnknown
from peewee import PeeweeException as PeeweeError
from rules import outbox
from rules.keys import SealBroken
from tasks import enqueue_notification, notification_job_id, waiting_job_ids, with_app

log = logging.getLogger(__name__)


# Subjects of e-mails, by template (the body lives in templates/email/).
SUBJECTS = {
    "registration_code": lambda: _("Your registration confirmation code"),
    "account_exists": lambda: _("Someone tried to register with your details"),
    "eid_linked": lambda: _("E-identity has been linked to your account"),
    "eid_unlinked": lambda: _("E-identity is no longer linked to your account"),
    "welcome": lambda: _("Welcome to Kabinets"),
    "reset_code": lambda: _("Your password recovery code"),
    "temporary_password": lambda: _("Your temporary password"),
    "password_changed": lambda: _("Your password has been changed"),
    "contact_code": lambda: _("Your code to confirm the new e-mail address"),
    "contact_taken": lambda: _("Someone asked to use your e-mail address"),
    "contact_changed": lambda: _("The e-mail address of your account has been changed"),
    "document_info_needed": lambda: _("We need more information about your document"),
    "document_ready_for_signing": lambda: _("Your documents are ready for signing"),
    "document_signing_invitation": lambda: _("Invitation to sign your documents"),
    "document_signed": lambda: _("Your documents are signed"),
    "message_reply": lambda: _("A new reply in your client cabinet"),
    "message_received": lambda: _("We have received your message"),
    "main_user_granted": lambda: _("You are now the company's main user"),
    "main_user_refused": lambda: _("Your request for main-user rights was refused"),
    "main_user_removed": lambda: _("Your main-user rights were taken away"),
    "poa_verified": lambda: _("Your power of attorney is verified"),
    "poa_refused": lambda: _("Your power of attorney was refused"),
    "poa_expiring": lambda: _("A power of attorney ends soon"),
    "poa_access_given": lambda: _("A power of attorney gave someone access to your company"),
    "company_invitation": lambda: _("You are invited to act for a company in the client cabinet"),
    "invoice_issued": lambda: _("A new invoice in your client cabinet"),
    "identification_invitation": lambda: _("Please identify for your company's application"),
    "identification_failed": lambda: _("Your identification did not succeed"),
    "identification_repeat": lambda: _("Please identify again"),
    "identification_in_person": lambda: _("Please identify in person"),
    "identification_video": lambda: _("Your video identification is agreed"),
    "invoice_paid": lambda: _("Your invoice is paid"),
    "credit_note_issued": lambda: _("A credit note for your invoice"),
    "staff_passed_on": lambda: _("A colleague passed something to you"),
    "new_device_sign_in": lambda: _("A sign-in to your account from a new device"),
    "totp_enabled": lambda: _("Two-step sign-in has been turned on"),
    "totp_disabled": lambda: _("Two-step sign-in has been turned off"),
    "totp_recovery_codes": lambda: _("New recovery codes for two-step sign-in"),
    "totp_recovery_code_used": lambda: _("A recovery code was used to sign in to your account"),
    "passkey_added": lambda: _("A passkey has been added to your account"),
    "passkey_removed": lambda: _("A passkey has been removed from your account"),
    "application_decision": lambda: _("A decision on your application"),
    "application_reminder": lambda: _("Your application is waiting for you"),
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


NOT_RECORDED = "sending"  # the outcome could not be written: the row is still "sending"


class _Superseded(Exception):
    """The sweep took the row back (its lease ran out) before the hand-over: do not send."""


@with_app
def send_notification(notification_id):
    """Send one notification if it is pending and due. Returns what became of it:
    "sent", "pending" (tried again later), "failed", "unknown" or "skipped"."""
    row = models.Notification.get_or_none(models.Notification.id == notification_id)
    attempt = row.claim() if row is not None else None
    if attempt is None:
        return "skipped"
    handed_over = False

    def handover():
        nonlocal handed_over
        if not row.record_handover(attempt):
            raise _Superseded()
        handed_over = True

    try:
        outside = adapters.of(current_app)
        subject, text, html = render_notification(row)
        if row.channel == "email":
            outside.mail.send(row.recipient, subject, text, html, key=row.delivery_key(), on_handover=handover)
        else:
            outside.sms.send(row.recipient, text, key=row.delivery_key(), on_handover=handover)
    except _Superseded:
        return "skipped"
    except SealBroken:
        # No key opens the parameters (SECRET_KEY changed without SECRET_KEY_PREVIOUS):
        # never send the message with its code missing.
        log.error("Notification %s: parameters could not be decrypted; not sent", notification_id)
        return _settle(row.retry_later, attempt, "parameters could not be decrypted", permanent=True) or "skipped"
    except DeliveryUnknown as error:
        log.warning("Notification %s: outcome unknown: %s", notification_id, error)
        return _outcome(_settle(row.finish_unknown, attempt, str(error)), "unknown")
    except DeliveryError as error:
        log.warning("Notification %s not sent: %s", notification_id, error)
        return _settle(row.retry_later, attempt, str(error), permanent=error.permanent) or "skipped"
    except Exception as error:
        # Anything else (a template error, the database gone, the job's time limit): before
        # the hand-over it is safe to try again; after it the message may have left.
        log.exception("Notification %s: %s", notification_id, "after the hand-over" if handed_over
                      else "before the hand-over")
        if handed_over:
            return _outcome(_settle(row.finish_unknown, attempt, f"error after the hand-over: {error!r}"),
                            "unknown")
        return _settle(row.retry_later, attempt, f"error before the hand-over: {error!r}") or "skipped"
    # Sent: the code or temporary password inside is no longer kept.
    return _outcome(_settle(row.finish_sent, attempt), "sent")


def _outcome(recorded, status):
    """``status`` when it was recorded; "sending" when it could not be; "skipped" when the
    row was no longer this attempt's."""
    if recorded == NOT_RECORDED:
        return NOT_RECORDED
    return status if recorded else "skipped"


def _settle(step, *args, **kwargs):
    """Record the outcome, trying a few times over a couple of seconds: the database may be
    briefly away. If it stays away the row stays "sending", and the sweep settles it once
    its lease is over (before the hand-over: sent again; after: unknown). Returns what
    ``step`` returned, or ``NOT_RECORDED``."""
    for pause in (0.2, 0.5, 1.0, None):
        try:
            return step(*args, **kwargs)
        except PeeweeError:
            if pause is None:
                log.exception("Notification outcome not recorded; the sweep will settle it")
                return NOT_RECORDED
            _reconnect()
            time.sleep(pause)


def _reconnect():
    """Drop the broken connection; the next query opens a new one."""
    try:
        models.db.close()
    except Exception:  # closing a connection to a server that went away
        pass


@with_app
def sweep_notifications(settle_seconds=outbox.SETTLE_SECONDS):
    """Every minute (``rq cron``): settle rows whose job died, and queue the pending rows
    that are due and whose job is not already waiting. Returns how many it queued."""
    now = models.utcnow()
    lease = current_app.config.get("NOTIFICATION_LEASE_SECONDS", outbox.CLAIM_LEASE_SECONDS)
    requeued, failed, unknown = models.Notification.recover_abandoned(now, lease)
    if requeued or failed or unknown:
        log.warning("Notifications whose job died: %d to send again, %d failed, %d outcome unknown",
                    requeued, failed, unknown)
    count = 0
    waiting = waiting_job_ids()
    for row in (models.Notification.due(now, settle_seconds) if waiting is not None else ()):
        if notification_job_id(row.id) in waiting:
            continue  # its job is still in the queue: queued again, it would run twice
        if not enqueue_notification(row.id):
            break  # Redis is away: the next sweep tries again
        count += 1
    models.clean_expired(now)
    return count
