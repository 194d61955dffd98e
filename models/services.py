"""The client's services (FIN-5, FIN-6; issue 15; seeds 000, 002, 003): permits, loans, guarantees and
connections a client holds, a loan's or a guarantee's schedule of instalments, and the
requests a client makes about a service (each one a document of the documents workflow).

A service belongs to a client and is reached through ``models.scoped`` under the membership
right "services". Staff create it, so whose item it is for a colleague limited to own items
is its **assignee** (``OWNER_FIELD``), an optional user of the client: such a colleague sees
only the services assigned to them; a service assigned to nobody is the company's.

Every change here runs inside the caller's ``models.action()``: one transaction.
"""
from peewee import CharField, DateField, DateTimeField, ForeignKeyField, TextField, fn

from models.accounts import Client, Membership, User
from models.base import BaseModel, utcnow
from models.documents import Document
from models.finance import MoneyField
from models.paging import Keyset
from rules import documents as D, finance as F, services as S


class Service(BaseModel):
    """One thing a client holds: a permit, a loan, a guarantee or a connection."""

    OWNER_FIELD = "assignee"  # models.scoping: a colleague limited to own items sees these only

    client = ForeignKeyField(Client, backref="services", on_delete="CASCADE")
    assignee = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")  # staff
    category = CharField(max_length=20)  # rules.services.CATEGORIES
    number = CharField(max_length=50)
    name = CharField(max_length=200, default="")  # a permit's kind, a programme, a plan
    status = CharField(max_length=20, default=S.ACTIVE)
    valid_from = DateField(null=True)
    valid_until = DateField(null=True)
    amount = MoneyField(null=True)  # loans and guarantees
    currency = CharField(max_length=3, default=F.CURRENCY)
    note = TextField(default="")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("client", "id"), False),  # the client's list, a page at a time
                   (("client", "category", "number"), True))  # a number names one service of a kind

    @property
    def category_label(self):
        return S.CATEGORY_LABELS.get(self.category, self.category)

    @property
    def name_label(self):
        return S.NAME_LABELS.get(self.category, S.NAME_LABELS[S.PERMIT])

    @property
    def has_amount(self):
        return S.has_amount(self.category)

    def shown_status(self, today):
        return S.shown_status(self.status, self.valid_until, today)

    def schedule(self):
        return list(self.instalments.order_by(Instalment.due_on))

    def requests(self):
        """The requests about this service, newest first, each with its document."""
        return list(ServiceRequest.select(ServiceRequest, Document).join(Document)
                    .where(ServiceRequest.service == self).order_by(ServiceRequest.id.desc()))

    @classmethod
    def save_from(cls, service, client, by, values, schedule):
        """Create (``service`` None) or change a service with ``values`` (the form's columns)
        and replace its schedule (``[(date, Decimal), …]``; none for a category without one),
        inside the caller's ``action()``. The assignee must be a live member of the client,
        else nobody."""
        values = dict(values)
        assignee = values.pop("assignee", None)
        if assignee is not None and not Membership.select().where(
                Membership.user == assignee, Membership.client == client,
                Membership.revoked_at.is_null()).exists():
            assignee = None
        if not S.has_amount(values.get("category")):
            values["amount"], schedule = None, []
        if service is None:
            service = cls.create(client=client, created_by=by, assignee=assignee, **values)
        else:
            cls.update(assignee=assignee, updated_at=utcnow(), **values).where(cls.id == service.id).execute()
            service = cls.get_by_id(service.id)
        Instalment.delete().where(Instalment.service == service).execute()
        if schedule:
            Instalment.insert_many([{"service": service.id, "due_on": due, "amount": amount}
                                    for due, amount in schedule]).execute()
        return service


class Instalment(BaseModel):
    """One line of a loan's or a guarantee's schedule: a due date and an amount."""

    service = ForeignKeyField(Service, backref="instalments", on_delete="CASCADE")
    due_on = DateField()
    amount = MoneyField()

    class Meta:
        indexes = ((("service", "due_on"), True),)


class ServiceRequest(BaseModel):
    """A client's request about a service (extend a permit, change a plan, repay early …): the
    link between the service and the document that carries it through its statuses."""

    service = ForeignKeyField(Service, backref="request_rows", on_delete="CASCADE")
    document = ForeignKeyField(Document, unique=True, backref="+", on_delete="CASCADE")
    kind = CharField(max_length=30)  # rules.services.REQUEST_KINDS
    created_at = DateTimeField(default=utcnow)

    @property
    def kind_label(self):
        return S.REQUEST_LABELS.get(self.kind, self.kind)

    @classmethod
    def submit(cls, service, kind, details, by):
        """Start the request's document and submit it (status "In processing"), inside the
        caller's ``action()``; the document's table and history do the rest. Raises
        ``models.documents.TransitionRefused`` when the documents workflow refuses."""
        document = Document.start(service.client, S.REQUEST_DOCUMENT_TYPE, by)
        values = {"service": f"{service.category_label} {service.number}", "request": kind, "details": details}
        document.transition(D.SUBMIT, by=by, values=values)
        return cls.create(service=service, document=document, kind=kind)


# The client's list, newest first.
LIST_ORDER = Keyset(Service.id)


def summary(query, today, shown=5):
    """The dashboard's services item: how many, and the newest few, each with the status the
    client is told (``status_shown``, ``status_label``): two queries."""
    count = query.select(fn.COUNT(Service.id)).scalar() or 0
    rows = list(query.order_by(Service.id.desc()).limit(shown)) if count else []
    for row in rows:
        row.status_shown = row.shown_status(today)
        row.status_label = S.STATUS_LABELS[row.status_shown]
    return {"count": count, "rows": rows}


SERVICE_MODELS = [Service, Instalment, ServiceRequest]
