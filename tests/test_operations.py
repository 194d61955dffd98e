"""Operations (issue 15): the readiness check, Prometheus metrics and the job dashboard.

- ``/health/ready`` reports database, Redis, storage, the RQ worker's heartbeat and the outbox's
  oldest pending row; 503 naming what is down. ``/health`` stays the cheap liveness check.
- ``/metrics`` answers Prometheus' text format to a bearer of the token or a scraper in the allowed
  networks, 404 to anyone else (production without either: nobody).
- ``/staff/jobs`` is rq-dashboard for administrators only, under a CSP of its own; every other
  page keeps the strict one.
"""
import re
from datetime import datetime, timedelta

import pytest
from rq import Worker

import models
import tasks
from conftest import create_user, login
from rules import operations as O
from rules import outbox

NOW = datetime(2026, 12, 7, 12, 0)


# --- The rules on their own -------------------------------------------------------------------------

@pytest.mark.parametrize("heartbeat, ok", [(None, False), (NOW, True), (NOW - timedelta(seconds=480), True),
                                           (NOW - timedelta(seconds=481), False)])
def test_a_worker_is_alive_while_its_heartbeat_is_recent(heartbeat, ok):
    assert O.worker_ok(heartbeat, NOW) is ok


@pytest.mark.parametrize("age, ok", [(None, True), (timedelta(minutes=20), True), (timedelta(minutes=21), False)])
def test_the_outbox_is_being_sent_while_nothing_pending_is_old(age, ok):
    assert O.outbox_ok(age) is ok


NETS = O.parse_networks("10.0.0.0/8, ::1")


@pytest.mark.parametrize("address, authorization, token, networks, allowed", [
    ("10.1.2.3", None, "", NETS, True),
    ("192.168.1.1", None, "", NETS, False),
    ("::1", None, "", NETS, True),
    ("192.168.1.1", "Bearer s3cret-token", "s3cret-token", (), True),
    ("192.168.1.1", "Bearer wrong", "s3cret-token", NETS, False),
    ("192.168.1.1", "Bearer ", "", NETS, False),  # no token configured: an empty one is no key
    ("192.168.1.1", "Basic czNjcmV0", "s3cret-token", (), False),
    ("not an address", None, "", NETS, False),
    ("127.0.0.1", None, "", (), False),  # nothing configured (production's default): nobody
])
def test_who_may_read_the_metrics(address, authorization, token, networks, allowed):
    assert O.metrics_allowed(address, authorization, token, networks) is allowed


def test_a_bad_network_is_refused_at_start():
    with pytest.raises(ValueError):
        O.parse_networks("10.0.0.0/8, everyone")


# --- /health/ready ----------------------------------------------------------------------------------

@pytest.fixture
def worker(app):
    """An RQ worker of the portal's queue, as far as Redis knows: born, with a heartbeat."""
    with app.app_context():
        found = Worker([tasks.queue()], connection=tasks.redis_connection())
        found.register_birth()
        found.heartbeat()
    yield found
    with app.app_context():
        found.register_death()


def pending(created_at):
    with models.action():
        row = models.Notification.queue("email", "x@example.lv", "main_user_granted", company="SIA", note="")
    models.Notification.update(created_at=created_at).where(models.Notification.id == row.id).execute()
    return row


@pytest.mark.postgres
def test_ready_is_ok_with_a_live_worker_and_a_fresh_outbox(app, client, db, worker):
    pending(models.utcnow() - timedelta(minutes=3))
    r = client.get("/health/ready")
    body = r.get_json()
    assert r.status_code == 200, body
    assert (body["status"], body["down"]) == ("ok", [])
    assert all(body[name] is True for name in O.CHECKS)
    assert 170 <= body["outbox_oldest_pending_seconds"] <= 200 and body["worker_heartbeat_age_seconds"] <= 5


@pytest.mark.postgres
def test_ready_is_503_naming_an_old_pending_notification(app, client, db, worker):
    pending(models.utcnow() - timedelta(minutes=45))
    r = client.get("/health/ready")
    assert r.status_code == 503 and r.get_json()["down"] == ["outbox"]


def test_ready_is_503_without_a_worker_or_storage(app, client, db, tmp_path):
    r = client.get("/health/ready")
    assert r.status_code == 503 and r.get_json()["down"] == ["worker"]
    (tmp_path / "a-file").write_bytes(b"not a directory")
    app.extensions["adapters"].storage.root = tmp_path / "a-file" / "uploads"
    assert client.get("/health/ready").get_json()["down"] == ["storage", "worker"]


def test_ready_names_a_stale_heartbeat(app, client, db, worker):
    with app.app_context():
        worker.heartbeat()
        tasks.redis_connection().hset(worker.key, "last_heartbeat", "2026-01-01T00:00:00.000000Z")
    body = client.get("/health/ready").get_json()
    assert body["down"] == ["worker"] and body["worker_heartbeat_age_seconds"] > 3600


def test_the_liveness_check_stays_cheap(app, client, db, monkeypatch):
    """``/health`` asks only the database and Redis: a load balancer asks it every few seconds."""
    def asked(*args, **kwargs):
        raise AssertionError("/health must not ask this")
    monkeypatch.setattr(tasks, "worker_heartbeat", asked)
    monkeypatch.setattr(models, "outbox_figures", asked)
    r = client.get("/health")
    assert r.status_code == 200 and set(r.get_json()) == {"status", "down", "database", "redis"}


# --- /metrics -------------------------------------------------------------------------------------

def sample(text, name, **labels):
    """The value of one sample of the text format, or None."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    found = re.search(rf"^{name}{{{re.escape(wanted)}}} ([0-9.e+]+)$" if labels else rf"^{name} ([0-9.e+]+)$",
                      text, re.M)
    return float(found.group(1)) if found else None


def test_metrics_count_requests_by_endpoint_and_read_the_outbox_and_queue(app, client, db):
    before = client.get("/metrics").get_data(as_text=True)
    count = sample(before, "kabinets_http_requests_total", endpoint="main.index", method="GET", status="200") or 0
    assert client.get("/").status_code == 200
    assert client.get("/no-such-page").status_code == 404
    pending(models.utcnow() - timedelta(minutes=2))
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    text = r.get_data(as_text=True)
    assert sample(text, "kabinets_http_requests_total", endpoint="main.index", method="GET", status="200") == count + 1
    assert sample(text, "kabinets_http_requests_total", endpoint="unmatched", method="GET", status="404") >= 1
    assert sample(text, "kabinets_http_request_duration_seconds_count", endpoint="main.index") >= 1
    assert sample(text, "kabinets_outbox_notifications", status=outbox.PENDING) == 1
    assert sample(text, "kabinets_outbox_notifications", status=outbox.FAILED) == 0
    assert 100 <= sample(text, "kabinets_outbox_oldest_pending_seconds") <= 200
    with app.app_context():
        tasks.queue().enqueue("tasks.notifications.send_notification", 999999)
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "kabinets_queue_jobs", state="queued") >= 1
    assert sample(text, "kabinets_queue_jobs", state="failed") == 0


def test_metrics_need_the_token_or_an_allowed_network(app, client, db):
    app.config["METRICS_TOKEN"] = "s3cret-token-of-the-scraper"
    app.config["METRICS_NETWORKS"] = O.parse_networks("10.0.0.0/8")
    assert client.get("/metrics").status_code == 404  # 127.0.0.1 is not in the list
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret-token-of-the-scraper"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code == 200
    create_user(app, staff_role="admin", email="admin@example.lv", phone="+37121111199")
    login(client, "admin@example.lv")
    assert client.get("/metrics").status_code == 404  # signing in is no key


def test_production_serves_metrics_to_nobody_by_default():
    from portal import default_config, settle_environment
    config = {**default_config("/tmp"), "PORTAL_ENV": "production", "SECRET_KEY": "x" * 40, "EID_DEV_BROKER": False,
              "METRICS_ALLOWED_NETWORKS": None, "METRICS_TOKEN": ""}
    try:
        settle_environment(config, "/tmp")
    except Exception as refused:  # noqa: BLE001 — another production check may stop it later; ours ran first
        assert "METRICS" not in str(refused)
    assert config["METRICS_ALLOWED_NETWORKS"] == "" and not config["METRICS_TOKEN"]


# --- The job dashboard ------------------------------------------------------------------------------

def signed_in(app, role, email):
    create_user(app, staff_role=role, email=email, phone=f"+3712{abs(hash(email)) % 10**7:07d}")
    client = app.test_client()
    assert login(client, email).status_code == 303
    return client


def test_only_administrators_reach_the_job_dashboard(app, client, db):
    r = client.get("/staff/jobs/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    create_user(app, email="anna@example.lv")
    login(client, "anna@example.lv")
    for url in ("/staff/jobs/", "/staff/jobs/0/view/workers", "/staff/jobs/0/data/queues.json"):
        assert client.get(url).status_code == 404, url
    for role in ("consultant", "supervisor"):
        other = signed_in(app, role, f"{role}@example.lv")
        assert other.get("/staff/jobs/").status_code == 404
        assert other.get("/staff/jobs/0/data/queues.json").status_code == 404


def test_the_job_dashboard_runs_under_a_csp_of_its_own_with_our_csrf(app, db):
    admin = signed_in(app, "admin", "admin@example.lv")
    with app.app_context():
        tasks.queue().enqueue("tasks.notifications.send_notification", 999999)
    r = admin.get("/staff/jobs/")
    page, csp = r.get_data(as_text=True), r.headers["Content-Security-Policy"]
    assert r.status_code == 200 and "RQ dashboard" in page
    nonce = re.search(r"'nonce-([A-Za-z0-9_-]+)'", csp).group(1)
    assert f'<script type="text/javascript" nonce="{nonce}">' in page and '"X-CSRFToken"' in page
    assert "'unsafe-eval'" in csp and "'unsafe-inline'" not in csp.split("style-src-attr")[0]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    assert admin.get("/staff/jobs/").headers["Content-Security-Policy"] != csp  # a nonce per answer
    strict = admin.get("/staff").headers["Content-Security-Policy"]
    assert "unsafe-eval" not in strict and "nonce" not in strict  # every other page: the strict CSP
    queues = admin.get("/staff/jobs/0/data/queues.json").get_json()
    assert app.config["RQ_QUEUE"] in [q["name"] for q in queues["queues"]]
    # its actions are POSTs with our CSRF token; "requeue all" by a link changes nothing
    assert admin.get(f"/staff/jobs/requeue/{app.config['RQ_QUEUE']}").status_code == 405
    assert admin.post(f"/staff/jobs/requeue/{app.config['RQ_QUEUE']}").status_code == 400
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    r = admin.post(f"/staff/jobs/requeue/{app.config['RQ_QUEUE']}", headers={"X-CSRFToken": token})
    assert r.status_code == 200 and r.get_json()["status"] == "OK"
    assert admin.get("/staff/jobs/1/view/queues").status_code == 404  # one Redis only


def test_the_staff_area_links_the_job_dashboard_for_administrators(app, db):
    assert 'href="/staff/jobs/"' in signed_in(app, "admin", "admin@example.lv").get("/staff").get_data(as_text=True)
    assert 'href="/staff/jobs/"' not in signed_in(app, "supervisor", "sup@example.lv").get("/staff").get_data(
        as_text=True)


@pytest.mark.parametrize("method, url", [
    ("get", "/staff/jobs/0/view/job/no-such-job"),
    ("get", "/staff/jobs/0/data/job/no-such-job.json"),
    ("get", "/staff/jobs/0/view/jobs/{queue}/bogus/8/asc/1"),
    ("get", "/staff/jobs/0/data/jobs/{queue}/bogus/8/asc/1.json"),
    ("get", "/staff/jobs/0/data/jobs/{queue}/failed/0/asc/0.json"),
    ("get", "/staff/jobs/0/data/jobs/{queue}/failed/99999999999/sideways/1.json"),
    ("get", "/staff/jobs/0/data/jobs/%00/queued/8/asc/1.json"),
    ("post", "/staff/jobs/job/no-such-job/requeue"),
    ("post", "/staff/jobs/job/no.such:job/requeue"),
    ("get", "/staff/jobs/0/view/job/%E2%80%AE"),
    ("post", "/staff/jobs/job/no-such-job/delete"),
    ("post", "/staff/jobs/queue/{queue}/bogus/empty"),
    ("post", "/staff/jobs/queue/{queue}/compact"),
    ("post", "/staff/jobs/requeue/no-such-queue"),
    ("post", "/staff/jobs/queue/no-such-queue/compact"),
    ("post", "/staff/jobs/queue/no-such-queue/failed/empty"),
])
def test_the_job_dashboard_answers_hostile_requests_without_a_500(app, db, method, url):
    admin = signed_in(app, "admin", "admin@example.lv")
    token = re.search(r'"X-CSRFToken": "([^"]+)"', admin.get("/staff/jobs/").get_data(as_text=True)).group(1)
    r = getattr(admin, method)(url.format(queue=app.config["RQ_QUEUE"]), headers={"X-CSRFToken": token})
    assert r.status_code < 500, (url, r.status_code)
