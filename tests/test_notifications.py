"""The notification outbox: written with the change, sent by RQ, never lost, never twice."""
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

import models
import tasks
from portal import init_domain
from conftest import create_user, post_form, run_jobs

# The outbox is SQL all through: the claim that stops a double send, the sweep, one
# transaction with the change. Every test runs on PostgreSQL as well.
pytestmark = pytest.mark.postgres


def queue_one(app, template="password_changed", channel="email", recipient="anna@example.lv", language="lv", **params):
    with app.app_context():
        return models.Notification.queue(channel, recipient, template, language=language, **params)


def test_email_goes_out_over_smtp_in_the_users_language(app, mailbox, db):
    lv = queue_one(app, recipient="lv@example.lv", language="lv")
    en = queue_one(app, recipient="en@example.lv", language="en")
    with app.app_context():
        tasks.enqueue_notification(lv.id)
        tasks.enqueue_notification(en.id)
    run_jobs(app)
    lv_mail, en_mail = mailbox.to("lv@example.lv")[0], mailbox.to("en@example.lv")[0]
    assert "parole" in lv_mail["Subject"].lower()
    assert en_mail["Subject"] == "Your password has been changed"
    assert en_mail.get_body(("html",)) is not None and en_mail.get_body(("plain",)) is not None


def test_a_job_run_twice_sends_once(app, mailbox, db):
    n = queue_one(app)
    with app.app_context():
        assert tasks.send_notification(n.id) == "sent"
        assert tasks.send_notification(n.id) == "skipped"
    assert len(mailbox.to("anna@example.lv")) == 1


def test_nothing_is_lost_when_redis_is_down_at_enqueue(app, mailbox, db, monkeypatch):
    n = queue_one(app)

    def redis_down(*args, **kwargs):
        raise RedisConnectionError("down")
    with app.app_context():
        monkeypatch.setattr(tasks.Queue, "enqueue", redis_down)
        assert tasks.enqueue_notification(n.id) is False
        monkeypatch.undo()
        assert models.Notification.get_by_id(n.id).status == "pending"
        assert tasks.sweep_notifications(older_than_seconds=0) == 1
    run_jobs(app)
    assert models.Notification.get_by_id(n.id).status == "sent"
    assert len(mailbox.to("anna@example.lv")) == 1


def test_smtp_failure_keeps_the_row_pending_then_gives_up(app, db):
    n = queue_one(app)
    app.config["MAIL_PORT"] = 1  # nothing listens there
    init_domain(app)
    with app.app_context():
        for _ in range(tasks.MAX_ATTEMPTS - 1):
            assert tasks.send_notification(n.id) == "pending"
        assert tasks.send_notification(n.id) == "failed"
    row = models.Notification.get_by_id(n.id)
    assert row.status == "failed" and "SMTP" in row.error


def test_secret_parameters_are_encrypted_at_rest_and_wiped_after_sending(app, mailbox, db):
    n = queue_one(app, template="reset_code", code="424242")
    assert "424242" not in models.Notification.get_by_id(n.id).params
    with app.app_context():
        tasks.send_notification(n.id)
    assert models.Notification.get_by_id(n.id).params == ""
    assert "424242" in mailbox.last_text("anna@example.lv")


def test_sweep_gives_up_on_rows_stuck_while_sending_instead_of_sending_twice(app, db):
    n = queue_one(app)
    models.Notification.update(status="sending", claimed_at=models.utcnow().replace(year=2020)).execute()
    with app.app_context():
        tasks.sweep_notifications()
    assert models.Notification.get_by_id(n.id).status == "failed"


def test_sms_goes_through_the_http_gateway_backend(app, db):
    """The HTTP SMS backend posts JSON with a bearer token to the configured gateway."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer
    received = []

    class Gateway(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["Authorization"], json.loads(body)))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args):
            pass
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app.config.update(SMS_BACKEND="http", SMS_GATEWAY_TOKEN="secret-token",
                      SMS_GATEWAY_URL=f"http://127.0.0.1:{server.server_port}/send")
    init_domain(app)
    n = queue_one(app, template="reset_code", channel="sms", recipient="+37121111111", code="123456")
    with app.app_context():
        assert tasks.send_notification(n.id) == "sent"
    server.shutdown()
    assert received[0][0] == "Bearer secret-token"
    assert received[0][1]["to"] == "+37121111111" and "123456" in received[0][1]["text"]


def test_change_and_its_notification_commit_together(client, app, db, monkeypatch):
    """If the change fails, no notification row is left behind (one transaction per action)."""
    create_user(app)
    from conftest import login
    login(client, "anna@example.lv")

    def broken(*args, **kwargs):
        raise RuntimeError("audit store down")
    monkeypatch.setattr(models.AuditLog, "record", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    r = post_form(client, "/password/change", {"current_password": "Zilais-Kalns7!", "password": "Otra-Parole-77!",
                                               "confirm": "Otra-Parole-77!"})
    assert r.status_code == 500
    assert models.Notification.select().count() == 0
    assert models.User.get().check_password("Zilais-Kalns7!")
