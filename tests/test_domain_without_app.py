"""The domain runs without Flask: no app, no request, no app context.

A job, a CLI command or this test moves a document through its statuses with
nothing but a database and what ``models.runtime`` is given.
"""
import sys

import pytest

import models
from models.runtime import configure, runtime
from rules import documents as R
from rules.keys import Keyring


class FakeSigning:
    name = "fake"
    secret = b"s" * 32

    def invitation_url(self, invitation):
        return f"/sign/{invitation.token}"


@pytest.fixture
def domain(tmp_path):
    """A fresh SQLite database and a runtime that records what reaches the job queue."""
    from peewee import SqliteDatabase
    previous = (models.db.obj, runtime.keys, runtime.signing, runtime.enqueue, runtime.owner)
    database = SqliteDatabase(str(tmp_path / "domain.sqlite3"), pragmas={"foreign_keys": 1})
    models.db.initialize(database)
    database.create_tables(models.ALL_MODELS)
    queued = []
    configure(object(), keys=Keyring("domain-test-secret"), signing=FakeSigning(), enqueue=queued.append)
    yield queued
    database.close()
    obj, runtime.keys, runtime.signing, runtime.enqueue, runtime.owner = previous
    models.db.initialize(obj)


def test_nothing_from_flask_is_loaded_by_the_domain():
    # In a fresh interpreter: importing models and rules loads no Flask at all.
    import subprocess
    code = ("import sys, models, rules, rules.documents, models.documents, models.messages; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('flask', 'flask_babel', 'flask_login', 'werkzeug')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_document_reaches_signing_and_its_e_mails_are_queued_after_the_commit(domain):
    person = models.User.create(email="anna@example.lv", phone="+37121111111", password_hash="x")
    staff = models.User.create(email="staff@example.lv", phone="+37122222222", password_hash="x",
                               staff_role="consultant")
    client = models.Client.create(kind="natural", name="Anna")
    models.Membership.grant(person, client, "self")
    document = models.documents.Document.start(client, "loan_application", person)
    document.transition(R.SAVE, by=person, values={"amount": "1000", "purpose": "Jumts", "term_months": "12"})
    document.transition(R.SUBMIT, by=person)
    document.transition(R.ACCEPT, by=staff)
    stored = models.StoredFile.create(key="k" * 20, sha256="0" * 64, size=10, original_name="a.pdf",
                                      extension="pdf", content_type="application/pdf", client=client)
    document.transition(R.PREPARE_PACKAGE, by=staff, files=[stored])
    document.transition(R.AGREE, by=person)
    document.transition(R.SIGN_WITH_SERVICE, by=person)
    assert document.status == R.SIGNING
    invitation = document.pending_invitation()
    assert invitation.backend == "fake" and invitation.url() == f"/sign/{invitation.token}"
    sent = list(models.Notification.select().order_by(models.Notification.id))
    assert [n.template for n in sent] == ["document_ready_for_signing", "document_signing_invitation"]
    assert domain == [n.id for n in sent]  # each handed to the queue once, after its commit
    assert sent[1].opened_params()["signing_path"] == f"/sign/{invitation.token}"


def test_a_rolled_back_action_hands_nothing_to_the_queue(domain):
    user = models.User.create(email="anna@example.lv", phone="+37121111111", password_hash="x")
    with pytest.raises(RuntimeError), models.action():
        models.Notification.queue("email", user.email, "welcome", user=user)
        raise RuntimeError("the action fails after queuing")
    assert domain == [] and not models.Notification.select().exists()
    with models.action():
        with models.action():  # nested actions join the outer one
            row = models.Notification.queue("email", user.email, "welcome", user=user)
        assert domain == []
    assert domain == [row.id]


def test_codes_are_checked_with_the_runtime_key(domain):
    row, code = models.OneTimeCode.issue("reset", "sms", "+37121111111",
                                         reset=models.PasswordReset.create(channel="sms", target="x"))
    assert row.check("000000" if code != "000000" else "111111") == "wrong"
    assert row.check(code) == "ok"
    configure(object(), keys=Keyring("another secret"))
    assert models.OneTimeCode.get_by_id(row.id).check(code) != "ok"
