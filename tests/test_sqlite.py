"""SQLite under concurrent writers (issue 8, item 3): WAL once per database file, the
per-connection settings on every connection, and a real gunicorn with four people
writing at once for 20 s without one "database is locked"."""
import threading
import time
from collections import Counter

import pytest

import models
from conftest import PASSWORD, build_app, create_user
from live_portal import Browser, gunicorn_portal
from models.documents import Document, DocumentVersion
from models.messages import Message, MessageAttachment
from rules import documents as R

WRITERS = 4
SECONDS = 20
ATTACHMENT = ("piezime.txt", "Pielikums: " + "rindiņa ar tekstu\n" * 58)  # about 1 KB of text


def test_a_new_sqlite_file_is_put_in_wal_once_at_app_start(tmp_path, monkeypatch):
    build_app({"TESTING": True, "PORTAL_ENV": "development", "SECRET_KEY": "x", "DATABASE_URL": f"sqlite:///{tmp_path}/fresh.sqlite3"})
    database = models.db.obj
    seen = []
    connection_hooks = type(database)._add_conn_hooks

    def traced_hooks(self, conn):
        conn.set_trace_callback(seen.append)
        connection_hooks(self, conn)

    monkeypatch.setattr(type(database), "_add_conn_hooks", traced_hooks)
    with database.connection_context():
        opened = " ".join(seen).lower()  # what opening the connection ran
        pragmas = {name: database.execute_sql(f"PRAGMA {name}").fetchone()[0]
                   for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")}
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "synchronous": 1, "busy_timeout": 5000}
    # A connection sets what belongs to it, and nothing about the file.
    assert "foreign_keys" in opened and "synchronous" in opened
    assert "journal_mode" not in opened and "busy_timeout" not in opened
    models.db.close()


def _writer(browser, number, deadline, log):
    """Post messages (every other one with a 1 KB file), replies, and now and then a document."""
    thread_id, n = None, 0
    while time.monotonic() < deadline:
        n += 1
        marker = f"writer {number}, post {n}"
        try:
            if n % 6 == 0:
                response = browser.post("/documents", {"doc_type": "loan_application", "another": "loan_application"})
                if response.status_code != 303:
                    log.append(("document", marker, response.status_code, response.text[:300]))
                    continue
                document_id = int(response.headers["Location"].split("/")[-2])
                response = browser.post(f"/documents/{document_id}/edit", {
                    "action": "submit", "nonce": f"nonce-{number}-{n}", "amount": "1 000,00",
                    "term_months": "12", "purpose": marker})
                log.append(("document", document_id, response.status_code, response.text[:300]))
                continue
            files = {"files": ATTACHMENT} if n % 2 else None
            if thread_id is None or n % 5 == 1:
                response = browser.post("/messages/new", {"subject": marker, "body": marker}, files=files)
                if response.status_code == 303:
                    thread_id = int(response.headers["Location"].rsplit("/", 1)[1])
            else:
                response = browser.post(f"/messages/{thread_id}", {"body": marker}, files=files)
            log.append(("message", marker, response.status_code, response.text[:300], bool(files)))
        except Exception as error:  # a dropped connection counts as a failure, not a crash of the test
            log.append(("error", marker, None, repr(error)))


@pytest.mark.faults
def test_four_writers_for_20_seconds_on_gunicorn_lose_and_double_nothing(app, tmp_path):
    people = [f"writer{i}@example.lv" for i in range(WRITERS)]
    for i, email in enumerate(people):
        create_user(app, email=email, phone=f"+3712500000{i}")
    models.db.close()
    with gunicorn_portal(app, tmp_path) as (base, _master, log_path):
        browsers = [Browser(base) for _ in people]
        for browser, email in zip(browsers, people, strict=True):
            browser.sign_in(email, PASSWORD)
        logs = [[] for _ in people]
        deadline = time.monotonic() + SECONDS
        writers = [threading.Thread(target=_writer, args=(b, i, deadline, logs[i]))
                   for i, b in enumerate(browsers)]
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        server_log = log_path.read_text()
    entries = [entry for log in logs for entry in log]
    statuses = Counter(entry[2] for entry in entries)
    failures = [entry for entry in entries if entry[2] != 303]
    print(f"\n{len(entries)} writes in {SECONDS} s by {WRITERS} writers: {dict(statuses)}")
    assert statuses[500] == 0 and not failures, failures[:5]
    assert "database is locked" not in server_log and "Traceback" not in server_log, server_log[-3000:]

    posted = [entry for entry in entries if entry[0] == "message"]
    submitted = [entry[1] for entry in entries if entry[0] == "document"]
    assert len(posted) > 100 and len(submitted) > 10  # the writers really wrote at the same time
    with app.app_context(), models.db.connection_context():
        for _kind, marker, _status, _text, with_file in posted:
            rows = list(Message.select().where(Message.body == marker))
            assert len(rows) == 1, (marker, len(rows))  # stored once: none lost, none doubled
            attached = MessageAttachment.select().where(MessageAttachment.message == rows[0]).count()
            assert attached == (1 if with_file else 0), marker
        assert Message.select().count() == len(posted)
        assert MessageAttachment.select().count() == sum(1 for entry in posted if entry[4])
        for document_id in submitted:
            assert Document.get_by_id(document_id).status == R.PROCESSING
            assert DocumentVersion.select().where(DocumentVersion.document == document_id).count() == 1
        assert Document.select().count() == len(submitted)
