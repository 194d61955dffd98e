"""The dashboard: what waits for the person, what waits for the institution (and when it is
due), in counts and a few newest rows — a fixed number of queries however many rows there are.

Whose move it is comes from the rules, never restated here: ``rules.documents.client_must_act``
(the client's side) and the ``waiting`` column, which ``Document.transition`` keeps as
``rules.documents.waits_on_institution``; a thread's answer is due at ``Thread.due_at``, which
``rules.calendar.answer_due`` (or a delay explanation) set. Queries come in already scoped
(``models.scoped``), so an own-items-only colleague counts only their own items.
"""
from dataclasses import dataclass, field

from peewee import fn

from models.accounts import Client
from models.base import utcnow
from models.documents import Document
from models.messages import Thread, recent_unread, waiting_queue
from models.scoping import staff_scope
from rules import documents as R

SHOWN = 5  # rows of each kind the dashboard shows; the rest are behind the list's link
# The open documents counted (the newest, on the client's (client, id) index), so the counts cost
# the same at 50 documents and at 50,000; beyond, the dashboard says "more than".
COUNTED = 1000

CLIENT_SIDE, INSTITUTION_SIDE = "client", "institution"


def document_side(status, question_open, waiting):
    """Whose move a document waits for: the client's, the institution's, or None (nothing
    is left to do, e.g. signed)."""
    if R.client_must_act(status, question_open):
        return CLIENT_SIDE
    return INSTITUTION_SIDE if waiting else None


def _must_act_condition():
    """``client_must_act`` as SQL, built by asking the rule for every status with and without
    an open question (so a change to the rule changes this too)."""
    condition = None
    for status in R.STATUSES:
        without, with_question = R.client_must_act(status, False), R.client_must_act(status, True)
        if without and with_question:
            part = Document.status == status
        elif without or with_question:
            part = (Document.status == status) & (Document.question_open == with_question)
        else:
            continue
        condition = part if condition is None else condition | part
    return condition if condition is not None else Document.id.is_null()


@dataclass
class DocumentSummary:
    """Counts by side and status, and the newest rows of each side."""

    for_client: list = field(default_factory=list)
    for_institution: list = field(default_factory=list)
    client_count: int = 0
    institution_count: int = 0
    client_by_status: dict = field(default_factory=dict)  # status → count, in R.STATUSES order
    capped: bool = False  # COUNTED open documents were counted and there may be more


def documents(query, shown=SHOWN, counted=None):
    """What a scoped query of documents asks of the client and of us: three queries (the
    counts grouped by status over the newest ``counted`` open documents, then the newest rows
    of each side)."""
    summary, counted = DocumentSummary(), counted or COUNTED
    must_act = _must_act_condition()
    open_documents = (query.select(Document.id, Document.status, Document.question_open, Document.waiting)
                      .where(must_act | (Document.waiting == True))  # noqa: E712
                      .order_by(Document.id.desc()).limit(counted).alias("open_documents"))
    columns = open_documents.c
    counts = (Document.select(columns.status, columns.question_open, columns.waiting, fn.COUNT(columns.id))
              .from_(open_documents).group_by(columns.status, columns.question_open, columns.waiting).tuples())
    by_status, total = {}, 0
    for status, question_open, waiting, n in counts:
        total += n
        side = document_side(status, bool(question_open), bool(waiting))
        if side == CLIENT_SIDE:
            summary.client_count += n
            by_status[status] = by_status.get(status, 0) + n
        elif side == INSTITUTION_SIDE:
            summary.institution_count += n
    summary.client_by_status = {s: by_status[s] for s in R.STATUSES if s in by_status}
    summary.capped = total >= counted
    if summary.client_count:
        summary.for_client = list(query.where(must_act)
                                  .order_by(Document.updated_at.desc(), Document.id.desc()).limit(shown))
    if summary.institution_count:
        summary.for_institution = list(query.where(Document.waiting == True, ~must_act)  # noqa: E712
                                       .order_by(Document.submitted_at, Document.id).limit(shown))
    return summary


@dataclass
class ThreadSummary:
    unread: list = field(default_factory=list)  # (thread, unread messages), newest first
    unread_total: int = 0
    waiting: list = field(default_factory=list)  # threads waiting for our answer, earliest due first
    waiting_count: int = 0
    overdue_count: int = 0


def threads(user, query, shown=SHOWN, now=None, unread_total=None):
    """Unread replies (in the most recently active threads, as the header counts them) and the
    threads waiting for our answer with when it is due: at most four queries. ``unread_total``,
    when the caller knows it (the header's kept count), spares the unread query when it is 0."""
    now = now or utcnow()
    summary = ThreadSummary()
    unread = recent_unread(user, query) if unread_total != 0 else {}
    summary.unread_total = sum(unread.values())
    if unread:
        rows = (Thread.select().where(Thread.id.in_(list(unread)))
                .order_by(Thread.last_message_at.desc(), Thread.id.desc()).limit(shown))
        summary.unread = [(t, unread[t.id]) for t in rows]
    waiting = query.where(Thread.waiting_since.is_null(False))
    summary.waiting_count, summary.overdue_count = (
        waiting.select(fn.COUNT(Thread.id), fn.COUNT(Thread.id).filter(Thread.due_at < now)).tuples().get())
    if summary.waiting_count:
        summary.waiting = list(waiting.order_by(Thread.due_at, Thread.waiting_since, Thread.id).limit(shown))
    return summary


@dataclass
class StaffSummary:
    documents_by_status: dict = field(default_factory=dict)  # status → waiting, in queue order
    documents_waiting: int = 0
    oldest_documents: list = field(default_factory=list)
    threads_waiting: int = 0
    threads_overdue: int = 0
    earliest_due: list = field(default_factory=list)


def staff(user, shown=SHOWN, now=None):
    """The staff queues in numbers, and the first rows of each in queue order: four queries,
    on the indexes the queues use; of what ``user`` reaches (``models.scoping.staff_scope``)."""
    now = now or utcnow()
    summary = StaffSummary()
    counts = dict(staff_scope(Document.select(Document.status, fn.COUNT(Document.id)), Document, user)
                  .where(Document.waiting == True).group_by(Document.status).tuples())  # noqa: E712
    summary.documents_by_status = {s: counts[s] for s in R.QUEUE_STATUSES if counts.get(s)}
    summary.documents_by_status.update({s: n for s, n in counts.items() if s not in summary.documents_by_status})
    summary.documents_waiting = sum(counts.values())
    if summary.documents_waiting:
        summary.oldest_documents = list(
            staff_scope(Document.select(Document, Client).join(Client), Document, user)
            .where(Document.waiting == True)  # noqa: E712
            .order_by(Document.status, Document.submitted_at, Document.updated_at, Document.id).limit(shown))
    waiting = staff_scope(Thread.select(), Thread, user).where(Thread.waiting_since.is_null(False))
    summary.threads_waiting, summary.threads_overdue = (
        waiting.select(fn.COUNT(Thread.id), fn.COUNT(Thread.id).filter(Thread.due_at < now)).tuples().get())
    if summary.threads_waiting:
        summary.earliest_due = list(staff_scope(waiting_queue(), Thread, user).limit(shown))
    return summary
