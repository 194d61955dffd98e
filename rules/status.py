"""What a status means to the person reading it, so that statuses can be told apart (issue 11).

Every status of a document, a message thread and a notification has one of four meanings:
the next move is the reader's (``ACTION``: waiting for you), the institution's
(``INSTITUTION``: with us), nothing is left to do (``DONE``), or it ended badly (``REFUSED``).
Templates ask ``css_class`` for a status pill's class; static/portal.css gives each meaning a
colour *and* a sign of its own (and the pill always carries the status's words), so colour is
never the only cue.
"""
from rules import documents as D
from rules import finance as F, identification as I, outbox, services as SV

ACTION, INSTITUTION, DONE, REFUSED = "action", "institution", "done", "refused"
MEANINGS = (ACTION, INSTITUTION, DONE, REFUSED)

# A document: the client acts until they submit, while corrections are asked for, and while
# the package waits for agreement and a signature; a question about the package is with us.
DOCUMENT_MEANINGS = {
    D.NEW: ACTION,
    D.PROCESSING: INSTITUTION,
    D.INFO_NEEDED: ACTION,
    D.DRAFT: ACTION,
    D.READY: ACTION,
    D.SIGNING: ACTION,
    D.SIGNED: DONE,
}

# A message thread: waiting for our answer, answered, or answered with a reply not yet read.
THREAD_WAITING, THREAD_ANSWERED, THREAD_UNREAD = "waiting", "answered", "unread"
THREAD_STATUSES = (THREAD_WAITING, THREAD_ANSWERED, THREAD_UNREAD)
THREAD_MEANINGS = {THREAD_WAITING: INSTITUTION, THREAD_ANSWERED: DONE, THREAD_UNREAD: ACTION}

# A notification, as staff read the outbox: one whose outcome is unknown waits for their
# decision; one that could not be sent failed; one never meant to leave is simply done.
NOTIFICATION_MEANINGS = {
    outbox.PENDING: INSTITUTION,
    outbox.SENDING: INSTITUTION,
    outbox.SENT: DONE,
    outbox.UNKNOWN: ACTION,
    outbox.FAILED: REFUSED,
    outbox.NOWHERE: DONE,
}

# An invoice: the client pays until it is paid in full.
INVOICE_MEANINGS = {F.UNPAID: ACTION, F.PARTLY_PAID: ACTION, F.OVERDUE: ACTION, F.PAID: DONE, F.CREDITED: DONE}

# A service the client holds: in force is fine; suspended or past its validity is not.
SERVICE_MEANINGS = {SV.ACTIVE: DONE, SV.ENDED: DONE, SV.SUSPENDED: REFUSED, SV.EXPIRED: REFUSED}

DOCUMENT, THREAD, NOTIFICATION, INVOICE, SERVICE = "document", "thread", "notification", "invoice", "service"
TABLES = {DOCUMENT: DOCUMENT_MEANINGS, THREAD: THREAD_MEANINGS, NOTIFICATION: NOTIFICATION_MEANINGS,
          INVOICE: INVOICE_MEANINGS, SERVICE: SERVICE_MEANINGS}

# A person's identification: theirs to do until it passed, with us while the provider's
# result is awaited; a failed one ended badly (they turn to us to agree what next).
IDENTIFICATION = "identification"
TABLES[IDENTIFICATION] = {I.WAITING: ACTION, I.STARTED: INSTITUTION, I.PASSED: DONE, I.FAILED: REFUSED,
                          I.REPEAT: ACTION, I.IN_PERSON: ACTION, I.SCHEDULED: ACTION}


def meaning(kind, status, question_open=False):
    """The meaning of ``status`` of a ``kind`` (document, thread, notification); a document in
    Ready for signing with the client's question open is with us until we answer it."""
    if kind == DOCUMENT and status == D.READY and question_open:
        return INSTITUTION
    return TABLES[kind][status]


def css_class(kind, status, question_open=False):
    """The classes of a status pill: ``status status--<meaning>``."""
    return f"status status--{meaning(kind, status, question_open)}"


def thread_status(is_waiting, unread=0):
    """A thread's status for its pill: a reply not read yet comes first."""
    if unread:
        return THREAD_UNREAD
    return THREAD_WAITING if is_waiting else THREAD_ANSWERED
