"""Bulk data for ``make bench``: a company with many colleagues, documents and threads.

Never in the request path: ``benchmarks/run.py`` calls ``generate`` on a throw-away
database inside an app context (as a CLI command would). Rows go in with ``insert_many``
in batches, with times that grow with the ids, as they would in use.

The user the benchmark signs in as is the company's main user (``MAIN_EMAIL``), who also
has a private account, so the dashboard lists two accounts and the lists show the whole
company. The paging work (``benchmarks/data.py`` on its branch) makes one natural person
with N documents and threads; once it lands its ``documents``/``threads`` can replace the
two functions here that do the same for a company.
"""
from dataclasses import dataclass
from datetime import timedelta

from peewee import fn

import models
import rules
from models.documents import Document, DocumentEvent
from models.messages import CLIENT, STAFF, Message, Thread, ThreadRead
from rules import documents as R

PASSWORD = "Zilais-Kalns7!"
MAIN_EMAIL = "valde@bench.lv"
STAFF_EMAIL = "konsultants@bench.lv"
BATCH = 500
STATUSES = (R.NEW, R.PROCESSING, R.INFO_NEEDED, R.DRAFT, R.READY, R.SIGNING, R.SIGNED)
VALUES = {"amount": "15000.50", "term_months": "24", "purpose": "Jaunas iekārtas darbnīcai"}
BODY = ("Labdien! Lūdzu, pārbaudiet pievienoto izrakstu un apstipriniet, ka maksājums "
        "ir saņemts. Paldies!")
REPLY = "Labdien! Maksājums ir saņemts un iegrāmatots. Ar cieņu, Kārlis Konsultants"


@dataclass
class Made:
    """What the benchmark visits: the company, one document and one thread of the main user."""
    company_id: int
    document_id: int
    thread_id: int


def _insert(model, rows):
    for start in range(0, len(rows), BATCH):
        model.insert_many(rows[start:start + BATCH]).execute()


def people(colleagues):
    """The main user (with a private account too), ``colleagues`` - 1 colleagues limited to
    their own items, and a consultant. One password hash for all (argon2 once, not 1,000 times)."""
    password_hash = models.hash_password(PASSWORD)
    main = models.User.create(email=MAIN_EMAIL, phone="+37120009999", full_name="Līga Ozola",
                              password_hash=password_hash, last_login_at=models.utcnow())
    staff = models.User.create(email=STAFF_EMAIL, phone="+37120009998", full_name="Kārlis Konsultants",
                               staff_role="consultant", password_hash=password_hash)
    company = models.Client.create(kind=rules.LEGAL, name="SIA Etalons", country="LV",
                                   registration_number="40003999999")
    private = models.Client.create(kind=rules.NATURAL, name="Līga Ozola", citizenship="LV")
    models.Membership.grant(main, company, rules.MAIN)
    models.Membership.grant(main, private, rules.SELF)
    _insert(models.User, [{"email": f"kolegis{i}@bench.lv", "phone": f"+3712100{i:04d}",
                           "full_name": f"Kolēģis {i}", "password_hash": password_hash}
                          for i in range(1, colleagues)])
    ids = [u.id for u in models.User.select(models.User.id).where(models.User.email.startswith("kolegis"))
           .order_by(models.User.id)]
    rights = {f"can_{k}" if k != "own_items_only" else k: v
              for k, v in rules.ROLE_DEFAULT_RIGHTS[rules.COLLEAGUE].items()}
    _insert(models.Membership, [{"user": i, "client": company.id, "role": rules.COLLEAGUE, **rights} for i in ids])
    for document, meta in rules.LEGAL_DOCUMENTS.items():
        models.Consent.create(user=main, document=document, version=meta["version"], accepted_at=models.utcnow())
    return main, staff, company, [main.id, *ids]


def documents(company, authors, n, start):
    """``n`` loan applications over the statuses, one a minute from ``start``, by turns of authors."""
    rows = []
    for i in range(n):
        status = STATUSES[i % len(STATUSES)]
        at = start + timedelta(minutes=i)
        question = status == R.READY and i % 2 == 0
        rows.append({"client": company.id, "created_by": authors[i % len(authors)], "doc_type": "loan_application",
                     "status": status, "waiting": R.waits_on_institution(status, question),
                     "question_open": question, "data": VALUES, "revision": 1,
                     "submitted_at": None if status == R.NEW else at, "created_at": at, "updated_at": at})
    _insert(Document, rows)


def threads(company, authors, staff, n, start):
    """``n`` threads, each with a question and, for two in three, an answer; the main user
    (``authors[0]``) has read them all but the last."""
    before = Thread.select(fn.MAX(Thread.id)).scalar() or 0
    rows = []
    for i in range(n):
        at = start + timedelta(minutes=i)
        answered = i % 3 != 0
        rows.append({"client": company.id, "created_by": authors[i % len(authors)], "subject": f"Jautājums nr. {i + 1}",
                     "created_at": at, "last_message_at": at + timedelta(seconds=30 if answered else 0),
                     "waiting_since": None if answered else at, "due_at": None if answered else at + timedelta(days=1),
                     "answered_at": at + timedelta(seconds=30) if answered else None})
    _insert(Thread, rows)
    made = list(Thread.select(Thread.id, Thread.created_by, Thread.created_at, Thread.answered_at)
                .where(Thread.id > before).order_by(Thread.id))
    messages = []
    for t in made:
        messages.append({"thread": t.id, "kind": CLIENT, "author": t.created_by_id, "body": BODY,
                         "created_at": t.created_at})
        if t.answered_at:
            messages.append({"thread": t.id, "kind": STAFF, "author": staff.id, "body": REPLY,
                             "created_at": t.answered_at})
    _insert(Message, messages)
    last_of = dict(Message.select(Message.thread, fn.MAX(Message.id)).where(Message.thread > before)
                   .group_by(Message.thread).tuples())
    _insert(ThreadRead, [{"thread": t.id, "user": authors[0], "last_read_id": last_of[t.id]} for t in made[:-1]])


def conversation(company, main, staff, n, start):
    """The thread the benchmark opens: ``n`` messages, the client and staff taking turns, all read."""
    thread = Thread.create(client=company, created_by=main, subject="Konta izraksts", created_at=start,
                           last_message_at=start + timedelta(minutes=n), answered_at=start)
    _insert(Message, [{"thread": thread.id, "kind": CLIENT if i % 2 == 0 else STAFF,
                       "author": main.id if i % 2 == 0 else staff.id, "body": BODY if i % 2 == 0 else REPLY,
                       "created_at": start + timedelta(minutes=i)} for i in range(n)])
    last = Message.select(fn.MAX(Message.id)).where(Message.thread == thread).scalar()
    ThreadRead.create(thread=thread, user=main, last_read_id=last)
    return thread


def document_with_history(company, main, start):
    """The document the benchmark opens: submitted, accepted, in processing, with its history."""
    document = Document.create(client=company, created_by=main, doc_type="loan_application", status=R.PROCESSING,
                               waiting=True, data=VALUES, revision=3, submitted_at=start, created_at=start,
                               updated_at=start)
    for i, (action, actor, before, after) in enumerate((
            (R.CREATED, R.CLIENT, None, R.NEW), (R.SUBMIT, R.CLIENT, R.NEW, R.PROCESSING),
            (R.ACCEPT, R.STAFF, R.PROCESSING, R.PROCESSING))):
        DocumentEvent.create(document=document, action=action, actor=actor, user=main, from_status=before,
                             to_status=after, created_at=start + timedelta(minutes=i))
    return document


def generate(colleagues=1000, documents_n=10000, threads_n=10000, thread_messages=20):
    """The company and everything above (call inside an app context, on an empty database)."""
    start = models.utcnow() - timedelta(minutes=2 * max(documents_n, threads_n) + 100)
    with models.db.atomic():
        main, staff, company, authors = people(colleagues)
        documents(company, authors, documents_n, start)
        threads(company, authors, staff, threads_n, start)
        thread = conversation(company, main, staff, thread_messages, models.utcnow() - timedelta(minutes=60))
        document = document_with_history(company, main, models.utcnow() - timedelta(minutes=30))
    return Made(company.id, document.id, thread.id)
