"""The staff area. Staff use the same layout; later issues fill the work queues."""
from flask import Blueprint, abort, current_app, flash, request
from flask_babel import gettext as _
from flask_login import current_user

import models
import rules
import tasks
from blueprints import audit, page_of, render, see_other, signed_in_user, staff_required
from forms.staff import NotificationDecisionForm
from rules import audit as audit_words, outbox as outbox_rules

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.route("")
@staff_required()
def index():
    """What needs attention: notifications not sent, newest registrations."""
    counts = {
        "users": models.User.select().where(models.User.staff_role.is_null()).count(),
        "clients": models.Client.select().count(),
        "pending": models.Notification.select().where(models.Notification.status == outbox_rules.PENDING).count(),
        "attention": models.Notification.needing_attention().count(),
    }
    newest = (models.User.select().where(models.User.staff_role.is_null())
              .order_by(models.User.created_at.desc()).limit(10))
    return render("staff/index.html", counts=counts, newest=newest,
                  dev_outbox=_dev_outbox_enabled() and current_user.has_staff_role(DEV_OUTBOX_ROLE))


# The development outbox shows every code and temporary password "sent": whoever reads it can
# take over any account, so only an administrator, and never in production.
DEV_OUTBOX_ROLE = "admin"


def _dev_outbox_enabled():
    config = current_app.config
    return config["PORTAL_ENV"] != "production" and "dev" in (config["MAIL_BACKEND"], config["SMS_BACKEND"])


@bp.route("/outbox")
@staff_required(DEV_OUTBOX_ROLE)
def outbox():
    """What the development e-mail and SMS backends "delivered" (administrators, not in production)."""
    if not _dev_outbox_enabled():
        abort(404)
    query = models.DevOutbox.select().order_by(models.DevOutbox.created_at.desc(), models.DevOutbox.id.desc())
    recipient = request.args.get("to", "").strip()
    if recipient:
        query = query.where(models.DevOutbox.recipient == recipient)
    pages = page_of(query, 25)
    return render("staff/outbox.html", "staff/_outbox_rows.html", pages=pages, recipient=recipient)


@bp.route("/audit")
@staff_required("supervisor")
def audit_log():
    """The audit log, newest first (supervisors and administrators)."""
    query = (models.AuditLog.select(models.AuditLog).order_by(models.AuditLog.created_at.desc(),
                                                              models.AuditLog.id.desc()))
    action = request.args.get("action", "").strip()
    if action:
        query = query.where(models.AuditLog.action.startswith(action))
    pages = page_of(query, 50)
    subjects = {template: subject() for template, subject in tasks.SUBJECTS.items()}
    return render("staff/audit.html", "staff/_audit_rows.html", pages=pages, action=action,
                  action_label=audit_words.action_label,
                  describe=lambda details: audit_words.describe(details, {"template": subjects}))


@bp.route("/notifications")
@staff_required("supervisor")
def notifications():
    """E-mails and SMS that failed, or whose outcome is unknown (handed over, no answer):
    staff send them again, confirm they arrived, or close them."""
    pages = page_of(models.Notification.needing_attention(), 25)
    return render("staff/notifications.html", "staff/_notification_rows.html", pages=pages,
                  form=NotificationDecisionForm(), subjects=tasks.SUBJECTS, outbox=outbox_rules)


@bp.route("/notifications/<int:notification_id>", methods=["POST"])
@staff_required("supervisor")
def notification_decision(notification_id):
    notification = models.Notification.get_or_none(models.Notification.id == notification_id)
    if notification is None:
        abort(404)
    form = NotificationDecisionForm()
    if not form.validate_on_submit():
        abort(400)
    decision = form.decision.data
    with models.action():
        done = notification.resolve(decision, signed_in_user())
        if done:
            audit(f"notification.{decision}", user=signed_in_user(), actor="staff",
                  notification=notification.id, template=notification.template, channel=notification.channel)
    if done:
        flash({"send_again": _("The notification will be sent again."),
               "delivered": _("Marked as delivered."),
               "close": _("Closed.")}[decision], "success")
    else:
        flash(_("Someone has already dealt with this notification, or it can no longer be sent."), "error")
    return see_other("staff.notifications",
                     page=rules.bounded_int(request.args.get("page"), 1, low=1, high=rules.MAX_PAGE))
