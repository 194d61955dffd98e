"""Messages (issue 4): threads between a client and the institution.

A ``Thread`` belongs to a client and is reached only through ``models.scoped``
(permission "messages"; own-items-only colleagues see the threads they started).
Its service-promise clock lives on the row: ``waiting_since`` is set by the
first client message nobody has answered yet, with ``due_at`` (one working day)
and ``ack_due_at`` (when an acknowledgement goes out); a staff reply clears it,
a delay explanation moves ``due_at``.

The id of each thread's newest message is also kept in Redis
(``publish_last_message``), written after the commit of every new message, so
that a poll that finds nothing new is answered without the database. The header's
unread count is kept there too (``kept_unread_total``), until a new message for the
client (``publish_new_message``) or a read mark of the user's that moves makes it stale.
"""
import hashlib
import logging

from peewee import (JOIN, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, SmallIntegerField,
                    TextField, fn)
from redis.exceptions import RedisError

from models.accounts import Client, Membership, User
from models.base import BaseModel, scoped_nonce, utcnow
from models.files import StoredFile
from models.notifications import Notification
from models.paging import Keyset
from models.runtime import runtime
from models.scoping import staff_scope
import rules
from rules import CLIENT, STAFF, SYSTEM, calendar  # noqa: F401  (CLIENT, STAFF: message kinds)
from rules.polling import CLOCK_SKEW_SECONDS, POINTER_TRUST_SECONDS

log = logging.getLogger(__name__)
ABOUT_KINDS = ("application", "document")
ACKNOWLEDGEMENT = "acknowledgement"


class Thread(BaseModel):
    """A conversation between a client and the institution."""

    client = ForeignKeyField(Client, backref="threads", on_delete="CASCADE")
    created_by = ForeignKeyField(User, null=True, backref="threads", on_delete="SET NULL")
    subject = CharField(max_length=200, default="")
    # What the thread is about: no foreign key, the target tables belong to other areas.
    about_kind = CharField(max_length=20, null=True)
    about_id = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow)
    last_message_at = DateTimeField(default=utcnow, index=True)
    waiting_since = DateTimeField(null=True, index=True)
    due_at = DateTimeField(null=True)
    ack_due_at = DateTimeField(null=True)
    acknowledged_at = DateTimeField(null=True)
    delay_explained_at = DateTimeField(null=True)
    answered_at = DateTimeField(null=True)
    # Passed to a competent colleague (seed 001 §2; ``models.staff.route``), with a note for them.
    assigned_to = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL", index=True)
    assigned_note = TextField(default="")

    class Meta:
        indexes = ((("client", "last_message_at", "id"), False),  # the client's threads (THREAD_ORDER)
                   (("waiting_since", "last_message_at", "id"), False))  # answered ones, for staff

    @property
    def is_waiting(self):
        return self.waiting_since is not None

    def is_overdue(self, now=None):
        return self.is_waiting and self.due_at is not None and self.due_at < (now or utcnow())

    def messages_with_authors(self):
        """The thread's messages with their authors, unordered (pages order them: MESSAGE_ORDER)."""
        return (Message.select(Message, User).join(User, on=(Message.author == User.id), join_type=JOIN.LEFT_OUTER)
                .where(Message.thread == self))

    def messages_after(self, after_id=0, limit=None):
        query = self.messages_with_authors().where(Message.id > after_id).order_by(Message.id)
        return query.limit(limit) if limit else query

    def latest_message_id(self):
        return (Message.select(fn.MAX(Message.id)).where(Message.thread == self).scalar()) or 0

    # --- writing ------------------------------------------------------------------------

    def add_message(self, kind, author=None, body="", files=(), now=None, nonce=None):
        """A new message and its attachments; starts or ends the service-promise clock.

        ``nonce`` is the sending form's one-time value: a second message with it raises
        ``IntegrityError`` (the form was sent twice; ``Message.sent_with`` finds the first).
        Call inside ``db.atomic()``; publish the id (``publish_last_message``) after it.
        """
        now = now or utcnow()
        message = Message.create(thread=self, kind=kind, author=author, body=body, created_at=now,
                                 nonce=scoped_nonce(f"author:{getattr(author, 'id', author)}", nonce))
        for stored in files:
            MessageAttachment.create(message=message, file=stored)
        changes = {Thread.last_message_at: now}
        if kind == CLIENT and self.waiting_since is None:
            changes.update({Thread.waiting_since: now, Thread.due_at: calendar.answer_due(now),
                            Thread.ack_due_at: calendar.acknowledgement_due(now),
                            Thread.acknowledged_at: None, Thread.delay_explained_at: None})
        elif kind == STAFF:
            changes.update({Thread.waiting_since: None, Thread.due_at: None, Thread.ack_due_at: None,
                            Thread.answered_at: now})
        Thread.update(changes).where(Thread.id == self.id).execute()
        for field, value in changes.items():
            setattr(self, field.name, value)
        if author is not None:
            self.mark_read(author, message.id)
        return message

    def explain_delay(self, author, body, new_due_at, now=None):
        """A staff reply that explains why the answer is late and promises a new time.

        The thread keeps waiting (it is not answered yet) with the new due time.
        """
        now = now or utcnow()
        message = Message.create(thread=self, kind=STAFF, author=author, body=body, created_at=now,
                                 is_delay_notice=True)
        changes = {Thread.last_message_at: now, Thread.due_at: new_due_at,
                   Thread.delay_explained_at: now}
        if self.waiting_since is None:
            changes[Thread.waiting_since] = now
        Thread.update(changes).where(Thread.id == self.id).execute()
        for field, value in changes.items():
            setattr(self, field.name, value)
        self.mark_read(author, message.id)
        return message

    def acknowledge(self, now=None):
        """The automatic acknowledgement, once per waiting period; None if not (or no longer) due.

        The conditional update is the guard: two jobs racing write one message.
        """
        now = now or utcnow()
        claimed = (Thread.update(acknowledged_at=now)
                   .where(Thread.id == self.id, Thread.waiting_since.is_null(False),
                          Thread.acknowledged_at.is_null(), Thread.ack_due_at <= now)
                   .execute())
        if not claimed:
            return None
        fresh = Thread.get_by_id(self.id)
        message = Message.create(thread=self, kind=SYSTEM, system_code=ACKNOWLEDGEMENT,
                                 system_due_at=fresh.due_at, created_at=now)
        Thread.update(last_message_at=now).where(Thread.id == self.id).execute()
        self.acknowledged_at, self.due_at = now, fresh.due_at
        return message

    def mark_read(self, user, message_id):
        """Remember the newest message ``user`` has seen here (never moves backwards). Writes
        only when the mark moves: a thread opened again with nothing new costs one read.
        Returns True when the mark moved."""
        mark = (ThreadRead.select(ThreadRead.last_read_id)
                .where(ThreadRead.thread == self, ThreadRead.user == user).scalar())
        if mark is not None and mark >= message_id:
            return False
        if mark is None:
            ThreadRead.insert(thread=self, user=user, last_read_id=message_id).on_conflict_ignore().execute()
        # Also after the insert: another request of the user's may have made the row first.
        (ThreadRead.update(last_read_id=message_id)
         .where(ThreadRead.thread == self, ThreadRead.user == user, ThreadRead.last_read_id < message_id).execute())
        # The user's kept unread counts are stale now. (Inside a transaction this runs before
        # the commit; the callers that write one, for a new message, publish it after the commit,
        # which makes them stale again: publish_new_message.)
        _move_stamp(_reads_stamp_key(getattr(user, "id", user)))
        return True

    # --- who hears about it -----------------------------------------------------------------

    def client_recipients(self):
        """Client users who may read this thread (live membership with the messages right)."""
        members = (Membership.select(Membership, User).join(User)
                   .where(Membership.client == self.client_id, Membership.revoked_at.is_null(),
                          Membership.can_messages == True, User.disabled_at.is_null()))  # noqa: E712
        return [m.user for m in members
                if not m.own_items_only or m.user_id == self.created_by_id]

    def queue_reply_notifications(self):
        """E-mails saying a reply is waiting in the cabinet: a link only, never the text
        (MSG-2: e-mail is not protected). Call inside the reply's transaction."""
        return [Notification.queue("email", u.email, "message_reply", language=u.language, user=u,
                                   thread_id=self.id)
                for u in self.client_recipients() if u.notify_email]

    def queue_acknowledgement_notifications(self):
        """E-mails that the message was received and when to expect the answer."""
        due = calendar.to_local(self.due_at).strftime("%d.%m.%Y %H:%M") if self.due_at else ""
        return [Notification.queue("email", u.email, "message_received", language=u.language, user=u,
                                   thread_id=self.id, due=due)
                for u in self.client_recipients() if u.notify_email]


Thread.add_index(Thread.index(Thread.due_at, Thread.waiting_since, Thread.id, name="thread_waiting_due",
                              where=Thread.waiting_since.is_null(False)))  # the staff queue (waiting_queue)


class Message(BaseModel):
    """One message: by a client user, a staff member, or the system (acknowledgement)."""

    thread = ForeignKeyField(Thread, backref="messages", on_delete="CASCADE")
    kind = CharField(max_length=10)  # client / staff / system
    author = ForeignKeyField(User, null=True, backref="messages", on_delete="SET NULL")
    body = TextField(default="")  # plain text; shown only through sanitize.plain_text_to_html
    is_delay_notice = BooleanField(default=False)
    system_code = CharField(max_length=30, null=True)
    system_due_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    nonce = CharField(max_length=64, null=True, unique=True)  # one message per form sent, however often

    class Meta:
        indexes = ((("thread", "id"), False),)  # a thread's page of messages, its unread ones

    @classmethod
    def sent_with(cls, nonce, author):
        """The message ``author`` already sent with this form (``nonce``), or None."""
        if not nonce:
            return None
        return cls.get_or_none(cls.nonce == scoped_nonce(f"author:{getattr(author, 'id', author)}", nonce),
                               cls.author == author)

    def author_label(self):
        """Staff replies come from named people (MSG-5)."""
        if self.kind == STAFF and self.author is not None:
            return self.author.full_name or None
        if self.kind == CLIENT and self.author is not None:
            return self.author.display_name
        return None


class MessageAttachment(BaseModel):
    message = ForeignKeyField(Message, backref="attachments", on_delete="CASCADE")
    file = ForeignKeyField(StoredFile, backref="message_attachments", on_delete="CASCADE")


class ThreadRead(BaseModel):
    """The newest message a user has seen in a thread: unread counts come from it."""

    thread = ForeignKeyField(Thread, backref="reads", on_delete="CASCADE")
    user = ForeignKeyField(User, backref="thread_reads", on_delete="CASCADE")
    last_read_id = IntegerField(default=0)

    class Meta:
        indexes = ((("thread", "user"), True),)


class ThreadRating(BaseModel):
    """The client's rating of how a thread was handled (MSG-11): 1–5 and a comment."""

    thread = ForeignKeyField(Thread, backref="ratings", unique=True, on_delete="CASCADE")
    user = ForeignKeyField(User, null=True, backref="thread_ratings", on_delete="SET NULL")
    score = SmallIntegerField()
    comment = TextField(default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("created_at", "id"), False),)  # the ratings, newest first (RATING_ORDER)


MESSAGE_MODELS = [Thread, Message, MessageAttachment, ThreadRead, ThreadRating]

# Newest first, a page at a time (models.paging): threads by their last message, then id;
# a thread's messages and the ratings by when they were written.
THREAD_ORDER = Keyset(Thread.last_message_at, Thread.id)
MESSAGE_ORDER = Keyset(Message.id)
RATING_ORDER = Keyset(ThreadRating.created_at, ThreadRating.id)


# --- Queries -----------------------------------------------------------------------------

def _unread(user, threads):
    """(thread id, unread messages) for each of ``threads`` (a query selecting thread ids):
    the messages from others after the user's read mark. Counted per thread in a subquery
    whose bounds are known before it runs (the thread, the mark), so the index on (thread,
    id) reads only the unread messages, however long the thread and whatever the planner
    guesses about the join."""
    shown = threads.alias("shown")
    read, message = ThreadRead.alias(), Message.alias()
    mark = fn.COALESCE(read.select(read.last_read_id).where(read.thread == shown.c.id, read.user == user.id), 0)
    unread = message.select(fn.COUNT(message.id)).where(
        message.thread == shown.c.id, message.id > mark, message.author.is_null() | (message.author != user.id))
    return Thread.select(shown.c.id, unread).from_(shown).tuples()


def unread_counts(user, thread_ids):
    """{thread id: unread messages} for the given threads, those with any (one query)."""
    if not thread_ids:
        return {}
    threads = Thread.select(Thread.id).where(Thread.id.in_(list(thread_ids)))
    return {thread_id: n for thread_id, n in _unread(user, threads) if n}


def recent_unread(user, threads_query, recent=rules.UNREAD_RECENT_THREADS):
    """{thread id: unread messages} in the ``recent`` most recently active threads of a
    (scoped) query, those with any: the threads ``unread_total`` counts, one query."""
    newest = (threads_query.select(Thread.id)
              .order_by(Thread.last_message_at.desc(), Thread.id.desc()).limit(recent))
    return {thread_id: n for thread_id, n in _unread(user, newest) if n}


def unread_total(user, threads_query, recent=rules.UNREAD_RECENT_THREADS):
    """Unread messages in the ``recent`` most recently active threads of a (scoped) query,
    in one query whose cost does not grow with the number of threads. A message puts its
    thread at the top when it comes, so an unread one is left out only once ``recent``
    other threads have had a message since."""
    newest = (threads_query.select(Thread.id)
              .order_by(Thread.last_message_at.desc(), Thread.id.desc()).limit(recent))
    return sum(n for _thread_id, n in _unread(user, newest))


# The header's unread count, kept in Redis: counted again only when something it counts may have
# changed. Two stamps move: the client's on every new message in its threads (publish_new_message,
# after the commit) and the user's whenever one of their read marks moves (Thread.mark_read). A kept
# count carries the stamps it was counted at and stands only while both are unchanged, and for
# UNREAD_KEPT_SECONDS at most (a Redis restored from an older snapshot brings back older stamps with
# their older counts: such a count is wrong for that long at most).
UNREAD_KEPT_SECONDS = 300
STAMP_SECONDS = 86400  # far longer than a kept count, so a stamp never comes back to an old value in time


def _client_stamp_key(client_id):
    return f"{runtime.namespace}:client:{int(client_id)}:messages"


def _reads_stamp_key(user_id):
    return f"{runtime.namespace}:user:{int(user_id)}:reads"


def _move_stamp(key):
    try:
        with _redis().pipeline(transaction=False) as pipe:
            pipe.incr(key).expire(key, STAMP_SECONDS).execute()
    except RedisError:
        # Kept counts cannot be told they are stale: drop what may be kept, or at worst a count
        # is old for UNREAD_KEPT_SECONDS.
        log.warning("unread stamp %s not moved", key)


def kept_unread_total(user, client_id, threads, variant=""):
    """``unread_total(user, threads())`` for the header, kept in Redis per user and client
    (``variant`` tells apart what else decides which threads the user sees, e.g. "own items
    only") while nothing it counts changed: one Redis round trip instead of the query. Without
    Redis it is counted every time."""
    keys = [f"{runtime.namespace}:unread:{int(user.id)}:{int(client_id)}:{variant}",
            _client_stamp_key(client_id), _reads_stamp_key(user.id)]
    try:
        kept, client_stamp, reads_stamp = _redis().mget(keys)
    except RedisError:
        return unread_total(user, threads())
    stamps = f"{int(client_stamp or 0)}:{int(reads_stamp or 0)}"
    if kept is not None:
        kept_stamps, _, count = kept.decode().rpartition(":")
        if kept_stamps == stamps and count.isdigit():
            return int(count)
    count = unread_total(user, threads())  # the stamps were read first: a change meanwhile makes it stale
    try:
        _redis().set(keys[0], f"{stamps}:{count}", ex=UNREAD_KEPT_SECONDS)
    except RedisError:
        pass
    return count


def waiting_count(user):
    """How many threads wait for the staff member ``user`` (the header's number): of the
    clients they reach (``models.scoping.staff_scope``), counted on the index."""
    return staff_scope(Thread.select(), Thread, user).where(Thread.waiting_since.is_null(False)).count()


def rating_summary():
    """(average score or None, number of ratings), in one aggregate query."""
    average, count = ThreadRating.select(fn.AVG(ThreadRating.score), fn.COUNT(ThreadRating.id)).tuples().get()
    return (float(average) if average is not None else None), int(count or 0)


def waiting_queue():
    """Threads waiting for staff, the earliest due (so the overdue) first. A waiting thread
    always has a due time (both are set together), so the order needs no NULLS LAST and the
    partial index ``thread_waiting_due`` serves it."""
    return (Thread.select(Thread, Client).join(Client)
            .where(Thread.waiting_since.is_null(False))
            .order_by(Thread.due_at, Thread.waiting_since, Thread.id))


def due_for_acknowledgement(now=None):
    """Ids of waiting threads whose acknowledgement time has passed and none was sent."""
    now = now or utcnow()
    return [t.id for t in Thread.select(Thread.id).where(
        Thread.waiting_since.is_null(False), Thread.acknowledged_at.is_null(),
        Thread.ack_due_at <= now).order_by(Thread.id)]


# --- The Redis pointer: each thread's newest message id --------------------------------------

def _redis():
    if runtime.redis is None:
        raise RedisError("no Redis configured")
    return runtime.redis


def _pointer_key(thread_id, namespace=None):
    # The namespace tells deployments (and test apps) sharing one Redis apart.
    return f"{namespace or runtime.namespace}:thread:{int(thread_id)}:last"


# A missing pointer is refilled from the database by the next poll, so a pointer
# that a Redis outage left behind is wrong for ten minutes at most. A pointer that
# went back (Redis restored from an older snapshot) is raised by the first poll that
# asks the database, which a poll does at least every rules.polling.POINTER_TRUST_SECONDS.
POINTER_TTL = 600


def publish_last_message(thread_id, message_id):
    """Tell pollers a newer message exists (after the commit). Never moves backwards."""
    try:
        _redis().eval(_SET_MAX, 1, _pointer_key(thread_id), int(message_id), POINTER_TTL)
    except RedisError:
        # Pollers then see no pointer (or an old one) and ask the database.
        log.warning("thread %s: last message pointer not written", thread_id)
        try:
            _redis().delete(_pointer_key(thread_id))
        except RedisError:
            pass


def publish_new_message(thread, message_id):
    """After the commit of a new message: its thread's pointer (pollers) and its client's
    message stamp (every kept unread count of the client's users is counted again)."""
    publish_last_message(thread.id, message_id)
    _move_stamp(_client_stamp_key(thread.client_id))


def refill_last_message(thread_id, latest):
    """Make the pointer agree with the database's newest id (read by a poll that used SQL).

    A missing or older pointer is raised; one newer than the database (left by a
    write whose transaction did not commit) is lowered, but only if nobody
    published a message in the meantime."""
    observed = cached_last_message(thread_id)
    if observed == latest:
        return
    try:
        _redis().eval(_REFILL, 1, _pointer_key(thread_id), int(latest),
                      "" if observed is None else int(observed), POINTER_TTL)
    except RedisError:
        pass


def cached_last_message(thread_id, redis=None, namespace=None, session_id=None):
    """The newest message id Redis knows for the thread, or None (unknown, Redis down, or —
    with ``session_id`` — that session ended: ``forget_polls_of``). ``redis`` and
    ``namespace`` name another deployment's than the runtime's (the web's poll gate answers
    before any app context binds the runtime). One round trip either way."""
    keys = [_pointer_key(thread_id, namespace)]
    if session_id:
        keys.append(_ended_key(session_id, namespace))
    try:
        values = (redis if redis is not None else _redis()).mget(keys)
    except RedisError:
        return None
    if len(values) > 1 and values[1] is not None:
        return None
    return int(values[0]) if values[0] is not None else None


def _ended_key(session_id, namespace=None):
    digest = hashlib.sha256(str(session_id).encode()).hexdigest()[:32]  # no session id kept in clear
    return f"{namespace or runtime.namespace}:ended-session:{digest}"


def forget_polls_of(session_id):
    """A session ended on its own ("sign out here"): the poll gate stops answering for a copy of
    its cookie at once, instead of until its token's trust runs out (the database refuses the
    session anyway). Kept as long as a poll token is trusted; without Redis, that bound holds."""
    try:
        _redis().set(_ended_key(session_id), "1", ex=POINTER_TRUST_SECONDS + CLOCK_SKEW_SECONDS)
    except RedisError:
        log.warning("ended session not published to the poll gate")


_SET_MAX = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 1
"""

_REFILL = """
local current = redis.call('GET', KEYS[1])
if (not current) or tonumber(ARGV[1]) > tonumber(current) or current == ARGV[2] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
end
return 1
"""
