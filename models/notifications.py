"""The outbox: e-mails and SMS written in the same transaction as the change that
causes them, and handed to the job queue after that transaction commits."""
import json
import threading
from contextlib import contextmanager

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from models.accounts import User
from models.base import BaseModel, db, utcnow
from models.runtime import runtime
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
    """An e-mail or SMS to send. Parameters are encrypted and wiped once sent."""

    user = ForeignKeyField(User, null=True, backref="notifications", on_delete="SET NULL")
    channel = CharField()  # email / sms
    recipient = CharField()
    template = CharField()
    language = CharField(default="lv")
    params = TextField(default="")
    status = CharField(default="pending", index=True)  # pending/sending/sent/failed
    attempts = IntegerField(default=0)
    error = TextField(default="")
    created_at = DateTimeField(default=utcnow)
    claimed_at = DateTimeField(null=True)
    sent_at = DateTimeField(null=True)

    @classmethod
    def queue(cls, channel, recipient, template, language="lv", user=None, **params):
        """Write the row inside the caller's ``action()``; it goes to the job queue
        when that action commits (and never if it rolls back)."""
        row = cls.create(user=user, channel=channel, recipient=recipient,
                         template=template, language=language,
                         params=runtime.keys.seal(SEAL_PURPOSE, json.dumps(params)))
        _after_commit(row.id)
        return row

    def opened_params(self):
        """The parameters; ``rules.keys.SealBroken`` when no key opens them any more."""
        return json.loads(runtime.keys.unseal(SEAL_PURPOSE, self.params)) if self.params else {}

    def claim(self):
        """Move pending → sending; False if someone else has it (no double send)."""
        return bool(Notification.update(status="sending", attempts=Notification.attempts + 1,
                                        claimed_at=utcnow())
                    .where(Notification.id == self.id, Notification.status == "pending")
                    .execute())


class DevOutbox(BaseModel):
    """What the development e-mail/SMS backends "delivered": read by staff and tests."""

    channel = CharField()
    recipient = CharField(index=True)
    subject = CharField(default="")
    body = TextField()
    created_at = DateTimeField(default=utcnow)
