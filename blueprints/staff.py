"""The staff area. Staff use the same layout; later issues fill the work queues."""
from flask import Blueprint, abort, current_app, request

import models
from blueprints import page_of, render, staff_required

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.route("")
@staff_required()
def index():
    """What needs attention: notifications not sent, newest registrations."""
    counts = {
        "users": models.User.select().where(models.User.staff_role.is_null()).count(),
        "clients": models.Client.select().count(),
        "pending": models.Notification.select().where(models.Notification.status == "pending").count(),
        "failed": models.Notification.select().where(models.Notification.status == "failed").count(),
    }
    newest = (models.User.select().where(models.User.staff_role.is_null())
              .order_by(models.User.created_at.desc()).limit(10))
    return render("staff/index.html", counts=counts, newest=newest,
                  dev_outbox=_dev_outbox_enabled())


def _dev_outbox_enabled():
    return "dev" in (current_app.config["MAIL_BACKEND"], current_app.config["SMS_BACKEND"])


@bp.route("/outbox")
@staff_required()
def outbox():
    """What the development e-mail and SMS backends "delivered" (not in production)."""
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
    return render("staff/audit.html", "staff/_audit_rows.html", pages=pages, action=action)
