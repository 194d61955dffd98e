"""The later stages of an onboarding application (seed 004 §6–12): staff decisions per service,
the commission-fee invoice, the documents stage read from the client's documents, a service
added later, and the save-and-return reminders of unfinished drafts.

The rules are ``rules.decisions``; what the task list shows is ``Application.stage_statuses``,
which reads ``derived_progress`` here. ``refresh_stage`` keeps ``Application.stage`` (the
current stage's code, a copy the staff list filters by) in step: it runs on each change the
portal makes to an application's stages (submit, decision, fee invoice, payment, a document
of the client moving) and whenever staff or the client open the application.
Every change here runs in one ``models.action()``: one transaction, notifications after it.
"""
from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegrityError, TextField

from models.accounts import User
from models.applications import Application, ApplicationRefused
from models.admin import offered_services
from models.audit import AuditLog
from models.base import BaseModel, db, utcnow
from models.documents import Document
from models.finance import Invoice
from models.notifications import Notification, action
from rules import decisions as DR
from rules import finance as F
from rules import onboarding as O
from rules.i18n import _l

FINISHED = "finished"  # ``Application.stage`` once no stage is open


class DecisionRefused(ApplicationRefused):
    """A decision the rules refuse; ``field`` names the form field the message belongs to."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


class ApplicationDecision(BaseModel):
    """Stage 6: the answer to one question of one service of an application, once."""

    application = ForeignKeyField(Application, backref="decisions", on_delete="CASCADE")
    service = CharField(max_length=20)
    question = CharField(max_length=20)  # rules.decisions: account, cooperation, renewal, card, user
    code = CharField(max_length=30)  # rules.decisions.DECISIONS
    positive = BooleanField()
    reason = TextField(default="")  # why not (negative decisions); for staff
    decided_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    decided_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("application", "service", "question"), True),)

    @property
    def decision(self):
        return DR.DECISIONS[self.code]

    @property
    def label(self):
        return self.decision.label

    @property
    def told(self):
        return self.decision.told

    @property
    def service_label(self):
        return O.SERVICE_LABELS[self.service]


def decisions_of(application):
    """The application's decisions, in the order they were made."""
    return list(ApplicationDecision.select().where(ApplicationDecision.application == application.id)
                .order_by(ApplicationDecision.decided_at, ApplicationDecision.id))


# --- What stages 3, 4 and 6 say now ----------------------------------------------------------

def newest_documents(client_id, doc_types):
    """{document type: Document}: the client's newest document of each of ``doc_types``."""
    found = {}
    if doc_types:
        for document in (Document.select().where(Document.client == client_id, Document.doc_type.in_(doc_types))
                         .order_by(Document.id.desc())):
            found.setdefault(document.doc_type, document)
    return found


def fee_invoices(application):
    """The invoices issued for the application's commission fee, oldest first."""
    return list(Invoice.select().where(Invoice.application == application.id).order_by(Invoice.id))


def derived_progress(application):
    """{stage code: status} of stages 3, 4 and 6 from the client's documents, the application's
    invoices and its decisions (``rules.decisions``); nothing for a draft."""
    if application.is_draft:
        return {}
    found = {}
    required = DR.required_documents(application.kind)
    if required:
        newest = newest_documents(application.client_id, required)
        found[O.DOCUMENTS] = DR.documents_status(
            application.kind, {t: (d.status, d.question_open) for t, d in newest.items()})
    if O.FEE_SERVICES & set(application.services):
        status = DR.fee_status((i.amount, i.paid) for i in fee_invoices(application))
        if status:
            found[O.FEE] = status
    decided = {s for (s,) in ApplicationDecision.select(ApplicationDecision.service)
               .where(ApplicationDecision.application == application.id).tuples()}
    status = DR.outcome_status(application.services, decided)
    if status:
        found[O.OUTCOME] = status
    return found


def refresh_stage(application):
    """Compute the current stage again and keep its code in ``Application.stage`` (one UPDATE,
    only when it changed): ``FINISHED`` once every service is decided or no stage is open."""
    application._progress_now = None
    statuses = application.stage_statuses
    current = O.current_stage(statuses)
    # Every service decided ends the application, whatever stage was still open (a refusal).
    decided = any(stage.code == O.OUTCOME and status == O.DONE for stage, status in statuses)
    code = FINISHED if decided or current is None else current.code
    if application.stage != code:
        Application.update(stage=code).where(Application.id == application.id).execute()
        application.stage = code
    return code


def refresh_client_stages(client_id):
    """A document of the client moved: the stage of each submitted application of the client."""
    for application in Application.select().where(Application.client == client_id,
                                                  Application.status == O.SUBMITTED):
        refresh_stage(application)


def earlier_stages_open(application):
    """The stages before the outcome that are not done yet (Stage objects)."""
    return [stage for stage, status in application.stage_statuses
            if stage.code != O.OUTCOME and status not in (O.DONE, O.NOT_NEEDED)]


# --- Stage 6: decisions ---------------------------------------------------------------------

def record_decision(application, service, code, by, reason="", earlier_checked=False, ip="", user_agent=""):
    """Staff answer one question of one service (seed 004 §9–11): one transaction with the audit
    row and the client's notices — e-mail for a positive decision, e-mail and SMS for a negative
    one. A negative decision needs a reason; a positive one, while earlier stages are open, needs
    ``earlier_checked`` (staff confirm they checked them outside the portal). Raises DecisionRefused."""
    if application.is_draft:
        raise DecisionRefused(_l("The client has not submitted this application yet."))
    if not DR.allowed(application.services, service, code):
        raise DecisionRefused(_l("Choose a decision for one of the services of this application."), "decision")
    problem = DR.reason_problem(code, reason)
    if problem:
        raise DecisionRefused(problem, "reason")
    decision = DR.DECISIONS[code]
    if decision.positive and earlier_stages_open(application) and not earlier_checked:
        raise DecisionRefused(_l("Earlier stages are not done. Confirm that you checked them before a "
                                 "positive decision."), "earlier_checked")
    with action():
        try:
            with db.atomic():
                row = ApplicationDecision.create(application=application, service=service,
                                                 question=decision.question, code=code,
                                                 positive=decision.positive, reason=(reason or "").strip(),
                                                 decided_by=by)
        except IntegrityError:
            raise DecisionRefused(_l("This is already decided for this service."), "decision") from None
        AuditLog.record("application.decision", user=by, actor="staff", ip=ip, user_agent=user_agent,
                        client=application.client_id, application=application.id, service_code=service,
                        decision=code)
        _notify_decision(application, row)
        refresh_stage(application)
    return row


def _notify_decision(application, row):
    """The applicant learns of it: by e-mail, and by SMS too when it is negative (DESIGN §7)."""
    user = User.get_or_none(User.id == application.created_by_id)
    if user is None or not user.is_active:
        return
    params = {"application_id": application.id, "decision_id": row.id, "code": row.code,
              "service": row.service}
    Notification.queue("email", user.email, "application_decision", language=user.language, user=user, **params)
    if not row.positive:
        Notification.queue("sms", user.phone, "application_decision", language=user.language, user=user,
                           **params)


# --- Stage 4: the commission fee -----------------------------------------------------------------

def issue_fee(application, by, amount, due_on, description, issued_on=None):
    """Issue the commission-fee invoice of the application (seed 004 §7), linked to it; call
    inside ``action()``. Refused for a draft, or when no service of the application carries a fee."""
    if application.is_draft:
        raise ApplicationRefused(_l("The client has not submitted this application yet."))
    if not O.FEE_SERVICES & set(application.services):
        raise ApplicationRefused(_l("No service of this application carries a commission fee."))
    invoice = Invoice.issue(application.client, by, amount, due_on, description, purpose=F.COMMISSION_FEE,
                            purpose_ref=f"application:{application.id}", issued_on=issued_on,
                            application=application)
    refresh_stage(application)
    return invoice


# --- Seed 004 §12: a service added later -------------------------------------------------------

def asked_services(client_id):
    """The services the client has asked for in any application (drafts too)."""
    asked = set()
    for application in Application.select(Application.services).where(Application.client == client_id):
        asked.update(application.services or ())
    return asked


def services_to_add(application):
    """What the client of a submitted application may still add: their kind's services not asked
    yet that an administrator still offers (``models.admin.offered_services``)."""
    if application.is_draft:
        return []
    asked = asked_services(application.client_id)
    return [s for s in offered_services(application.kind) if s not in asked]


def add_service(parent, service, user, ip="", user_agent=""):
    """A new application for ``service``, starting from the answers (and ID copy) of the submitted
    ``parent``: the client checks them and submits it, and it goes through its own stages."""
    if service not in services_to_add(parent):
        raise ApplicationRefused(_l("Choose one of the services you have not asked for yet."))
    with action():
        added = Application.create(client=parent.client_id, created_by=user, kind=parent.kind,
                                   services=[service], data=dict(parent.data or {}),
                                   id_document=parent.id_document_id, parent=parent)
        AuditLog.record("application.add_service", user=user, ip=ip, user_agent=user_agent,
                        client=parent.client_id, application=added.id, parent=parent.id, services=[service])
    return added


# --- Save and return: reminders of unfinished drafts ---------------------------------------------

def _due(now, after):
    """Drafts untouched for ``after`` and not reminded since their last change."""
    return ((Application.status == O.DRAFT) & (Application.updated_at <= now - after)
            & (Application.reminded_at.is_null() | (Application.reminded_at < Application.updated_at)))


def remind_draft(application_id, now, after, base_path="/applications/{id}/edit"):
    """Remind the person who started a draft, once per quiet spell: claimed by one conditional
    UPDATE, so runs at the same time send one reminder. True when this run sent it (False also when
    its author's account is closed)."""
    with action():
        won = Application.update(reminded_at=now).where(Application.id == application_id,
                                                        _due(now, after)).execute()
        if not won:
            return False
        application = Application.get_by_id(application_id)
        user = User.get_or_none(User.id == application.created_by_id)
        if user is None or not user.is_active:
            return False  # claimed all the same: nobody to remind
        params = {"application_id": application.id, "path": base_path.format(id=application.id),
                  "days": after.days}
        Notification.queue("email", user.email, "application_reminder", language=user.language, user=user,
                           **params)
        if user.notify_sms:
            Notification.queue("sms", user.phone, "application_reminder", language=user.language, user=user,
                               **params)
    return True


def remind_drafts(after, now=None):
    """Run by the scheduler: remind each draft due. Returns how many reminders this run sent."""
    now = now or utcnow()
    ids = [i for (i,) in Application.select(Application.id).where(_due(now, after)).tuples()]
    return sum(remind_draft(i, now, after) for i in ids)


DECISION_MODELS = [ApplicationDecision]
