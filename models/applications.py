"""Onboarding applications (seed 004 §3–4): what a client asks for, the form as saved, its
stages. The stage table is ``rules.onboarding.stages``; what later steps (identification,
signing, the fee, decisions) record per stage goes into ``progress``, which the task list reads.
"""
from peewee import CharField, DateTimeField, ForeignKeyField

from models.accounts import Client, User
from models.audit import AuditLog
from models.base import BaseModel, JSONField, utcnow
from models.files import StoredFile
from models.notifications import action
import rules
from rules import onboarding as O


class ApplicationRefused(Exception):
    """An application change the rules do not allow (e.g. editing one already submitted)."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class Application(BaseModel):
    """One onboarding application of a client: a draft until submitted (``status``)."""

    client = ForeignKeyField(Client, backref="applications", on_delete="CASCADE")
    created_by = ForeignKeyField(User, backref="applications", on_delete="CASCADE")
    kind = CharField()  # the client's kind when the application was started (rules.NATURAL/LEGAL)
    services = JSONField(empty=list)  # service codes, in the table's order
    data = JSONField()  # the form's answers as typed (text, flags, lists of group entries)
    status = CharField(default=O.DRAFT, index=True)
    # What later steps record per stage code (rules.onboarding.stage_statuses reads it).
    progress = JSONField()
    id_document = ForeignKeyField(StoredFile, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    submitted_at = DateTimeField(null=True)
    # A service added later (seed 004 §12): the application whose answers it started from.
    parent = ForeignKeyField("self", null=True, backref="added_services", on_delete="SET NULL")
    # The current stage's code, as ``models.decisions.refresh_stage`` last computed it: a
    # copy of what the stage table says, kept so the staff list filters by stage in SQL.
    stage = CharField(max_length=20, default=O.INITIAL, index=True)
    # When the last save-and-return reminder of this draft went (``models.decisions.remind_drafts``).
    reminded_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("client", "status"), False),)

    # --- What the rules say about it ---

    @property
    def stages(self):
        return O.stages(self.kind, self.services)

    @property
    def stage_statuses(self):
        return O.stage_statuses(self.stages, self.status, bool(self.data), self.progress_now)

    @property
    def progress_now(self):
        """What later steps recorded (``progress``) with what the portal's documents, invoices
        and decisions say of stages 3, 4 and 6 (``models.decisions.derived_progress``), read
        once per object: views call it before rendering, so templates run no queries."""
        if getattr(self, "_progress_now", None) is None:
            from models.decisions import derived_progress
            self._progress_now = {**(self.progress or {}), **derived_progress(self)}
        return self._progress_now

    @property
    def current_stage(self):
        return O.current_stage(self.stage_statuses)

    @property
    def shape(self):
        return O.form_shape(self.kind, self.services)

    @property
    def is_draft(self):
        return self.status == O.DRAFT

    @property
    def status_label(self):
        return O.APPLICATION_STATUS_LABELS[self.status]

    @property
    def service_labels(self):
        return [O.SERVICE_LABELS[s] for s in self.services]

    # --- State changes, one transaction each ---

    @classmethod
    def start(cls, client, user, services, ip="", user_agent=""):
        """A new draft for ``services`` (which must fit the client's kind)."""
        from models.admin import offered_services  # models.admin imports nothing of this module's
        services = O.ordered(client.kind, services)
        if not O.valid_services(client.kind, services) or not set(services) <= set(offered_services(client.kind)):
            raise ApplicationRefused(O.STAGE_LABELS[O.INITIAL])
        with action():
            application = cls.create(client=client, created_by=user, kind=client.kind, services=services)
            AuditLog.record("application.start", user=user, ip=ip, user_agent=user_agent,
                            application=application.id, services=services)
        return application

    def save_draft(self, data, services=None, user=None):
        """Keep what was typed (a draft to continue later), and the services if changed."""
        if not self.is_draft:
            raise ApplicationRefused(O.APPLICATION_STATUS_LABELS[self.status])
        values = {"data": data, "updated_at": utcnow()}
        if services is not None:
            services = O.ordered(self.kind, services)
            if not O.valid_services(self.kind, services):
                raise ApplicationRefused(O.STAGE_LABELS[O.INITIAL])
            values["services"] = services
        with action():
            # Conditional on still being a draft: a save racing the submit never edits a submitted one.
            changed = Application.update(**values).where(
                Application.id == self.id, Application.status == O.DRAFT).execute()
            if not changed:
                raise ApplicationRefused(O.APPLICATION_STATUS_LABELS[O.SUBMITTED])
        for name, value in values.items():
            setattr(self, name, value)

    def attach_id_document(self, stored_file):
        """The ID-document copy (call inside the upload's transaction)."""
        if not self.is_draft:
            raise ApplicationRefused(O.APPLICATION_STATUS_LABELS[self.status])
        Application.update(id_document=stored_file, updated_at=utcnow()).where(
            Application.id == self.id).execute()
        self.id_document = stored_file

    def submit(self, data, user, ip="", user_agent=""):
        """Submit the checked answers: one transaction with its audit row. Submitting twice
        (a second click) finds it submitted and changes nothing."""
        now = utcnow()
        with action():
            changed = Application.update(data=data, status=O.SUBMITTED, submitted_at=now, updated_at=now).where(
                Application.id == self.id, Application.status == O.DRAFT).execute()
            if not changed:
                raise ApplicationRefused(O.APPLICATION_STATUS_LABELS[O.SUBMITTED])
            AuditLog.record("application.submit", user=user, ip=ip, user_agent=user_agent,
                            application=self.id, services=self.services)
            self.data, self.status, self.submitted_at, self.updated_at = data, O.SUBMITTED, now, now
            from models.decisions import refresh_stage
            refresh_stage(self)


def latest_of(query):
    """The newest application of a (scoped) query, or None: the dashboard shows that one."""
    return query.order_by(Application.created_at.desc(), Application.id.desc()).first()


APPLICATION_MODELS = [Application]


def personal_managers():
    """(id, name) of the institution's active staff, whom a client may name as personal manager."""
    query = (User.select(User.id, User.full_name, User.email)
             .where(User.staff_role.in_(rules.STAFF_ROLES), User.disabled_at.is_null())
             .order_by(User.full_name, User.id))
    return [(str(u.id), u.full_name or u.email) for u in query]
