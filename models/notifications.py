"""The outbox: e-mails and SMS written in the same transaction as the change that
causes them, and handed to the job queue after that transaction commits."""
import json
import threading
from contextlib import contextmanager
from datetime import timedelta

from peewee import JOIN, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField, fn

from models.accounts import Membership, User
from models.base import BaseModel, db, utcnow
from models.paging import Keyset
from models.runtime import runtime
from rules import outbox
SEAL_PURPOSE = "notification-params"


# --- After the commit: the one way notifications reach the job queue -------------------------

_pending = threading.local()


@contextmanager
def action():
    """One user action: one transaction; the notifications it queued are handed to the
    job queue (``runtime.enqueue``) after it commits. Nested actions join the outer one.

    A notification queued outside any action waits for the scheduler's sweep."""
    outer = getattr(_pending, "ids", None) is None
    if outer:
        _pending.ids = []
    try:
        with db.atomic():
            yield
    except BaseException:
        if outer:
            _pending.ids = None
        raise
    if outer:
        ids, _pending.ids = _pending.ids, None
        for notification_id in ids:
            runtime.enqueue(notification_id)


def _after_commit(notification_id):
    ids = getattr(_pending, "ids", None)
    if ids is not None:
        ids.append(notification_id)


class Notification(BaseModel):
    """An e-mail or SMS to send. Parameters are encrypted, and wiped once they are no longer
    needed. The states and their rules are in ``rules.outbox``; every change of state here
    is one conditional UPDATE, so two jobs (or a job and the sweep) never both win."""

    user = ForeignKeyField(User, null=True, backref="notifications", on_delete="SET NULL")
    channel = CharField()  # email / sms
    recipient = CharField()
    template = CharField()
    language = CharField(default="lv")
    params = TextField(default="")
    status = CharField(default=outbox.PENDING, index=True)  # rules.outbox.STATUSES
    attempts = IntegerField(default=0)
    error = TextField(default="")
    created_at = DateTimeField(default=utcnow)
    claimed_at = DateTimeField(null=True)
    handed_over_at = DateTimeField(null=True)
    next_attempt_at = DateTimeField(null=True)
    sent_at = DateTimeField(null=True)
    resolved_at = DateTimeField(null=True)
    resolved_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")

    @classmethod
    def queue(cls, channel, recipient, template, language="lv", user=None, **params):
        """Write the row inside the caller's ``action()``; it goes to the job queue
        when that action commits (and never if it rolls back)."""
        return cls._write(outbox.PENDING, channel, recipient, template, language, user, params)

    @classmethod
    def queue_nowhere(cls, channel, recipient, template, language="lv", **params):
        """What ``queue`` does — seal the parameters, write the row, hand it to the job queue
        after the commit — for a message that must not leave: the row is born ``nowhere``,
        keeps no parameters, and its job finds nothing to claim. Answering someone who named
        no account then costs what answering an account holder does."""
        return cls._write(outbox.NOWHERE, channel, recipient, template, language, None, params)

    @classmethod
    def _write(cls, status, channel, recipient, template, language, user, params):
        sealed = runtime.keys.seal(SEAL_PURPOSE, json.dumps(params))  # sealed either way: equal work
        row = cls.create(user=user, channel=channel, recipient=recipient, template=template,
                         language=language, status=status, params=sealed if status == outbox.PENDING else "")
        _after_commit(row.id)
        return row

    def opened_params(self):
        """The parameters; ``rules.keys.SealBroken`` when no key opens them any more."""
        return json.loads(runtime.keys.unseal(SEAL_PURPOSE, self.params)) if self.params else {}

    def delivery_key(self):
        """The same for every attempt at this notification, different in every deployment:
        the e-mail's Message-ID and the SMS idempotency key are built from it, so the
        receiving side can drop a second copy."""
        return runtime.keys.mac("notification-delivery", f"{runtime.namespace}:{self.id}")[:32]

    @property
    def can_send_again(self):
        """Staff may send it again: it is not on its way, and its parameters are still here."""
        return self.status in outbox.NEEDS_ATTENTION and bool(self.params)

    # --- The job's steps (each returns whether this attempt still owns the row) ------------

    def claim(self, now=None):
        """pending → sending when due; the attempt number, or None if someone else has it,
        or it is not due yet (a back-off)."""
        now = now or utcnow()
        won = (Notification.update(status=outbox.SENDING, attempts=Notification.attempts + 1,
                                   claimed_at=now, handed_over_at=None)
               .where(Notification.id == self.id, Notification.status == outbox.PENDING,
                      (Notification.next_attempt_at.is_null()) | (Notification.next_attempt_at <= now))
               .execute())
        if not won:
            return None
        return Notification.select(Notification.attempts).where(Notification.id == self.id).scalar()

    def _mine(self, attempt, *statuses):
        return ((Notification.id == self.id) & (Notification.attempts == attempt)
                & Notification.status.in_(statuses or (outbox.SENDING,)))

    def record_handover(self, attempt):
        """Written just before the message leaves: from now on it is never sent again by
        itself. False if the sweep took the row back meanwhile (then do not send)."""
        return bool(Notification.update(handed_over_at=utcnow())
                    .where(self._mine(attempt)).execute())

    def finish_sent(self, attempt):
        """The server or gateway took it. Also corrects an "unknown" the sweep set while a
        slow answer was still on its way."""
        return bool(Notification.update(status=outbox.SENT, sent_at=utcnow(), params="", error="")
                    .where(self._mine(attempt, outbox.SENDING, outbox.UNKNOWN)).execute())

    def finish_unknown(self, attempt, error):
        """Handed over, no answer: it may have arrived. Staff decide (never sent again by itself)."""
        return bool(Notification.update(status=outbox.UNKNOWN, error=error[:500], **self._wipe_unless_kept())
                    .where(self._mine(attempt)).execute())

    def retry_later(self, attempt, error, permanent=False, now=None):
        """Not handed over (or refused): pending again after a back-off, or failed for good.
        Returns the new status, or None if the row was no longer this attempt's."""
        now = now or utcnow()
        if outbox.gives_up(attempt, permanent):
            changes = {"status": outbox.FAILED, **self._wipe_unless_kept()}
        else:
            changes = {"status": outbox.PENDING, "next_attempt_at": now + outbox.retry_delay(attempt)}
        won = Notification.update(error=error[:500], **changes).where(self._mine(attempt)).execute()
        return changes["status"] if won else None

    def _wipe_unless_kept(self):
        return {} if outbox.after_giving_up_keeps_params(self.template) else {"params": ""}

    # --- The sweep and staff ---------------------------------------------------------------

    @classmethod
    def recover_abandoned(cls, now=None, lease_seconds=outbox.CLAIM_LEASE_SECONDS):
        """Rows whose job died (claimed longer ago than the lease): never handed over →
        pending again (or failed when out of attempts); handed over → unknown.
        Returns (requeued, failed, unknown) counts."""
        now = now or utcnow()
        stale = (cls.status == outbox.SENDING) & (cls.claimed_at < now - timedelta(seconds=lease_seconds))
        never_sent = stale & cls.handed_over_at.is_null()
        requeued = (cls.update(status=outbox.PENDING, next_attempt_at=now,
                               error="interrupted before the hand-over; sent again")
                    .where(never_sent, cls.attempts < outbox.MAX_ATTEMPTS).execute())
        failed = unknown = 0
        for row in cls.select().where(stale):
            wipe = row._wipe_unless_kept()
            if row.handed_over_at is None:
                failed += (cls.update(status=outbox.FAILED, error="interrupted before the hand-over, "
                                      "attempts used up", **wipe)
                           .where(cls.id == row.id, cls.status == outbox.SENDING,
                                  cls.attempts == row.attempts).execute())
            else:
                unknown += (cls.update(status=outbox.UNKNOWN, error="interrupted after the hand-over: "
                                       "it may or may not have arrived", **wipe)
                            .where(cls.id == row.id, cls.status == outbox.SENDING,
                                   cls.attempts == row.attempts).execute())
        return requeued, failed, unknown

    @classmethod
    def due(cls, now=None, settle_seconds=outbox.SETTLE_SECONDS):
        """Pending rows to queue: retries whose back-off is over, and fresh rows whose own
        action did not manage to queue them (after a short settling time)."""
        now = now or utcnow()
        return cls.select(cls.id).where(
            cls.status == outbox.PENDING,
            (cls.next_attempt_at <= now)
            | (cls.next_attempt_at.is_null() & (cls.created_at < now - timedelta(seconds=settle_seconds))))

    @classmethod
    def needing_attention(cls):
        return (cls.select().where(cls.status.in_(outbox.NEEDS_ATTENTION), cls.resolved_at.is_null())
                .order_by(cls.created_at.desc(), cls.id.desc()))

    def resolve(self, decision, by):
        """Staff settle a failed or unknown row: ``send_again`` (pending, attempts afresh),
        ``delivered`` (the person confirmed it arrived; unknown rows only) or ``close``.
        False if the row is no longer waiting for a decision."""
        now = utcnow()
        waiting = ((Notification.id == self.id) & Notification.status.in_(outbox.NEEDS_ATTENTION)
                   & Notification.resolved_at.is_null())
        if decision == "send_again":
            changes = {"status": outbox.PENDING, "attempts": 0, "next_attempt_at": None,
                       "handed_over_at": None, "error": ""}
            waiting &= Notification.params != ""
        elif decision == "delivered":
            changes = {"status": outbox.SENT, "sent_at": now, "params": "",
                       "resolved_at": now, "resolved_by": by}
            waiting &= Notification.status == outbox.UNKNOWN
        elif decision == "close":
            changes = {"params": "", "resolved_at": now, "resolved_by": by}
        else:
            raise ValueError(decision)
        won = bool(Notification.update(**changes).where(waiting).execute())
        if won and decision == "send_again":
            _after_commit(self.id)
        return won


def security_notice(user, template, **params):
    """A security notice to the person (issue 12: a sign-in from a new device, the second factor
    or a passkey changed, e-identity linked or unlinked, the e-mail or phone changed): by e-mail,
    and a copy by SMS to the account's phone, whatever the person's channel choices (a notice
    about their own account is no marketing). Every account's phone was confirmed with a code
    (registration, a change of phone), or given by the administrator who made a staff account.
    Call inside the caller's ``action()``; the rows written."""
    rows = [Notification.queue("email", user.email, template, language=user.language, user=user, **params)]
    if user.phone:
        rows.append(Notification.queue("sms", user.phone, template, language=user.language, user=user, **params))
    return rows


class DevOutbox(BaseModel):
    """What the development e-mail/SMS backends "delivered": read by staff and tests."""

    channel = CharField()
    recipient = CharField(index=True)
    subject = CharField(default="")
    body = TextField()
    created_at = DateTimeField(default=utcnow)


def notification_log(search="", client_id=None, status="", template=""):
    """Every e-mail and SMS written for a person (never the ``nowhere`` rows, which answer
    strangers), for the staff notification log, with the user each went to: filtered by a
    piece of the recipient's address (or the user's e-mail or phone), a client whose user it
    went to, a status and a template. Unordered: ``notification_log_order`` pages it."""
    query = (Notification.select(Notification, User).join(User, join_type=JOIN.LEFT_OUTER,
                                                          on=(Notification.user == User.id))
             .where(Notification.status != outbox.NOWHERE))
    if search:
        needle = search.lower()
        query = query.where(fn.LOWER(Notification.recipient).contains(needle)
                            | fn.LOWER(User.email).contains(needle) | User.phone.contains(needle))
    if client_id is not None:
        query = query.where(Notification.user.in_(Membership.select(Membership.user)
                                                  .where(Membership.client == client_id)))
    if status:
        query = query.where(Notification.status == status)
    if template:
        query = query.where(Notification.template == template)
    return query


NOTIFICATION_LOG_ORDER = Keyset(Notification.created_at, Notification.id)


def outbox_figures(now=None):
    """For monitoring (``/health/ready``, ``/metrics``): how many rows are in each status, and the
    age of the oldest pending one (None when nothing is pending)."""
    from peewee import fn
    now = now or utcnow()
    counts = {status: 0 for status in outbox.STATUSES}
    for status, count in (Notification.select(Notification.status, fn.COUNT(Notification.id))
                          .group_by(Notification.status).tuples()):
        counts[status] = count
    oldest = (Notification.select(fn.MIN(Notification.created_at))
              .where(Notification.status == outbox.PENDING).scalar())
    if isinstance(oldest, str):  # SQLite answers an aggregate's datetime as text
        from datetime import datetime
        oldest = datetime.fromisoformat(oldest)
    return counts, (now - oldest if oldest is not None else None)
