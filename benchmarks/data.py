"""Bulk data for the list benchmarks: one client with many documents, threads and messages.

Never in the request path: ``benchmarks/lists.py`` calls ``generate`` on a throw-away
database (bound, as for a CLI command, through an app context). Rows go in with
``insert_many`` in batches, with times that grow with the ids, as they would in use.
"""
from datetime import timedelta

from peewee import fn

import models
import rules
from models.documents import Document
from models.messages import CLIENT, STAFF, Message, Thread, ThreadRating, ThreadRead
from rules import documents as R

PASSWORD = "Zilais-Kalns7!"
BATCH = 500
# Documents cycle through the statuses; "processing" (and a question about a package)
# waits on the institution, so the staff queue and the client's poll have rows too.
STATUSES = (R.NEW, R.PROCESSING, R.INFO_NEEDED, R.DRAFT, R.READY, R.SIGNING, R.SIGNED)
VALUES = {"amount": "15000.50", "term_months": "24", "purpose": "Jaunas iekārtas darbnīcai"}
BODY = ("Labdien! Lūdzu, pārbaudiet pievienoto izrakstu un apstipriniet, ka maksājums "
        "ir saņemts. Paldies!")
REPLY = "Labdien! Maksājums ir saņemts un iegrāmatots. Ar cieņu, Kārlis Konsultants"


def _insert(model, rows):
    for start in range(0, len(rows), BATCH):
        model.insert_many(rows[start:start + BATCH]).execute()


def people(email="bench@example.lv", staff_email="staff@example.lv"):
    """The client user (a private person, acting for themself) and a supervisor."""
    user = models.User.create(email=email, phone="+37120009999", full_name="Anna Liepa",
                              password_hash=models.hash_password(PASSWORD))
    staff = models.User.create(email=staff_email, phone="+37120009998", full_name="Kārlis Konsultants",
                               staff_role="supervisor", password_hash=models.hash_password(PASSWORD))
    client = models.Client.create(kind=rules.NATURAL, name="Anna Liepa", citizenship="LV")
    models.Membership.grant(user, client, rules.SELF)
    for document, meta in rules.LEGAL_DOCUMENTS.items():
        models.Consent.create(user=user, document=document, version=meta["version"], accepted_at=models.utcnow())
    return user, staff, client


def documents(client, user, n, start):
    """``n`` loan applications over the statuses, one a minute from ``start``."""
    rows = []
    for i in range(n):
        status = STATUSES[i % len(STATUSES)]
        at = start + timedelta(minutes=i)
        question = status == R.READY and i % 2 == 0
        rows.append({"client": client.id, "created_by": user.id, "doc_type": "loan_application",
                     "status": status, "waiting": R.waits_on_institution(status, question),
                     "question_open": question, "data": VALUES, "revision": 1,
                     "submitted_at": None if status == R.NEW else at, "created_at": at, "updated_at": at})
    _insert(Document, rows)


def threads(client, user, staff, n, start):
    """``n`` threads, each with the client's question and, for two in three, an answer
    (rated by the client); the rest wait for one. The user has read them all but the last."""
    rows, before = [], Thread.select(fn.MAX(Thread.id)).scalar() or 0
    for i in range(n):
        at = start + timedelta(minutes=i)
        answered = i % 3 != 0
        rows.append({"client": client.id, "created_by": user.id, "subject": f"Jautājums nr. {i + 1}",
                     "created_at": at, "last_message_at": at + timedelta(seconds=30 if answered else 0),
                     "waiting_since": None if answered else at,
                     "due_at": None if answered else at + timedelta(days=1),
                     "answered_at": at + timedelta(seconds=30) if answered else None})
    _insert(Thread, rows)
    made = list(Thread.select(Thread.id, Thread.created_at, Thread.answered_at)
                .where(Thread.client == client, Thread.id > before).order_by(Thread.id))
    messages, ratings, reads = [], [], []
    for i, t in enumerate(made):
        messages.append({"thread": t.id, "kind": CLIENT, "author": user.id, "body": BODY, "created_at": t.created_at})
        if t.answered_at:
            messages.append({"thread": t.id, "kind": STAFF, "author": staff.id, "body": REPLY,
                             "created_at": t.answered_at})
            ratings.append({"thread": t.id, "user": user.id, "score": 1 + i % 5, "comment": "Ātri un skaidri.",
                            "created_at": t.answered_at})
    _insert(Message, messages)
    _insert(ThreadRating, ratings)
    last_of = dict(Message.select(Message.thread, fn.MAX(Message.id))
                   .where(Message.thread > before).group_by(Message.thread).tuples())
    for t in made[:-1]:
        reads.append({"thread": t.id, "user": user.id, "last_read_id": last_of[t.id]})
    _insert(ThreadRead, reads)
    return made


def long_thread(client, user, staff, n, start):
    """One thread of ``n`` messages, the client and staff taking turns, a minute apart."""
    thread = Thread.create(client=client, created_by=user, subject="Ilga sarakste", created_at=start,
                           last_message_at=start + timedelta(minutes=n), answered_at=start)
    rows = [{"thread": thread.id, "kind": CLIENT if i % 2 == 0 else STAFF,
             "author": user.id if i % 2 == 0 else staff.id, "body": BODY if i % 2 == 0 else REPLY,
             "created_at": start + timedelta(minutes=i)} for i in range(n)]
    _insert(Message, rows)
    last = Message.select(fn.MAX(Message.id)).where(Message.thread == thread).scalar()
    ThreadRead.create(thread=thread, user=user, last_read_id=last)
    return thread


def generate(n):
    """The client user, a supervisor, and for the client ``n`` documents, ``n`` threads and
    one more thread of ``n`` messages (call inside an app context, on an empty database).
    Returns (user, staff, client, the long thread)."""
    start = models.utcnow() - timedelta(minutes=3 * n + 10)
    with models.db.atomic():
        user, staff, client = people()
        documents(client, user, n, start)
        threads(client, user, staff, n, start)
        thread = long_thread(client, user, staff, n, start + timedelta(minutes=n))
    return user, staff, client, thread
