"""The notification outbox: written with the change, sent by RQ, never lost, never twice."""
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

import adapters
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


@pytest.mark.parametrize("to, subject", [
    ("anna@example.lv\r\nBcc: mallory@example.lv", "Parole"),
    ("anna@example.lv", "Parole\r\nBcc: mallory@example.lv"),
    ("anna@example.lv\nX-Injected: 1", "Parole"),
])
def test_a_line_break_in_a_header_is_refused_before_anything_is_sent(to, subject):
    """ASVS 1.3.11: no SMTP header injection. The message is composed before any connection,
    and composing refuses a CR or LF in a header value (recipients are normalised addresses and
    subjects come from the templates anyway)."""
    from adapters.mail import SmtpMail
    mail = SmtpMail("127.0.0.1", port=9, sender="Kabinets <kabinets@example.lv>")
    with pytest.raises(ValueError):
        mail.compose(to, subject, "teksts", "<p>teksts</p>")


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
        assert tasks.sweep_notifications(settle_seconds=0) == 1
    run_jobs(app)
    assert models.Notification.get_by_id(n.id).status == "sent"
    assert len(mailbox.to("anna@example.lv")) == 1


def make_due(notification_id):
    """Skip the back-off: the retry is due now."""
    models.Notification.update(next_attempt_at=models.utcnow()).where(
        models.Notification.id == notification_id).execute()


def test_smtp_failure_backs_off_then_gives_up(app, db):
    n = queue_one(app)
    app.config["MAIL_PORT"] = 1  # nothing listens there
    init_domain(app)
    delays = []
    with app.app_context():
        for attempt in range(1, tasks.MAX_ATTEMPTS):
            before = models.utcnow()
            assert tasks.send_notification(n.id) == "pending"
            row = models.Notification.get_by_id(n.id)
            assert row.attempts == attempt and row.handed_over_at is None and "SMTP" in row.error
            delays.append(round((row.next_attempt_at - before).total_seconds() / 60))
            # Not due yet: a job that runs early does nothing.
            assert tasks.send_notification(n.id) == "skipped"
            make_due(n.id)
        assert tasks.send_notification(n.id) == "failed"
    assert delays == [1, 2, 4, 8]
    row = models.Notification.get_by_id(n.id)
    assert row.status == "failed" and "SMTP" in row.error


def test_a_refusal_for_good_is_not_tried_again(app, db, monkeypatch):
    """A 5xx answer (an address the server will never take) fails at once."""
    from adapters import DeliveryError
    n = queue_one(app)

    def refused(*args, **kwargs):
        raise DeliveryError("550 no such user", permanent=True)
    with app.app_context():
        monkeypatch.setattr(type(adapters.of(app).mail), "send", refused)
        assert tasks.send_notification(n.id) == "failed"


def test_any_error_before_the_hand_over_is_tried_again(app, mailbox, db, monkeypatch):
    """Not only the mail server's refusals: a template error or the database dropping
    before the hand-over puts the row back to pending, with a back-off."""
    from tasks import notifications as job
    n = queue_one(app)

    def broken(*args, **kwargs):
        raise RuntimeError("template exploded")
    with app.app_context():
        monkeypatch.setattr(job, "render_notification", broken)
        assert tasks.send_notification(n.id) == "pending"
        row = models.Notification.get_by_id(n.id)
        assert "template exploded" in row.error and row.next_attempt_at > models.utcnow()
        monkeypatch.undo()
        make_due(n.id)
        assert tasks.send_notification(n.id) == "sent"
    assert len(mailbox.to("anna@example.lv")) == 1


def test_an_error_after_the_hand_over_is_unknown_and_never_sent_again(app, mailbox, db, monkeypatch):
    n = queue_one(app, template="reset_code", code="424242")
    real_send = type(adapters.of(app).mail).send

    def delivered_then_crashed(self, *args, **kwargs):
        real_send(self, *args, **kwargs)
        raise RuntimeError("worker lost its connection after the server said 250")
    with app.app_context():
        monkeypatch.setattr(type(adapters.of(app).mail), "send", delivered_then_crashed)
        assert tasks.send_notification(n.id) == "unknown"
        monkeypatch.undo()
        row = models.Notification.get_by_id(n.id)
        assert row.status == "unknown" and row.handed_over_at is not None
        assert row.params == ""  # a code: wiped, the person asks for a new one
        tasks.sweep_notifications(settle_seconds=0)
    run_jobs(app)
    assert len(mailbox.to("anna@example.lv")) == 1


def test_secret_parameters_are_encrypted_at_rest_and_wiped_after_sending(app, mailbox, db):
    n = queue_one(app, template="reset_code", code="424242")
    assert "424242" not in models.Notification.get_by_id(n.id).params
    with app.app_context():
        tasks.send_notification(n.id)
    assert models.Notification.get_by_id(n.id).params == ""
    assert "424242" in mailbox.last_text("anna@example.lv")


def test_failed_rows_do_not_keep_secrets_but_keep_what_staff_may_send_again(app, db, monkeypatch):
    from adapters import DeliveryError
    secret = queue_one(app, template="temporary_password", password="Slepena-Parole-1")
    plain = queue_one(app, template="password_changed")

    def refused(*args, **kwargs):
        raise DeliveryError("550 mailbox unavailable", permanent=True)
    with app.app_context():
        monkeypatch.setattr(type(adapters.of(app).mail), "send", refused)
        assert tasks.send_notification(secret.id) == "failed"
        assert tasks.send_notification(plain.id) == "failed"
    assert models.Notification.get_by_id(secret.id).params == ""
    assert models.Notification.get_by_id(plain.id).params != ""


def test_a_job_that_died_before_the_hand_over_is_sent_again_once(app, mailbox, db):
    n = queue_one(app)
    long_ago = models.utcnow().replace(year=2020)
    models.Notification.update(status="sending", attempts=1, claimed_at=long_ago).execute()
    with app.app_context():
        assert tasks.sweep_notifications() == 1
        assert tasks.sweep_notifications() == 0  # its job is still waiting: not queued twice
        assert len(tasks.queue(app)) == 1
    run_jobs(app)
    row = models.Notification.get_by_id(n.id)
    assert row.status == "sent" and row.attempts == 2
    assert len(mailbox.to("anna@example.lv")) == 1


def test_a_job_that_died_after_the_hand_over_is_unknown_not_sent_again(app, mailbox, db):
    n = queue_one(app)
    long_ago = models.utcnow().replace(year=2020)
    models.Notification.update(status="sending", attempts=1, claimed_at=long_ago,
                               handed_over_at=long_ago).execute()
    with app.app_context():
        assert tasks.sweep_notifications(settle_seconds=0) == 0
    run_jobs(app)
    row = models.Notification.get_by_id(n.id)
    assert row.status == "unknown" and "after the hand-over" in row.error
    assert mailbox.to("anna@example.lv") == []


def test_a_late_job_does_not_send_a_row_the_sweep_took_back(app, mailbox, db):
    """A job slower than its lease: the sweep hands the row to a new job; the old one,
    reaching its hand-over, finds the row is no longer its own and sends nothing."""
    n = queue_one(app)
    with app.app_context():
        row = models.Notification.get_by_id(n.id)
        attempt = row.claim()
        models.Notification.update(claimed_at=models.utcnow().replace(year=2020)).execute()
        tasks.sweep_notifications()
        assert row.record_handover(attempt) is False
    run_jobs(app)
    assert len(mailbox.to("anna@example.lv")) == 1


def test_every_attempt_carries_the_same_message_id(app, mailbox, db, monkeypatch):
    """Derived from the notification (and the deployment), not from the attempt: a receiver
    can drop a copy."""
    from adapters import DeliveryError
    n = queue_one(app)
    seen = []
    real_send = type(adapters.of(app).mail).send

    def first_refused(self, to, subject, text, html, key=None, **kwargs):
        seen.append(key)
        if len(seen) == 1:
            raise DeliveryError("421 try later")
        return real_send(self, to, subject, text, html, key=key, **kwargs)
    with app.app_context():
        monkeypatch.setattr(type(adapters.of(app).mail), "send", first_refused)
        assert tasks.send_notification(n.id) == "pending"
        make_due(n.id)
        assert tasks.send_notification(n.id) == "sent"
        other = queue_one(app)
        other_key = models.Notification.get_by_id(other.id).delivery_key()
    assert seen[0] == seen[1] and len(seen[0]) == 32 and other_key != seen[0]
    assert mailbox.to("anna@example.lv")[0]["Message-ID"] == f"<{seen[0]}@localhost>"


def test_job_ids_carry_the_deployment(app, db):
    """Two portals sharing one Redis must not share notification-5."""
    n = queue_one(app)
    with app.app_context():
        tasks.enqueue_notification(n.id)
        ids = tasks.queue(app).job_ids
    assert ids == [f"{app.config['RQ_QUEUE']}-notification-{n.id}"]


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
    assert models.Notification.select().where(models.Notification.template == "password_changed").count() == 0
    assert models.User.get().check_password("Zilais-Kalns7!")


# --- A reply that never comes: unknown, never a second copy ------------------------------------

def test_a_mail_server_that_answers_late_gets_each_message_once(app, db):
    """The server takes the message and answers after the client's timeout: 10 e-mails,
    each "unknown", none sent again by the jobs or the sweep."""
    from conftest import _free_port
    from sinks import start_smtp
    sink = start_smtp(_free_port(), delay=2.0)
    try:
        app.config.update(MAIL_PORT=sink.port, MAIL_TIMEOUT=0.5, NOTIFICATION_LEASE_SECONDS=0)
        init_domain(app)
        rows = [queue_one(app, recipient=f"late{i}@example.lv") for i in range(10)]
        with app.app_context():
            for row in rows:
                tasks.enqueue_notification(row.id)
        run_jobs(app)
        with app.app_context():
            tasks.sweep_notifications(settle_seconds=0)
        run_jobs(app)
        ids = sink.handler.ids()
        statuses = [models.Notification.get_by_id(r.id).status for r in rows]
    finally:
        sink.stop()
    assert statuses == ["unknown"] * 10
    assert len(ids) == 10 and set(ids.values()) == {1}, ids


def test_an_sms_gateway_that_answers_late_gets_each_message_once(app, db):
    from sinks import SmsGateway
    gateway = SmsGateway(delay=2.0)
    try:
        app.config.update(SMS_BACKEND="http", SMS_GATEWAY_URL=gateway.url, SMS_TIMEOUT=0.5,
                          NOTIFICATION_LEASE_SECONDS=0)
        init_domain(app)
        rows = [queue_one(app, template="reset_code", channel="sms", recipient=f"+3712000000{i}", code="1234")
                for i in range(3)]
        with app.app_context():
            for row in rows:
                tasks.enqueue_notification(row.id)
        run_jobs(app)
        with app.app_context():
            tasks.sweep_notifications(settle_seconds=0)
        run_jobs(app)
        keys = gateway.keys()
        statuses = [models.Notification.get_by_id(r.id).status for r in rows]
    finally:
        gateway.stop()
    assert statuses == ["unknown"] * 3
    assert len(keys) == 3 and set(keys.values()) == {1} and None not in keys


def test_an_sms_gateway_that_cannot_be_reached_is_tried_again(app, db):
    from conftest import _free_port
    app.config.update(SMS_BACKEND="http", SMS_GATEWAY_URL=f"http://127.0.0.1:{_free_port()}/send")
    init_domain(app)
    n = queue_one(app, channel="sms", recipient="+37120000001")
    with app.app_context():
        assert tasks.send_notification(n.id) == "pending"
    assert models.Notification.get_by_id(n.id).handed_over_at is None


# --- Staff deal with the rest ------------------------------------------------------------------

def _needing_attention(app):
    unknown = queue_one(app, recipient="nezinams@example.lv")
    failed = queue_one(app, recipient="neizdevas@example.lv", template="reset_code", code="111111")
    models.Notification.update(status="unknown", attempts=1, error="no answer").where(
        models.Notification.id == unknown.id).execute()
    models.Notification.update(status="failed", attempts=5, params="", error="550").where(
        models.Notification.id == failed.id).execute()
    return unknown, failed


def test_staff_see_notifications_that_failed_or_may_not_have_arrived(client, app, db):
    from conftest import login
    unknown, failed = _needing_attention(app)
    create_user(app, email="vaditajs@example.lv", phone="+37123333334", staff_role="supervisor")
    login(client, "vaditajs@example.lv")
    page = client.get("/staff/notifications").get_data(as_text=True)
    assert "nezinams@example.lv" in page and "neizdevas@example.lv" in page
    # Unknown with its parameters: send again, it arrived, close. Failed without them: close only.
    assert page.count('value="send_again"') == 1 and page.count('value="delivered"') == 1
    assert page.count('value="close"') == 2


def test_staff_send_again_once_and_the_decision_is_audited(client, app, mailbox, db):
    from conftest import login
    unknown, failed = _needing_attention(app)
    staff = create_user(app, email="vaditajs@example.lv", phone="+37123333334", staff_role="supervisor")
    login(client, "vaditajs@example.lv")
    url = f"/staff/notifications/{unknown.id}"
    r = post_form(client, url, {"decision": "send_again"}, page="/staff/notifications")
    assert r.status_code == 303
    # A second click finds it dealt with: nothing more happens.
    assert post_form(client, url, {"decision": "send_again"}, page="/staff/notifications").status_code == 303
    run_jobs(app)
    assert len(mailbox.to("nezinams@example.lv")) == 1
    assert models.Notification.get_by_id(unknown.id).status == "sent"
    # A failed code has no parameters left: it cannot be sent again, only closed.
    post_form(client, f"/staff/notifications/{failed.id}", {"decision": "send_again"}, page="/staff/notifications")
    run_jobs(app)
    assert mailbox.to("neizdevas@example.lv") == []
    r = post_form(client, f"/staff/notifications/{failed.id}", {"decision": "close"}, page="/staff/notifications",
                  headers={"HX-Request": "true"}, follow_redirects=True)
    fragment = r.get_data(as_text=True)
    assert r.status_code == 200 and fragment.startswith('<div id="notification-rows">')
    assert "neizdevas@example.lv" not in fragment and "flash--success" in fragment
    row = models.Notification.get_by_id(failed.id)
    assert row.resolved_at is not None and row.resolved_by_id == staff.id
    actions = [a.action for a in models.AuditLog.select().order_by(models.AuditLog.id)]
    assert actions.count("notification.send_again") == 1 and actions.count("notification.close") == 1


def test_only_supervisors_reach_the_notifications(client, app, db):
    from conftest import login
    unknown, _ = _needing_attention(app)
    create_user(app, email="konsultants@example.lv", phone="+37123333333", staff_role="consultant")
    login(client, "konsultants@example.lv")
    assert client.get("/staff/notifications").status_code == 404
    r = post_form(client, f"/staff/notifications/{unknown.id}", {"decision": "delivered"}, page="/staff")
    assert r.status_code == 404
    assert models.Notification.get_by_id(unknown.id).status == "unknown"


def test_the_database_dropping_at_the_sent_update_leaves_it_unknown_not_sent_twice(app, mailbox, db, monkeypatch):
    """Delivered, then the database is away when the outcome is written: the row stays
    "sending" with its hand-over recorded, and the sweep makes it "unknown" after the lease."""
    from peewee import OperationalError
    n = queue_one(app)

    def database_gone(self, attempt):
        raise OperationalError("server closed the connection unexpectedly")
    with app.app_context():
        monkeypatch.setattr(models.Notification, "finish_sent", database_gone)
        assert tasks.send_notification(n.id) == "sending"
        monkeypatch.undo()
        app.config["NOTIFICATION_LEASE_SECONDS"] = 0
        tasks.sweep_notifications(settle_seconds=0)
    run_jobs(app)
    assert models.Notification.get_by_id(n.id).status == "unknown"
    assert len(mailbox.to("anna@example.lv")) == 1


def test_starttls_checks_the_mail_servers_certificate(monkeypatch):
    """STARTTLS with a context that verifies the certificate and the host name (Python's
    starttls() without one checks neither, and MAIL_PASSWORD would go to anyone in between)."""
    import smtplib
    from adapters.mail import SmtpMail
    seen = {}

    class FakeSMTP:
        def __init__(self, *args, **kwargs):
            pass

        def starttls(self, context=None):
            seen["context"] = context
            raise smtplib.SMTPException("stop here")

        def close(self):
            pass
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    from adapters import DeliveryError
    with pytest.raises(DeliveryError):
        SmtpMail("mail.example.lv", 587, use_tls=True, sender="k@example.lv").send("a@example.lv", "s", "t", "<p>t</p>")
    import ssl
    assert seen["context"] is not None and seen["context"].verify_mode == ssl.CERT_REQUIRED
    assert seen["context"].check_hostname
