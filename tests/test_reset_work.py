"""Password recovery does the same work whether or not the e-mail or phone has an account: the
same SQL statements (verb and table, in order), keyed hashes, seals, password hashes and
hand-overs to the job queue. The security review measured the known answer slower (22.9 vs
11.7 ms by phone, median of 20): counting the work is what a noisy machine cannot blur."""
import re
from datetime import timedelta
from functools import partial

import pytest

import models
import tasks
from conftest import create_user, form_token, run_jobs
from rules import outbox
from rules.keys import Keyring

KNOWN = {"email": "anna@example.lv", "phone": "+37121111111"}
UNKNOWN = {"email": "nobody@example.lv", "phone": "+37129999999"}


def shape(sql):
    """What a statement does and to which tables (values and NULL tests aside)."""
    verb = sql.split(None, 1)[0].upper()
    tables = re.findall(r'(?:FROM|INTO|UPDATE|JOIN)\s+"(\w+)"', sql, re.I)
    return (verb, *tables)


class Work:
    """What the portal does while it is being watched."""

    def __init__(self, monkeypatch):
        self.log, self.watching = [], False
        database_class = type(models.db.obj)
        execute_sql = database_class.execute_sql

        def watched_sql(db_self, sql, params=None, *args, **kwargs):
            self._note("sql", *shape(sql))
            return execute_sql(db_self, sql, params, *args, **kwargs)
        monkeypatch.setattr(database_class, "execute_sql", watched_sql)
        for name in ("mac", "seal", "key"):
            self._watch(monkeypatch, Keyring, name, "key." + name)
        for name in ("hash_password", "password_matches"):
            self._watch(monkeypatch, models.passwords, name, "argon2." + name)
        self._watch(monkeypatch, tasks, "enqueue_notification", "job queue")

    def _watch(self, monkeypatch, owner, name, label):
        original = getattr(owner, name)

        def watched(*args, **kwargs):
            self._note(label)
            return original(*args, **kwargs)
        monkeypatch.setattr(owner, name, watched)

    def _note(self, *what):
        if self.watching:
            self.log.append(what)

    def of(self, call):
        self.log, self.watching = [], True
        try:
            response = call()
        finally:
            self.watching = False
        return response, self.log


@pytest.fixture
def work(app, monkeypatch):
    create_user(app, email=KNOWN["email"], phone=KNOWN["phone"])
    return Work(monkeypatch)


def reset_request(app, identifier):
    client = app.test_client()
    token = form_token(client, "/password/reset")
    return client, lambda: client.post("/password/reset", data={"csrf_token": token, "identifier": identifier})


@pytest.mark.parametrize("kind", ["email", "phone"])
def test_a_reset_request_does_the_same_work_for_an_unknown_account(app, work, kind):
    logs = {}
    for round_ in range(2):  # the first round warms up what is done once per process
        for who, identifier in (("known", KNOWN[kind]), ("unknown", UNKNOWN[kind])):
            _client, call = reset_request(app, identifier)
            response, log = work.of(call)
            assert response.status_code == 303 and response.headers["Location"].endswith("/password/reset/code")
            logs[who] = log
    assert logs["known"] == logs["unknown"]
    counted = set(logs["known"])
    for expected in [("sql", "INSERT", "password_reset"), ("sql", "INSERT", "one_time_code"),
                     ("sql", "INSERT", "notification"), ("sql", "INSERT", "audit_log"),
                     ("key.mac",), ("key.seal",), ("job queue",)]:
        assert expected in counted, expected


@pytest.mark.parametrize("kind", ["email", "phone"])
def test_a_new_code_does_the_same_work_for_an_unknown_account(app, work, kind):
    logs = {}
    for who, identifier in (("known", KNOWN[kind]), ("unknown", UNKNOWN[kind])):
        client, call = reset_request(app, identifier)
        call()
        with app.app_context(), models.db.connection_context():  # past the one-minute wait
            models.OneTimeCode.update(created_at=models.utcnow() - timedelta(minutes=2)).execute()
        token = form_token(client, "/password/reset/code")
        resend = partial(client.post, "/password/reset/resend", data={"csrf_token": token})
        response, logs[who] = work.of(resend)
        assert response.status_code == 303 and response.headers["Location"].endswith("/password/reset/code")
    assert logs["known"] == logs["unknown"]
    assert ("job queue",) in logs["known"]


def test_the_unknown_accounts_notification_goes_nowhere(app, db, mailbox):
    create_user(app)
    for identifier in (UNKNOWN["email"], UNKNOWN["phone"]):
        _client, call = reset_request(app, identifier)
        assert call().status_code == 303
    run_jobs(app)
    rows = list(models.Notification.select().order_by(models.Notification.id))
    assert [(n.status, n.user_id, n.params) for n in rows] == [(outbox.NOWHERE, None, "")] * 2
    assert models.DevOutbox.select().count() == 0 and mailbox.messages == []
    assert models.Notification.needing_attention().count() == 0


def test_the_nowhere_rows_are_deleted_once_their_recovery_is_over(app, db, mailbox):
    """They hold only what a stranger typed: the scheduled clean-up drops them after
    ``outbox.NOWHERE_KEPT``, and leaves every other notification alone."""
    user = create_user(app)
    _client, call = reset_request(app, UNKNOWN["email"])
    assert call().status_code == 303
    with app.app_context():
        kept = models.Notification.queue("email", user.email, "password_changed", user=user)
    run_jobs(app)
    later = models.utcnow() + outbox.NOWHERE_KEPT + timedelta(minutes=1)
    with app.app_context():
        models.clean_expired(models.utcnow())  # still within its recovery's time: kept
        assert models.Notification.select().where(models.Notification.status == outbox.NOWHERE).count() == 1
        models.clean_expired(later)
        assert [n.id for n in models.Notification.select()] == [kept.id]
