"""Production is the default, and it starts only when fit for it: real mail, SMS and signing
backends, a SECRET_KEY, no demo accounts; Secure session cookie and HSTS on every answer."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

import adapters
import models
from conftest import build_app, create_user, login
from live_portal import gunicorn_portal
from models import demo
from portal import ConfigurationRefused

ROOT = Path(__file__).resolve().parent.parent

# Every variable that picks the environment or a backend: each test here sets its own.
CHOOSING = ("PORTAL_ENV", "SECRET_KEY", "SESSION_COOKIE_SECURE", "MAIL_BACKEND", "MAIL_SERVER",
            "SMS_BACKEND", "SMS_GATEWAY_URL", "SIGNING_BACKEND", "IDENTIFICATION_BACKEND",
            "IDENTIFICATION_START_URL", "IDENTIFICATION_WEBHOOK_SECRET")
REAL_BACKENDS = {"MAIL_SERVER": "127.0.0.1", "SMS_GATEWAY_URL": "http://127.0.0.1:9/sms",
                 "SIGNING_BACKEND": "none"}


@pytest.fixture
def environment(monkeypatch):
    """A process environment with none of the choosing variables set; returns a setter."""
    for name in CHOOSING:
        monkeypatch.delenv(name, raising=False)

    def set_(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, value)
    return set_


@pytest.fixture
def database(tmp_path, sqlite_template):
    path = tmp_path / "production.sqlite3"
    shutil.copy(sqlite_template, path)
    yield f"sqlite:///{path}"
    models.db.close()


@pytest.fixture(autouse=True)
def _trust_store(monkeypatch, signing_trust_dir):
    """Production needs a trust store for signed containers: the tests' own root."""
    monkeypatch.setenv("SIGNING_TRUST_DIR", str(signing_trust_dir))


def start(database, redis_url, **config):
    """create_app as a deployment calls it: configuration from the environment, plus only
    where the data lives."""
    return build_app({"SECRET_KEY": "production-test", "DATABASE_URL": database, "REDIS_URL": redis_url,
                      "RATELIMIT_STORAGE_URI": "memory://", **config})


def test_unset_portal_env_is_production_and_starts_with_real_backends(environment, database, redis_url):
    environment(**REAL_BACKENDS)
    app = start(database, redis_url)
    assert app.config["PORTAL_ENV"] == "production"
    outside = adapters.of(app)
    assert (outside.mail.name, outside.sms.name, outside.signing.name) == ("smtp", "http", "none")
    assert outside.development_parts() == []
    assert app.test_client().get("/login").status_code == 200


def test_production_default_refuses_every_development_backend_naming_its_setting(environment, database,
                                                                                redis_url):
    with pytest.raises(adapters.DevelopmentPartsRefused) as refused:
        start(database, redis_url)
    message = str(refused.value)
    for part, setting in [("mail=dev", "MAIL_SERVER"), ("sms=dev", "SMS_GATEWAY_URL"),
                          ("signing=dev", "SIGNING_BACKEND=none")]:
        assert part in message and setting in message, message
    assert "PORTAL_ENV=development" in message


@pytest.mark.parametrize("missing, part, setting", [
    ("MAIL_SERVER", "mail=dev", "MAIL_SERVER"),
    ("SMS_GATEWAY_URL", "sms=dev", "SMS_GATEWAY_URL"),
    ("SIGNING_BACKEND", "signing=dev", "SIGNING_BACKEND=none"),
])
def test_production_refuses_one_development_backend_and_names_only_its_setting(
        environment, database, redis_url, missing, part, setting):
    environment(**{name: value for name, value in REAL_BACKENDS.items() if name != missing})
    with pytest.raises(adapters.DevelopmentPartsRefused) as refused:
        start(database, redis_url)
    message = str(refused.value)
    assert part in message and setting in message
    assert [p for p in ("mail=dev", "sms=dev", "signing=dev") if p in message] == [part], message


def test_production_refuses_a_development_backend_chosen_by_name(environment, database, redis_url):
    environment(**REAL_BACKENDS, SMS_BACKEND="dev")
    with pytest.raises(adapters.DevelopmentPartsRefused, match="sms=dev"):
        start(database, redis_url)


def test_production_refuses_to_start_without_a_secret_key(environment, database, redis_url):
    environment(**REAL_BACKENDS)
    with pytest.raises(ConfigurationRefused, match="SECRET_KEY must be set"):
        start(database, redis_url, SECRET_KEY=None)


def test_an_unknown_portal_env_is_refused(environment, database, redis_url):
    environment(**REAL_BACKENDS, PORTAL_ENV="prod")
    with pytest.raises(ConfigurationRefused, match="PORTAL_ENV='prod'"):
        start(database, redis_url)


def test_development_is_asked_for_by_name(environment, database, redis_url):
    environment(PORTAL_ENV="development")
    app = start(database, redis_url)
    assert adapters.of(app).development_parts() == ["mail=dev", "sms=dev", "signing=dev", "identification=dev"]
    assert not app.config["SESSION_COOKIE_SECURE"]
    assert "dev_identification.page" in {r.endpoint for r in app.url_map.iter_rules()}


def test_production_refuses_the_development_identification_provider_by_name(environment, database, redis_url):
    """ONB-9: the development provider's pages accept any outcome, so production never starts with it."""
    environment(**REAL_BACKENDS, IDENTIFICATION_BACKEND="dev")
    with pytest.raises(adapters.DevelopmentPartsRefused) as refused:
        start(database, redis_url)
    message = str(refused.value)
    assert "identification=dev" in message and "IDENTIFICATION_BACKEND=hosted" in message
    assert [p for p in ("mail=dev", "sms=dev", "signing=dev") if p in message] == [], message


def test_production_has_no_identification_provider_unless_one_is_configured(environment, database, redis_url):
    environment(**REAL_BACKENDS)
    app = start(database, redis_url)
    assert adapters.of(app).identification.name == "none" and not adapters.of(app).identification.available
    assert "dev_identification.page" not in {r.endpoint for r in app.url_map.iter_rules()}
    assert app.test_client().get("/dev/identification/anything").status_code == 404


def test_a_hosted_provider_in_production_needs_its_start_address_and_its_own_webhook_secret(
        environment, database, redis_url):
    environment(**REAL_BACKENDS, IDENTIFICATION_BACKEND="hosted")
    with pytest.raises(ConfigurationRefused, match="IDENTIFICATION_START_URL"):
        start(database, redis_url)
    environment(IDENTIFICATION_START_URL="https://id.example.lv/start?s={session}&back={return_url}")
    with pytest.raises(ConfigurationRefused, match="IDENTIFICATION_WEBHOOK_SECRET"):
        start(database, redis_url)
    environment(IDENTIFICATION_WEBHOOK_SECRET="shared-with-the-provider")
    provider = adapters.of(start(database, redis_url)).identification
    assert provider.name == "hosted" and provider.secret == b"shared-with-the-provider"
    assert provider.start("abc", "/back?x=1") == "https://id.example.lv/start?s=abc&back=%2Fback%3Fx%3D1"


def test_production_refuses_to_start_on_a_database_with_demo_accounts(environment, database, redis_url):
    environment(PORTAL_ENV="development")
    with start(database, redis_url).app_context(), models.db.connection_context():
        demo.seed()
    environment(**REAL_BACKENDS, PORTAL_ENV="production")
    with pytest.raises(ConfigurationRefused) as refused:
        start(database, redis_url)
    assert "admin@kabinets.test" in str(refused.value) and "demo" in str(refused.value)


def test_production_refuses_test_domain_addresses_saying_why(environment, database, redis_url):
    """The demo accounts' .test addresses sign in in development only (tests/test_demo.py);
    production refuses them, naming the reserved domain rather than blaming the format."""
    environment(**REAL_BACKENDS)
    client = start(database, redis_url).test_client()
    r = login(client, "admin@kabinets.test", demo.PASSWORD)
    assert r.status_code == 422
    error = re.search(r'id="identifier-error">([^<]*)<', r.get_data(as_text=True)).group(1)
    assert "“kabinets.test”" in error and "rezervēts domēns" in error
    assert "formātā" not in error  # not "enter it in the form +37120000000"


def test_production_starts_on_a_database_not_created_yet(environment, tmp_path, redis_url):
    """`flask init-db` must be able to run: the demo check cannot find a table there."""
    environment(**REAL_BACKENDS)
    app = start(f"sqlite:///{tmp_path}/empty.sqlite3", redis_url)
    assert app.config["PORTAL_ENV"] == "production"
    models.db.close()


def test_seed_demo_is_refused_in_production_by_default(environment, database, redis_url):
    environment(**REAL_BACKENDS)
    app = start(database, redis_url)
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0 and "refused" in result.output
    with app.app_context(), models.db.connection_context():
        assert models.User.select().count() == 0


def test_flask_command_with_a_forgotten_portal_env_refuses_and_says_what_to_set(tmp_path):
    """The command line as an operator types it, PORTAL_ENV forgotten: no demo data, and a
    message naming what to set instead of a development portal."""
    env = {name: value for name, value in os.environ.items()
           if name not in CHOOSING and not name.startswith(("MAIL_", "SMS_"))}
    env.update(SECRET_KEY="production-test", DATABASE_URL=f"sqlite:///{tmp_path}/cli.sqlite3")
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "portal", "seed-demo"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "DevelopmentPartsRefused" in result.stderr and "MAIL_SERVER" in result.stderr, result.stderr[-2000:]
    assert "Demo data loaded" not in result.stdout


# --- Cookies and HSTS ------------------------------------------------------------------

def test_production_marks_the_session_cookie_secure_and_sends_hsts(environment, database, redis_url):
    environment(**REAL_BACKENDS)
    app = start(database, redis_url)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    create_user(app)
    client = app.test_client()  # plain HTTP, as behind a proxy that ends TLS
    r = login(client, "anna@example.lv")
    assert r.status_code == 303
    cookie = client.get_cookie("kabinets_session")
    assert cookie.secure and cookie.http_only and cookie.same_site == "Lax"
    for response in (r, client.get("/login"), client.get("/static/portal.css"), client.get("/nowhere")):
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_session_cookie_secure_can_be_switched_off_by_name(environment, database, redis_url):
    environment(**REAL_BACKENDS, SESSION_COOKIE_SECURE="0")
    assert start(database, redis_url).config["SESSION_COOKIE_SECURE"] is False


def test_development_sends_no_hsts(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers


@pytest.mark.parametrize("proxies, secure", [(1, True), (0, False)])
def test_https_reported_by_a_trusted_proxy_marks_the_cookie_secure(environment, database, redis_url,
                                                                   proxies, secure):
    """Development over plain HTTP: only a trusted proxy's X-Forwarded-Proto counts as HTTPS."""
    environment(PORTAL_ENV="development")
    app = start(database, redis_url, TRUSTED_PROXIES=proxies)
    r = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert ("Secure" in r.headers["Set-Cookie"]) is secure


# --- Errors ------------------------------------------------------------------------------

def test_production_answers_an_unexpected_error_with_the_generic_page_and_logs_it(
        environment, database, redis_url, caplog):
    """ASVS 13.4.2, 16.5.1, 16.3.4: no debug mode; the visitor gets the generic page in their
    language without the error, and the log gets the error with its traceback."""
    environment(**REAL_BACKENDS)
    app = start(database, redis_url)
    assert app.debug is False and app.testing is False and not app.config["PROPAGATE_EXCEPTIONS"]

    @app.route("/boom")
    def boom():
        raise RuntimeError("select * from secret_table -- SECRET_KEY=production-test")

    with caplog.at_level("ERROR", logger=app.logger.name):
        r = app.test_client().get("/boom")
    assert r.status_code == 500
    body = r.get_data(as_text=True)
    assert "Radās kļūda" in body  # "Something went wrong", in Latvian
    for leak in ("secret_table", "production-test", "Traceback", "RuntimeError", "test_production.py"):
        assert leak not in body, leak
    assert r.headers["Content-Security-Policy"] and r.headers["Cache-Control"] == "no-store"
    logged = [record for record in caplog.records if record.exc_info]
    assert logged and "/boom" in logged[0].getMessage()
    assert logged[0].exc_info[0] is RuntimeError


# --- gunicorn ---------------------------------------------------------------------------

def test_gunicorn_does_not_name_itself(app, tmp_path):
    """gunicorn.conf.py, read from the repository's root as the Procfile runs it."""
    with gunicorn_portal(app, tmp_path) as (base, _master, _log):
        for path in ("/login", "/static/portal.css", "/nowhere"):
            r = requests.get(base + path, timeout=30)
            assert "Server" not in r.headers, (path, r.headers["Server"])
            assert r.headers["Date"] and r.headers["X-Content-Type-Options"] == "nosniff"
