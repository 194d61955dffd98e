"""Fixtures for the browser tests: a live process stack and Debian's Chromium.

The stack is the one production runs: the portal served over HTTP by werkzeug
in a background thread, a real ``rq worker`` process sending the notifications,
the aiosmtpd server of tests/conftest.py receiving the e-mails, and the
development SMS backend writing texts to DevOutbox. Codes are read from those
messages, as a user would read them.

Every test here is marked ``browser`` (registered in pytest.ini) and put in the
xdist group "browser", so they share one worker (one live stack, one Chromium)
under ``--dist loadgroup``.
"""
import itertools
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

import models
from conftest import create_user, make_config, sms_to  # tests/conftest.py
from blueprints.extensions import limiter
from portal import create_app

from .helpers import ARTIFACTS, last_code, temporary_password

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
MESSAGE_TIMEOUT = 20  # seconds the worker may take to deliver a message


@pytest.hookimpl(tryfirst=True)  # before xdist reads the group markers
def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))


# --- The live stack -------------------------------------------------------------------

class LiveServer:
    """The running portal, its worker, and where its messages arrive."""

    def __init__(self, app, url, worker, worker_log, mailbox):
        self.app, self.url, self.worker, self.worker_log = app, url, worker, worker_log
        self.mailbox = mailbox
        self.database = models.db.obj

    def _wait(self, what, probe):
        deadline = time.monotonic() + MESSAGE_TIMEOUT
        while time.monotonic() < deadline:
            found = probe()
            if found:
                return found
            if self.worker.poll() is not None:
                pytest.fail(f"the RQ worker exited ({self.worker.returncode}) while waiting "
                            f"for {what}:\n{self.worker_log.read_text()[-4000:]}")
            time.sleep(0.1)
        pytest.fail(f"timed out after {MESSAGE_TIMEOUT}s waiting for {what}; worker log:\n"
                    f"{self.worker_log.read_text()[-4000:]}")

    def emails(self, address, count=1):
        """The plain-text bodies of the e-mails to address, once at least count arrived."""
        def arrived():
            messages = self.mailbox.to(address)
            if len(messages) >= count:
                return [m.get_body(("plain",)).get_content() for m in messages]
            return None
        return self._wait(f"e-mail no. {count} to {address}", arrived)

    def texts(self, phone, count=1):
        """The SMS texts to phone (E.164), once at least count arrived."""
        def arrived():
            texts = sms_to(self.app, phone)
            return texts if len(texts) >= count else None
        return self._wait(f"SMS no. {count} to {phone}", arrived)

    def email_code(self, address, count=1):
        return last_code(self.emails(address, count)[count - 1])

    def sms_code(self, phone, count=1):
        return last_code(self.texts(phone, count)[count - 1])

    def email_password(self, address, count):
        return temporary_password(self.emails(address, count)[count - 1])

    def sms_password(self, phone, count):
        return temporary_password(self.texts(phone, count)[count - 1])

    def create_user(self, person, **fields):
        return create_user(self.app, email=person.email, phone=person.e164, **fields)

    def user(self, email):
        with self.app.app_context(), models.db.connection_context():
            return models.User.get(models.User.email == email)


def _start_worker(config, log_path):
    """``rq worker`` as its own process; tasks.py builds its app from these variables."""
    env = dict(os.environ,
               DATABASE_URL=config["DATABASE_URL"], REDIS_URL=config["REDIS_URL"],
               RQ_QUEUE=config["RQ_QUEUE"], SECRET_KEY=config["SECRET_KEY"],
               RATELIMIT_STORAGE_URI=config["REDIS_URL"], BASE_URL=config["BASE_URL"],
               MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=str(config["MAIL_PORT"]),
               SMS_BACKEND="dev", PORTAL_ENV="development", PYTHONPATH=str(ROOT),
               UPLOAD_DIR=config.get("UPLOAD_DIR", ""))
    rq = Path(sys.executable).parent / "rq"
    log = open(log_path, "w")
    # As in the Procfile: -c tasks.worker builds the app once, before jobs fork.
    process = subprocess.Popen([str(rq), "worker", "-c", "tasks.worker", "--url", config["REDIS_URL"],
                                "--path", str(ROOT), config["RQ_QUEUE"]], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    return process


@pytest.fixture(scope="package")
def live_server(tmp_path_factory, sqlite_template, redis_url, smtp_server, signing_trust_dir):
    """The portal on a free port, with a real RQ worker, on one migrated SQLite file; it
    trusts the tests' certification hierarchy (tests/pki.py) for signed containers."""
    workdir = tmp_path_factory.mktemp("live")
    path = workdir / "kabinets.sqlite3"
    shutil.copy(sqlite_template, path)
    config = make_config(f"sqlite:///{path}", redis_url, smtp_server.port, UPLOAD_DIR=str(workdir / "uploads"),
                         SIGNING_TRUST_DIR=signing_trust_dir)
    worker_log = workdir / "worker.log"
    worker = _start_worker(config, worker_log)
    app = create_app(config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    live = LiveServer(app, f"http://127.0.0.1:{server.server_port}", worker, worker_log,
                      smtp_server.handler)
    yield live
    server.shutdown()
    thread.join(5)
    worker.terminate()
    try:
        worker.wait(10)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(5)
    models.db.close()


@pytest.fixture(autouse=True)
def _live_state(request):
    """Each browser test starts with fresh rate limits, on the live database."""
    if "live_server" not in request.fixturenames:
        yield
        return
    live = request.getfixturevalue("live_server")
    if models.db.obj is not live.database:  # another app was built in this process meanwhile
        models.db.initialize(live.database)
    with live.app.app_context():
        limiter.reset()
    yield


_serial = itertools.count(1)


@dataclass
class Person:
    email: str
    phone: str  # national, as typed into the registration form

    @property
    def e164(self):
        return "+371" + self.phone


@pytest.fixture
def person(live_server):
    """Contact details used by no other test of this run."""
    n = next(_serial)
    return Person(email=f"klients{n}@example.lv", phone=f"26{n:06d}")


# --- Chromium -------------------------------------------------------------------------

@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: apt-get install -y chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# Records CSP violations from inside the page (init scripts are not subject to the CSP).
CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')
                              + ' at ' + e.sourceFile + ':' + e.lineNumber);
});
"""


def _new_context(browser, live_server, **options):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1100, "height": 900},
                                  **options)
    context.set_default_timeout(10_000)
    return context


@pytest.fixture(params=["js", "nojs"])
def js(request):
    """True with JavaScript on (HTMX working), False with it off: tests run both ways."""
    return request.param == "js"


def _console_error(page, message):
    # Chromium asks for /favicon.ico on its own; the portal has none (reported to the lead).
    if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
        page.console_errors.append(f"{message.text} ({message.location.get('url')})")


@pytest.fixture
def page(browser, live_server, js):
    """A fresh browser tab (own cookies) with JavaScript on or off."""
    context = _new_context(browser, live_server, java_script_enabled=js)
    if js:
        context.add_init_script(CSP_RECORDER)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: _console_error(page, m))
    page.on("pageerror", lambda e: page.console_errors.append(f"uncaught: {e}"))
    yield page
    context.close()


@pytest.fixture
def axe_page(browser, live_server):
    """A JavaScript tab for axe-core: bypass_csp lets the inline axe script run."""
    context = _new_context(browser, live_server, java_script_enabled=True, bypass_csp=True)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session", autouse=True)
def _artifacts_dir():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

