"""The staff area. Staff use the same layout; later issues fill the work queues."""
from flask import Blueprint, Response, abort, current_app, flash, request, stream_with_context
from flask_babel import gettext as _
from flask_login import current_user

import models
import rules
import tasks
from blueprints import audit, keyset_page, page_of, render, see_other, signed_in_user, staff_required
from forms.staff import NotificationDecisionForm
from models.documents import Document
from models.messages import waiting_queue
from models.scoping import staff_clients
from rules import audit as audit_words, documents as document_rules, export, outbox as outbox_rules
from rules import staff as staff_rules

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.route("")
@staff_required()
def index():
    """What needs attention: notifications not sent, newest registrations (a consultant: of their
    clients' users only, ``rules.staff``)."""
    user = signed_in_user()
    users = models.User.select().where(models.User.staff_role.is_null())
    if not staff_rules.sees_every_client(user.staff_role):
        users = users.where(models.User.id.in_(models.Membership.select(models.Membership.user).where(
            models.Membership.client.in_(staff_clients(user).select(models.Client.id)))))
    counts = {
        "users": users.count(),
        "clients": staff_clients(user).count(),
        "pending": models.Notification.select().where(models.Notification.status == outbox_rules.PENDING).count(),
        "attention": models.Notification.needing_attention().count(),
    }
    newest = users.order_by(models.User.created_at.desc()).limit(10)
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
    query, action = _audit_query()
    pages = page_of(query, 50)
    return render("staff/audit.html", "staff/_audit_rows.html", pages=pages, action=action,
                  action_label=audit_words.action_label, describe=_describe_audit(), max_rows=export.MAX_ROWS)


def _text_arg(name, longest=200):
    """A filter's text from the query string, trimmed; too long is no filter at all."""
    value = request.args.get(name, "").strip()
    return value if len(value) <= longest and "\x00" not in value else ""


def _audit_query():
    """The audit log newest first, filtered as the viewer's query string says; and that filter."""
    query = (models.AuditLog.select(models.AuditLog).order_by(models.AuditLog.created_at.desc(),
                                                              models.AuditLog.id.desc()))
    action = _text_arg("action")
    if action:
        query = query.where(models.AuditLog.action.startswith(action))
    return query, action


def _describe_audit():
    subjects = {template: subject() for template, subject in tasks.SUBJECTS.items()}
    return lambda details: audit_words.describe(details, {"template": subjects})


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
    if request.args.get("back") == "log":
        return see_other("staff.notification_log")
    return see_other("staff.notifications",
                     page=rules.bounded_int(request.args.get("page"), 1, low=1, high=rules.MAX_PAGE))


# --- The notification log -------------------------------------------------------------------

LOG_STATUSES = tuple(s for s in outbox_rules.STATUSES if s != outbox_rules.NOWHERE)


@bp.route("/notification-log")
@staff_required("supervisor")
def notification_log():
    """Every e-mail and SMS sent to the clients' users, newest first, paged by key: its
    template's label (never its body or parameters), delivery state and error."""
    search = _text_arg("q")
    client_id = rules.bounded_int(request.args.get("client"), None, low=1)
    status = request.args.get("status", "")
    status = status if status in LOG_STATUSES else ""
    template = request.args.get("template", "")
    template = template if template in tasks.SUBJECTS else ""
    query = models.notification_log(search=search, client_id=client_id, status=status, template=template)
    pages = keyset_page(query, models.NOTIFICATION_LOG_ORDER, 25)
    templates = sorted(((code, str(subject())) for code, subject in tasks.SUBJECTS.items()),
                       key=lambda pair: pair[1])
    return render("staff/notification_log.html", pages=pages, search=search, client_id=client_id,
                  chosen_status=status, template=template, statuses=LOG_STATUSES, templates=templates,
                  form=NotificationDecisionForm(), subjects=tasks.SUBJECTS, outbox=outbox_rules)


# --- CSV exports (supervisors and administrators; each one audited) ---------------------------

def _csv(name, kind, header, rows, **filters):
    """A streamed CSV download (``rules.export``: BOM, ``;``, formulas neutralised, at most
    ``export.MAX_ROWS`` rows), recorded in the audit log before it starts."""
    with models.action():
        audit("staff.exported", user=signed_in_user(), actor="staff", export=kind,
              filters={k: v for k, v in filters.items() if v} or "")
    response = Response(stream_with_context(export.lines(header, rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/audit.csv")
@staff_required("supervisor")
def audit_csv():
    query, action = _audit_query()
    describe = _describe_audit()

    def rows():
        for row in query.limit(export.MAX_ROWS).iterator():
            yield (row.created_at.strftime("%Y-%m-%d %H:%M:%S"), row.action, audit_words.action_label(row.action),
                   row.actor, row.ip, row.client_id or "",
                   "; ".join(f"{label}: {text}" for label, text in describe(row.details)))
    header = (_("Time (UTC)"), _("Action code"), _("Action"), _("Who"), _("From"), _("Client"), _("Details"))
    return _csv("audit-log.csv", "audit", header, rows(), action=action)


@bp.route("/documents.csv")
@staff_required("supervisor")
def documents_csv():
    """The documents queue: what waits on us, in its order."""
    query = (Document.select(Document, models.Client).join(models.Client)
             .where(Document.waiting == True)  # noqa: E712 (peewee expression)
             .order_by(Document.status, Document.submitted_at, Document.updated_at,
                       Document.id))

    def when(value):
        return value.strftime("%Y-%m-%d %H:%M") if value else ""

    def rows():
        for d in query.limit(export.MAX_ROWS).iterator():
            yield (d.id, d.client.name, d.client_id, str(d.title),
                   str(document_rules.STATUS_LABELS.get(d.status, d.status)), when(d.submitted_at),
                   when(d.updated_at))
    header = (_("Document"), _("Client"), _("Client number"), _("Kind"), _("Status"), _("Submitted (UTC)"),
              _("Changed (UTC)"))
    return _csv("documents-queue.csv", "documents", header, rows())


@bp.route("/messages.csv")
@staff_required("supervisor")
def messages_csv():
    """The messages queue: threads waiting for an answer, the earliest due first."""
    query = waiting_queue()

    def when(value):
        return value.strftime("%Y-%m-%d %H:%M") if value else ""

    def rows():
        for t in query.limit(export.MAX_ROWS).iterator():
            yield (t.id, t.client.name, t.client_id, t.subject, when(t.waiting_since), when(t.due_at))
    header = (_("Conversation"), _("Client"), _("Client number"), _("Subject"), _("Waiting since (UTC)"),
              _("Answer due (UTC)"))
    return _csv("messages-queue.csv", "messages", header, rows())
