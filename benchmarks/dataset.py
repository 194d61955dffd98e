"""Bulk data for ``make bench``: a company with many colleagues, documents and threads.

Never in the request path: ``benchmarks/run.py`` calls ``generate`` on a throw-away
database inside an app context (as a CLI command would). The documents, threads and the
long thread come from ``benchmarks/data.py`` (the list benchmarks' generator), given the
company instead of a private person; what is added here is the company itself, its main
user (who also has a private account, so the dashboard lists two accounts), its colleagues
and a document with a history. The benchmark signs in as the main user (``MAIN_EMAIL``),
who sees the whole company.
"""
from dataclasses import dataclass
from datetime import timedelta

import models
import rules
from benchmarks import data
from benchmarks.data import PASSWORD  # noqa: F401  (what the benchmark signs in with)
from models.documents import Document, DocumentEvent
from rules import documents as R

MAIN_EMAIL = "valde@bench.lv"
STAFF_EMAIL = "konsultants@bench.lv"
THREAD_SUBJECT = "Ilga sarakste"  # data.long_thread's


@dataclass
class Made:
    """What the benchmark visits: the company, one document and one thread of the main user."""
    company_id: int
    document_id: int
    thread_id: int


def company(colleagues):
    """The main user (with a private account too), ``colleagues`` - 1 colleagues limited to
    their own items, and a consultant. One password hash for all (argon2 once, not 1,000 times)."""
    password_hash = models.hash_password(PASSWORD)
    main = models.User.create(email=MAIN_EMAIL, phone="+37120009999", full_name="Līga Ozola",
                              password_hash=password_hash, last_login_at=models.utcnow())
    staff = models.User.create(email=STAFF_EMAIL, phone="+37120009998", full_name="Kārlis Konsultants",
                               staff_role="consultant", password_hash=password_hash)
    firm = models.Client.create(kind=rules.LEGAL, name="SIA Etalons", country="LV", registration_number="40003999999")
    private = models.Client.create(kind=rules.NATURAL, name="Līga Ozola", citizenship="LV")
    models.Membership.grant(main, firm, rules.MAIN)
    models.Membership.grant(main, private, rules.SELF)
    data._insert(models.User, [{"email": f"kolegis{i}@bench.lv", "phone": f"+3712100{i:04d}",
                                "full_name": f"Kolēģis {i}", "password_hash": password_hash}
                               for i in range(1, colleagues)])
    ids = [u.id for u in models.User.select(models.User.id).where(models.User.email.startswith("kolegis"))]
    rights = {f"can_{k}" if k != "own_items_only" else k: v
              for k, v in rules.ROLE_DEFAULT_RIGHTS[rules.COLLEAGUE].items()}
    data._insert(models.Membership, [{"user": i, "client": firm.id, "role": rules.COLLEAGUE, **rights} for i in ids])
    for document, meta in rules.LEGAL_DOCUMENTS.items():
        models.Consent.create(user=main, document=document, version=meta["version"], accepted_at=models.utcnow())
    return main, staff, firm


def document_with_history(firm, main, start):
    """The document the benchmark opens: submitted, accepted, in processing, with its history."""
    document = Document.create(client=firm, created_by=main, doc_type="loan_application", status=R.PROCESSING,
                               waiting=True, data=data.VALUES, revision=3, submitted_at=start, created_at=start,
                               updated_at=start)
    for i, (action, actor, before, after) in enumerate((
            (R.CREATED, R.CLIENT, None, R.NEW), (R.SUBMIT, R.CLIENT, R.NEW, R.PROCESSING),
            (R.ACCEPT, R.STAFF, R.PROCESSING, R.PROCESSING))):
        DocumentEvent.create(document=document, action=action, actor=actor, user=main, from_status=before,
                             to_status=after, created_at=start + timedelta(minutes=i))
    return document


def generate(colleagues=1000, documents=10000, threads=10000, thread_messages=40):
    """The company and everything above (call inside an app context, on an empty database):
    ``documents`` documents, ``threads`` threads and one more of ``thread_messages`` messages."""
    start = models.utcnow() - timedelta(minutes=2 * max(documents, threads) + 100)
    with models.db.atomic():
        main, staff, firm = company(colleagues)
        data.documents(firm, main, documents, start)
        data.threads(firm, main, staff, threads, start)
        thread = data.long_thread(firm, main, staff, thread_messages, models.utcnow() - timedelta(minutes=90))
        document = document_with_history(firm, main, models.utcnow() - timedelta(minutes=30))
    return Made(firm.id, document.id, thread.id)
