"""Kabinets: the application factory.

``create_app`` reads configuration from the environment (production unless
``PORTAL_ENV=development``; production refuses to start with a development backend or
demo data), binds the extensions, registers one blueprint per area, adds the security
headers every response carries, and the CLI commands ``init-db``, ``seed-demo``,
``create-staff``, ``import-register``, ``sweep`` and ``sweep-storage``.
"""
import hashlib
import os
import re
import secrets
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import peewee
import psycopg2
from flask import (Flask, appcontext_pushed, flash, g, has_request_context, make_response, redirect,
                   render_template, request, session, url_for)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import format_decimal, gettext, lazy_gettext as _l
from flask_limiter import RateLimitExceeded
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFError
from playhouse.db_url import connect as db_connect, parse as parse_db_url
from playhouse.pool import MaxConnectionsExceeded
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

import adapters
import models
import rules
from adapters import redis_guard
from blueprints.extensions import (SummarisedWarnings, babel, compress, csrf, htmx, limiter, login_manager,
                                   retry_minutes)
from models.base import ConnectionPool, close_connection
from models.runtime import configure as configure_domain
from rules import finance as finance_rules, operations as operations_rules, outbox, status as status_rules
from rules.i18n import set_translator
from rules.keys import Keyring
from rules.sanitize import strip_bidi_controls
from rules.sessions import last_seen_due
from rules.uploads import SWEEP_BLOB_GRACE, SWEEP_PART_GRACE
from uploads import format_size

BASE_DIR = Path(__file__).resolve().parent

PRODUCTION, DEVELOPMENT = "production", "development"
DEVELOPMENT_SUPPORT_PHONE = "+371 6000 0000"  # made up: a real deployment sets SUPPORT_PHONE
DEVELOPMENT_INVOICE_IBAN = "LV80BANK0000435195001"  # ISO 13616's example: a real deployment sets INVOICE_IBAN


class ConfigurationRefused(RuntimeError):
    """The configuration is not fit for the environment it names; the message says what to set."""


class PortalSessionInterface(SecureCookieSessionInterface):
    """Session cookie marked Secure whenever the request itself came over HTTPS."""

    def get_cookie_secure(self, app):
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


class BoundedInt(IntegerConverter):
    """``<int:…>`` in every route takes 0 … 2**31 - 1 (the range of a database id on
    PostgreSQL); a longer number is a 404, not an overflow in the query."""

    def __init__(self, map, fixed_digits=0, min=None, max=rules.MAX_ID, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


def _switch(value):
    """An on/off setting from the environment: "1" on, "0" off, unset None (the default decides)."""
    return None if value in (None, "") else value == "1"


def default_config(instance_path):
    """Configuration from the environment. Unset, ``PORTAL_ENV`` is production: development
    (the dev outbox and signing page, demo data) is asked for by name."""
    env = os.environ.get
    database_url = env("DATABASE_URL") or f"sqlite:///{instance_path}/kabinets.sqlite3"
    return {
        "PORTAL_ENV": env("PORTAL_ENV") or PRODUCTION,
        "TRUSTED_PROXIES": int(env("TRUSTED_PROXIES", "0")),
        # Unset: production refuses to start, development keeps one under instance/.
        "SECRET_KEY": env("SECRET_KEY") or None,
        # Earlier secrets, comma-separated: what they sealed can still be opened after a rotation.
        "SECRET_KEY_PREVIOUS": [k for k in env("SECRET_KEY_PREVIOUS", "").split(",") if k],
        "SIGNING_WEBHOOK_SECRET": env("SIGNING_WEBHOOK_SECRET", ""),  # empty: derived from SECRET_KEY
        "DATABASE_URL": database_url,
        # PostgreSQL: connections each process keeps (at least gunicorn's --threads), how long
        # a request waits for one when all are busy, and after how many seconds one is replaced.
        "DATABASE_POOL_SIZE": int(env("DATABASE_POOL_SIZE") or 8),
        "DATABASE_POOL_WAIT_SECONDS": float(env("DATABASE_POOL_WAIT_SECONDS") or 5),
        "DATABASE_POOL_RECYCLE_SECONDS": int(env("DATABASE_POOL_RECYCLE_SECONDS") or 300),
        "REDIS_URL": env("REDIS_URL", "redis://127.0.0.1:6379/0"),
        # /metrics (blueprints/operations.py): a bearer token, and/or networks that may scrape it
        # without one (comma-separated CIDRs). Unset in production: nobody (404).
        "METRICS_TOKEN": env("METRICS_TOKEN", ""),
        "METRICS_ALLOWED_NETWORKS": env("METRICS_ALLOWED_NETWORKS") or None,
        # Seconds a web process waits for Redis (to connect, for each answer); after a failure
        # it leaves that Redis alone for a few seconds (adapters/redis_guard.py).
        "REDIS_TIMEOUT": float(env("REDIS_TIMEOUT") or redis_guard.TIMEOUT),
        "RQ_QUEUE": env("RQ_QUEUE", "kabinets"),
        # Links in e-mails; unset, the port the Procfile's web process listens on (make run PORT=…).
        "BASE_URL": env("BASE_URL") or f"http://127.0.0.1:{env('WEB_PORT') or 5000}",
        # The institution's support phone, shown beside the support hours as a tel: link (as
        # written here, e.g. "+371 6777 4118"). Unset: a made-up number in development, none
        # shown in production.
        "SUPPORT_PHONE": env("SUPPORT_PHONE"),
        # Where clients pay invoices (the PDF, the page and the EPC069-12 QR code). Unset: a
        # made-up account in development; none in production (the QR code is not shown then).
        "INVOICE_PAYEE_NAME": env("INVOICE_PAYEE_NAME"),
        "INVOICE_IBAN": env("INVOICE_IBAN"),
        "INVOICE_BIC": env("INVOICE_BIC") or "",
        # Days an unfinished application waits before its save-and-return reminder (tasks/applications.py).
        "APPLICATION_REMINDER_DAYS": int(env("APPLICATION_REMINDER_DAYS") or 3),
        "MAIL_BACKEND": env("MAIL_BACKEND") or ("smtp" if env("MAIL_SERVER") else "dev"),
        "MAIL_SERVER": env("MAIL_SERVER", "127.0.0.1"),
        "MAIL_PORT": int(env("MAIL_PORT", "25")),
        "MAIL_USE_TLS": env("MAIL_USE_TLS", "") == "1",
        "MAIL_USERNAME": env("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": env("MAIL_PASSWORD", ""),
        "MAIL_FROM": env("MAIL_FROM", "Kabinets <kabinets@localhost>"),
        "MAIL_TIMEOUT": float(env("MAIL_TIMEOUT", "15")),  # seconds for each answer of the server
        "SMS_BACKEND": env("SMS_BACKEND") or ("http" if env("SMS_GATEWAY_URL") else "dev"),
        "SMS_GATEWAY_URL": env("SMS_GATEWAY_URL", ""),
        "SMS_GATEWAY_TOKEN": env("SMS_GATEWAY_TOKEN", ""),
        "SMS_SENDER": env("SMS_SENDER", "Kabinets"),
        "SMS_TIMEOUT": float(env("SMS_TIMEOUT", "15")),
        "SIGNING_BACKEND": env("SIGNING_BACKEND") or "dev",  # dev or none (adapters/signing.py)
        # The identification provider (adapters/identification.py): dev (its pages under
        # /dev/identification; development only), hosted (IDENTIFICATION_START_URL with {session}
        # and {return_url}) or none. Unset: dev in development, none in production. The webhook's
        # shared secret (empty: derived from SECRET_KEY, development only) and its replay window.
        "IDENTIFICATION_BACKEND": env("IDENTIFICATION_BACKEND") or None,
        "IDENTIFICATION_START_URL": env("IDENTIFICATION_START_URL", ""),
        "IDENTIFICATION_WEBHOOK_SECRET": env("IDENTIFICATION_WEBHOOK_SECRET", ""),
        "IDENTIFICATION_WEBHOOK_MAX_AGE": int(env("IDENTIFICATION_WEBHOOK_MAX_AGE") or 300),
        # Trusted e-identity: the OpenID Connect brokers (a JSON list, adapters/identity.py), and
        # the development broker under /dev/eid (unset: on in development; production refuses it).
        "EID_PROVIDERS": env("EID_PROVIDERS", ""),
        "EID_DEV_BROKER": _switch(env("EID_DEV_BROKER")),
        # Staff act only from a strong sign-in (two-step or e-identity): unset, on (issue 12).
        "STAFF_SECOND_FACTOR": _switch(env("STAFF_SECOND_FACTOR")),
        # Passkeys (WebAuthn): the relying party's id (a domain) and the origin browsers report.
        # Unset: the host and the origin of BASE_URL (blueprints/passkeys.py).
        "WEBAUTHN_RP_ID": env("WEBAUTHN_RP_ID") or None,
        "WEBAUTHN_ORIGIN": env("WEBAUTHN_ORIGIN") or None,
        # A send job that claimed a notification longer ago than this is presumed dead.
        "NOTIFICATION_LEASE_SECONDS": int(env("NOTIFICATION_LEASE_SECONDS") or outbox.CLAIM_LEASE_SECONDS),
        # argon2 hashes and checks a process runs at a time (each holds 64 MiB while it runs).
        "PASSWORD_CHECKS_AT_ONCE": int(env("PASSWORD_CHECKS_AT_ONCE") or 1),
        "RATELIMIT_STORAGE_URI": env("RATELIMIT_STORAGE_URI") or env("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "RATELIMIT_KEY_PREFIX": env("RATELIMIT_KEY_PREFIX", "kabinets"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis down or hung: limits are counted in each process's memory meanwhile, and a
        # failure while counting never fails the request (sign-in and recovery keep working).
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "BABEL_DEFAULT_LOCALE": "lv",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Riga",
        "BABEL_TRANSLATION_DIRECTORIES": str(BASE_DIR / "translations"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Unset: on in production (and on any HTTPS request), off in development.
        "SESSION_COOKIE_SECURE": _switch(env("SESSION_COOKIE_SECURE")),
        "SESSION_COOKIE_NAME": "kabinets_session",
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session, which has its own timeouts
        # The largest body any request may send (a backstop); upload views lower it
        # per request to their policy with uploading.limit_request_size.
        "MAX_CONTENT_LENGTH": 160 * 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 256 * 1024,  # any one non-file form field
        "STORAGE_BACKEND": env("STORAGE_BACKEND", "local"),  # local or s3 (adapters/storage.py)
        "UPLOAD_DIR": env("UPLOAD_DIR") or f"{instance_path}/uploads",
        "S3_BUCKET": env("S3_BUCKET", ""),
        "S3_ENDPOINT_URL": env("S3_ENDPOINT_URL", ""),
        "S3_REGION": env("S3_REGION", ""),
        # The storage sweep removes unreferenced blobs and unfinished uploads this old (hours).
        "STORAGE_SWEEP_BLOB_HOURS": float(env("STORAGE_SWEEP_BLOB_HOURS")
                                          or SWEEP_BLOB_GRACE.total_seconds() / 3600),
        "STORAGE_SWEEP_PART_HOURS": float(env("STORAGE_SWEEP_PART_HOURS")
                                          or SWEEP_PART_GRACE.total_seconds() / 3600),
        # Signed containers: the qualified CAs trusted for e-signatures (PEM/DER files; in
        # production required), and how revocation is checked (uploads/trust.py).
        "SIGNING_TRUST_DIR": env("SIGNING_TRUST_DIR", ""),
        "SIGNING_REVOCATION": env("SIGNING_REVOCATION", "soft-fail"),
        "SIGNING_REVOCATION_TIMEOUT": float(env("SIGNING_REVOCATION_TIMEOUT", "10")),
        "COMPRESS_MIMETYPES": ["text/html", "text/css", "application/javascript",
                               "text/javascript", "image/svg+xml"],
        # br for modern browsers, gzip/deflate for old ones; static files are
        # streamed, and Flask-Compress streams only br, zstd or deflate.
        "COMPRESS_ALGORITHM": ["br", "gzip", "deflate"],
        "COMPRESS_ALGORITHM_STREAMING": ["br", "deflate"],
        "COMPRESS_BR_LEVEL": 5,
        "COMPRESS_MIN_SIZE": 300,
        "SEND_FILE_MAX_AGE_DEFAULT": 31536000,  # static URLs carry a content hash
    }


def settle_environment(config, instance_path):
    """Decide what depends on ``PORTAL_ENV`` once the configuration is complete (the
    environment and the ``config`` given to ``create_app``)."""
    if config["PORTAL_ENV"] not in (PRODUCTION, DEVELOPMENT):
        raise ConfigurationRefused(f"PORTAL_ENV={config['PORTAL_ENV']!r}: set production "
                                   "(the default) or development.")
    production = config["PORTAL_ENV"] == PRODUCTION
    if not config.get("SECRET_KEY"):
        if production:
            raise ConfigurationRefused("SECRET_KEY must be set in production (PORTAL_ENV=production, "
                                       "the default); on a development machine set PORTAL_ENV=development.")
        config["SECRET_KEY"] = _development_secret(instance_path)
    if config.get("SESSION_COOKIE_SECURE") is None:
        config["SESSION_COOKIE_SECURE"] = production
    if config.get("EID_DEV_BROKER") is None:
        config["EID_DEV_BROKER"] = not production
    if production and config["EID_DEV_BROKER"]:
        raise ConfigurationRefused("EID_DEV_BROKER=1: the development identity broker signs anyone in as a demo "
                                   "person; PORTAL_ENV=production does not start with it. Configure the real "
                                   "brokers in EID_PROVIDERS (README: E-identity sign-in).")
    settle_identification(config, production)
    if config.get("SUPPORT_PHONE") is None:
        config["SUPPORT_PHONE"] = "" if production else DEVELOPMENT_SUPPORT_PHONE
    if config.get("METRICS_ALLOWED_NETWORKS") is None:  # development: this machine may scrape
        config["METRICS_ALLOWED_NETWORKS"] = "" if production else "127.0.0.0/8,::1/128"
    try:
        operations_rules.parse_networks(config["METRICS_ALLOWED_NETWORKS"])
    except ValueError as error:
        raise ConfigurationRefused(f"METRICS_ALLOWED_NETWORKS: {error}") from None
    if config.get("INVOICE_IBAN") is None:
        config["INVOICE_IBAN"] = "" if production else DEVELOPMENT_INVOICE_IBAN
    config["INVOICE_IBAN"] = finance_rules.compact(config["INVOICE_IBAN"])
    config["INVOICE_BIC"] = finance_rules.compact(config.get("INVOICE_BIC"))
    if config["INVOICE_IBAN"] and not finance_rules.iban_valid(config["INVOICE_IBAN"]):
        raise ConfigurationRefused("INVOICE_IBAN is not a valid IBAN (its length or check digits).")
    if config["INVOICE_BIC"] and not finance_rules.bic_valid(config["INVOICE_BIC"]):
        raise ConfigurationRefused("INVOICE_BIC is not a valid BIC.")
    config["INVOICE_PAYEE_NAME"] = " ".join((config.get("INVOICE_PAYEE_NAME") or "Kabinets").split())
    if len(config["INVOICE_PAYEE_NAME"]) > finance_rules.EPC_NAME_MAX:
        raise ConfigurationRefused("INVOICE_PAYEE_NAME must be at most 70 characters.")


def settle_identification(config, production):
    """The identification provider: unset, the development one in development and none in
    production (which refuses the development one by name: ``adapters.refuse_development_parts``);
    a hosted provider needs its start address and, in production, a webhook secret of its own."""
    if not config.get("IDENTIFICATION_BACKEND"):
        config["IDENTIFICATION_BACKEND"] = "none" if production else "dev"
    if config["IDENTIFICATION_BACKEND"] == "hosted":
        if "{session}" not in (config.get("IDENTIFICATION_START_URL") or ""):
            raise ConfigurationRefused("IDENTIFICATION_BACKEND=hosted needs IDENTIFICATION_START_URL, the "
                                       "provider's start address with {session} (and {return_url}) in it.")
        if production and not config.get("IDENTIFICATION_WEBHOOK_SECRET"):
            raise ConfigurationRefused("IDENTIFICATION_BACKEND=hosted needs IDENTIFICATION_WEBHOOK_SECRET, the "
                                       "secret the provider signs its webhooks with.")


def refuse_development_parts(app):
    """Production starts only with real backends and without the demo accounts."""
    if app.config["PORTAL_ENV"] != PRODUCTION:
        return
    adapters.refuse_development_parts(adapters.of(app))
    from models import demo
    try:
        with models.db.connection_context():
            found = demo.present()
    except DATABASE_UNAVAILABLE + (peewee.DatabaseError, psycopg2.Error) as error:
        # No database yet (before init-db) or not reachable now: starting is still right, as
        # for any outage; the check runs at the next start.
        app.logger.warning("Could not look for demo accounts at start-up: %s", error)
        return
    if found:
        raise ConfigurationRefused(
            f"The database holds demo accounts ({', '.join(found)}), whose password is public: "
            "PORTAL_ENV=production does not start with them. Delete them, or use this database "
            "with PORTAL_ENV=development only.")


def _development_secret(instance_path):
    """A random key kept under instance/ so development sessions survive restarts."""
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def create_app(config=None):
    """Build the portal; ``config`` overrides the environment (tests use it)."""
    app = Flask(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(default_config(app.instance_path))
    if config:
        app.config.update(config)
    settle_environment(app.config, app.instance_path)
    app.session_interface = PortalSessionInterface()
    if app.config["TRUSTED_PROXIES"]:
        # Behind a reverse proxy the client address (for rate limits and the audit
        # log) and the scheme (for Secure cookies) come from its X-Forwarded headers.
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    app.url_map.converters["int"] = BoundedInt
    models.passwords.set_checks_at_once(app.config["PASSWORD_CHECKS_AT_ONCE"])
    init_database(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    compress.init_app(app)
    htmx.init_app(app)
    guard_limiter_storage(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # we rotate the session ourselves on sign-in

    from blueprints import (applications, auth, company, documents, finance, main, messages, registration, settings,
                            staff)
    for blueprint in (main.bp, auth.bp, registration.bp, settings.bp, staff.bp,
                      documents.bp, messages.bp, company.bp, applications.bp, finance.bp):
        app.register_blueprint(blueprint)
    from blueprints import main_user, security
    app.register_blueprint(main_user.bp)
    from blueprints import power_of_attorney
    app.register_blueprint(power_of_attorney.bp)
    from blueprints import identification
    app.register_blueprint(identification.bp)
    if app.config["IDENTIFICATION_BACKEND"] == "dev" and app.config["PORTAL_ENV"] == DEVELOPMENT:
        from blueprints import dev_identification
        app.register_blueprint(dev_identification.bp)
    from blueprints import services
    app.register_blueprint(services.bp)
    app.register_blueprint(security.bp)
    from blueprints import passkeys
    app.register_blueprint(passkeys.bp)
    from blueprints import clients, routing
    app.register_blueprint(clients.bp)
    app.register_blueprint(routing.bp)
    from blueprints import admin
    app.register_blueprint(admin.bp)

    init_domain(app)
    init_eid(app)
    refuse_development_parts(app)
    init_signing_trust(app)  # production without a trust store stops here too

    register_request_hooks(app)
    from blueprints import operations
    app.register_blueprint(operations.bp)
    operations.init_app(app)  # metrics hooks; the job dashboard's guard runs after the session checks
    register_template_helpers(app)
    register_error_handlers(app)
    register_cli(app)
    release_startup_connections()
    return app


def release_startup_connections():
    """Keep no database connection the start-up opened (the demo-account check, SQLite's WAL
    switch): gunicorn started with --preload (the Procfile) builds the app in its master and
    forks the workers from it, and a connection two processes inherit is one socket for both.
    Each worker opens its own on its first query. (Redis clients need nothing: redis-py's pools
    notice a fork and start afresh in the child.)"""
    close_connection()
    if isinstance(models.db.obj, ConnectionPool):
        models.db.obj.close_idle()


def init_domain(app):
    """Build the adapters and give the domain what it needs (keys, Redis, adapters, the job
    queue, the translator) — again whenever one of this app's contexts is pushed, so a
    process holding two apps (the tests) always serves the right one. Calling it again
    after the configuration changed rebuilds the adapters."""
    import tasks
    keys = Keyring(app.config["SECRET_KEY"], app.config.get("SECRET_KEY_PREVIOUS") or ())
    webhook = app.config.get("SIGNING_WEBHOOK_SECRET")
    url_map = app.url_map

    def dev_signing_path(token):
        return url_map.bind("").build("documents.dev_signing", {"token": token})

    def dev_identification_path(session):
        return url_map.bind("").build("dev_identification.page", {"session": session})

    identification_secret = app.config.get("IDENTIFICATION_WEBHOOK_SECRET")
    outside = adapters.build(app.config, dev_signing_path,
                             webhook.encode() if webhook else keys.key("signing-webhook"),
                             dev_identification_path,
                             identification_secret.encode() if identification_secret
                             else keys.key("identification-webhook"))
    app.extensions["adapters"] = outside
    app.extensions["keys"] = keys
    app.extensions["domain"] = {
        "keys": keys, "signing": outside.signing, "storage": outside.storage,
        "namespace": app.config["RQ_QUEUE"],
        "redis": tasks.redis_connection(app),
        "enqueue": lambda notification_id: tasks.enqueue_notification(notification_id, app),
    }
    set_translator(gettext)

    def bind(sender=None, **_):
        if models.runtime.runtime.owner is not app:
            configure_domain(app, **app.extensions["domain"])

    if "domain_bound" not in app.extensions:
        app.extensions["domain_bound"] = bind  # kept: signals hold receivers weakly by default
        appcontext_pushed.connect(bind, app)
    configure_domain(app, **app.extensions["domain"])


def init_eid(app):
    """The e-identity providers (and the development broker) of the configuration; an unusable
    ``EID_PROVIDERS`` stops the start with the reason."""
    from adapters.identity import ProviderConfigError
    from blueprints import eid
    try:
        eid.init_app(app)
    except ProviderConfigError as error:
        raise ConfigurationRefused(str(error)) from None


def guard_limiter_storage(app):
    """Flask-Limiter talks to Redis through the process's guarded pool (a short timeout, no
    retries, the breaker of ``adapters.redis_guard``); options the configuration gives win."""
    uri = app.config.get("RATELIMIT_STORAGE_URI") or ""
    if uri.startswith(("redis://", "rediss://")):
        pool = redis_guard.client(uri, app.config["REDIS_TIMEOUT"]).connection_pool
        app.config["RATELIMIT_STORAGE_OPTIONS"] = {"connection_pool": pool,
                                                   **(app.config.get("RATELIMIT_STORAGE_OPTIONS") or {})}


def with_connect_timeout(url, seconds=5):
    """PostgreSQL gives up connecting after ``seconds``: libpq would wait as long as the
    network lets it, holding the request, when the server drops packets instead of refusing.
    A ``connect_timeout`` in the URL wins."""
    if url.startswith(("postgres://", "postgresql://")) and "connect_timeout=" not in url:
        url += ("&" if "?" in url else "?") + f"connect_timeout={seconds}"
    return url
def init_signing_trust(app):
    """The trust store signed containers are checked against (``app.extensions["signing_trust"]``).

    In production ``SIGNING_TRUST_DIR`` must name a directory holding at least one
    certificate, or the portal refuses to start: it never trusts by default. In
    development it defaults to ``instance/signing-trust``; while that holds no
    certificate every signed container is refused with the reason (put test CAs
    there, or sign with the development signing service)."""
    from uploads.trust import TrustStore
    directory = app.config.get("SIGNING_TRUST_DIR") or ""
    production = app.config["PORTAL_ENV"] == "production"
    if not directory:
        if production:
            raise ConfigurationRefused("SIGNING_TRUST_DIR must name the directory of trusted qualified CA "
                                       "certificates in production (see README: Signed containers and the "
                                       "trust store); on a development machine set PORTAL_ENV=development.")
        directory = str(Path(app.instance_path) / "signing-trust")
    app.extensions["signing_trust"] = TrustStore.from_directory(
        directory, revocation=app.config["SIGNING_REVOCATION"],
        timeout=app.config["SIGNING_REVOCATION_TIMEOUT"], required=production)


def init_database(app):
    """Bind the models to the configured database. A request's first query opens its
    connection (peewee connects on demand; on PostgreSQL it is taken from the process's
    pool), so what needs no database (``/health``'s answer, the outage page, the idle
    message poll) never waits for one; the end of the request closes it (gives it back)."""
    url = with_connect_timeout(app.config["DATABASE_URL"])
    if url.startswith("sqlite"):
        # Write transactions start IMMEDIATE: a deferred one that read first cannot take
        # the write lock when another writer holds it ("database is locked" at once,
        # whatever busy_timeout says); an immediate one waits its turn.
        # A busy writer is waited for up to 5 s (sqlite3's timeout is the busy timeout);
        # foreign_keys and synchronous belong to each connection, so they are set on each.
        database = db_connect(url, lock_type="IMMEDIATE", timeout=5,
                              pragmas={"foreign_keys": 1, "synchronous": "normal"})
        # WAL is a property of the database file and lasts: set it once, at app start.
        with database.connection_context():
            database.execute_sql("PRAGMA journal_mode=wal")
    else:
        # A pool per process: connecting costs more than most pages (models.base.ConnectionPool).
        database = ConnectionPool(**parse_db_url(url), max_connections=app.config["DATABASE_POOL_SIZE"],
                                  stale_timeout=app.config["DATABASE_POOL_RECYCLE_SECONDS"],
                                  timeout=app.config["DATABASE_POOL_WAIT_SECONDS"])
    models.db.initialize(database)

    @app.teardown_request
    def _close_db(exc):
        close_connection()  # even a broken one: the next request opens a new one


def select_locale():
    """Latvian unless the visitor chose otherwise (session) or their profile says so."""
    if not has_request_context():  # a CLI command: no session, no visitor
        return None  # Flask-Babel's default, Latvian
    chosen = session.get("lang")
    if chosen in rules.LANGUAGES:
        return chosen
    if current_user and current_user.is_authenticated and current_user.language in rules.LANGUAGES:
        return current_user.language
    return "lv"


@login_manager.user_loader
def load_user(token):
    """The session carries "id:version" (an old version: every session was ended) and its own
    id "sid" (ended on its own by signing out in that browser)."""
    try:
        user_id, version = (int(x) for x in token.split(":"))
    except (ValueError, AttributeError):
        return None
    # One query: the user, and whether this session was ended on its own ("sign out here").
    user = models.user_of_session(user_id, session.get("sid"))
    if user is None or user.session_version != version or not user.is_active or user.session_ended:
        return None
    return user


# Endpoints a user with a temporary password may still reach.
FORCED_CHANGE_ALLOWED = {"auth.change_password", "auth.logout", "auth.logout_everywhere", "main.language",
                         "static", "main.health", "main.legal"}
# Endpoints a staff member without a strong sign-in may still reach (issue 12): turning on two-step
# sign-in or adding a passkey (each after confirming it is them), e-identity, signing out.
STAFF_ENROL_ALLOWED = FORCED_CHANGE_ALLOWED | {
    "security.two_step", "security.start_two_step", "security.enrol_two_step", "passkeys.index",
    "passkeys.registration_options", "passkeys.register", "stepup.confirm", "stepup.confirm_code",
    "passkeys.confirm_options", "passkeys.confirm"}
# Endpoints that never look at the visitor: no user lookup, so they answer without the database.
VISITOR_FREE = {"static", "main.health", "operations.ready", "operations.metrics"}


# Browsers keep to HTTPS for a year, on subdomains too. Sent in production on every answer: behind
# a proxy that ends TLS the request reaching us is plain HTTP, and over real plain HTTP a
# browser ignores the header anyway.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def register_request_hooks(app):
    from blueprints import is_poll
    from blueprints.security import staff_must_enrol
    from blueprints.messages import PollGate

    @app.before_request
    def _session_timeouts():
        if request.endpoint in VISITOR_FREE or not current_user.is_authenticated:
            return None
        now = datetime.now(timezone.utc).timestamp()
        started = session.get("login_at", 0)
        seen = session.get("seen_at", 0)
        if (now - started > rules.SESSION_ABSOLUTE_TIMEOUT.total_seconds()
                or now - seen > rules.SESSION_IDLE_TIMEOUT.total_seconds()):
            logout_user()
            session.clear()
            flash(_l("Your session has ended. Please sign in again."), "info")
            return redirect(url_for("auth.login"))
        if now - seen > 30 and not is_poll():
            session["seen_at"] = now
            if session.get("sid") and last_seen_due(session.get("seen_recorded_at"), now):
                # "Your sessions" shows when each was last seen: one UPDATE every few minutes
                # of activity, not one per request (rules.sessions.LAST_SEEN_EVERY).
                session["seen_recorded_at"] = now
                models.UserSession.touch(session["sid"], models.utcnow())
        if current_user.must_change_password and request.endpoint not in FORCED_CHANGE_ALLOWED:
            return redirect(url_for("auth.change_password"))
        if (staff_must_enrol() and request.endpoint not in STAFF_ENROL_ALLOWED
                and request.blueprint != "eid"):
            flash(_l("Staff work only after two-step sign-in or e-identity. Turn on two-step sign-in "
                     "or add a passkey; from then on sign in with it."), "info")
            return redirect(url_for("security.two_step"))
        return None

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        for name, value in security_headers(app):
            headers.setdefault(name, value)
        response.vary.add("HX-Request")
        if request.endpoint != "static":
            # Pages carry personal data: keep them out of shared and back-button caches.
            headers.setdefault("Cache-Control", "no-store")
        return response

    # The idle message poll is answered in front of all of the above (blueprints.messages),
    # with the same headers a page gets.
    app.wsgi_app = PollGate(app, app.wsgi_app, lambda: [*security_headers(app), ("Vary", "HX-Request, Cookie"),
                                                        ("Cache-Control", "no-store")])


CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                           "base-uri 'none'; object-src 'none'")


def security_headers(app):
    """The headers every answer carries: a CSP without unsafe-inline or unsafe-eval, no
    framing, no sniffing, the referrer kept on the site, no camera or microphone, and in
    production HSTS."""
    headers = [("Content-Security-Policy", CONTENT_SECURITY_POLICY), ("X-Content-Type-Options", "nosniff"),
               ("Referrer-Policy", "same-origin"), ("X-Frame-Options", "DENY"),
               ("Permissions-Policy", "camera=(), microphone=(), geolocation=()")]
    if app.config["PORTAL_ENV"] == PRODUCTION:
        headers.append(("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY))
    return headers


def register_template_helpers(app):
    # Everything a template shows loses bidirectional controls, whatever was stored before
    # the forms began to strip them (rules.sanitize); set before any template is compiled.
    app.jinja_env.finalize = strip_bidi_controls
    static_versions = {}

    def static_url(filename):
        """URL of a static file with a content hash, so it can be cached for a year."""
        if filename not in static_versions:
            data = (BASE_DIR / "static" / filename).read_bytes()
            static_versions[filename] = hashlib.sha256(data).hexdigest()[:10]
        return url_for("static", filename=filename, v=static_versions[filename])

    @app.context_processor
    def _globals():
        from blueprints import wants_fragment
        context = {"static_url": static_url, "LANGUAGES": rules.LANGUAGES, "rules": rules,
                   "support_phone": app.config.get("SUPPORT_PHONE") or ""}
        if has_request_context():  # e-mails are rendered by jobs, outside any request
            context.update(current_locale=select_locale(), wants_fragment=wants_fragment())
        return context

    # Dates and times are shown as numbers only (dd.MM.yyyy HH:mm in the portal's time zone,
    # stored times being UTC), the same in every language: formatted here rather than by
    # Babel's pattern machinery, which cost a list page a tenth of its time.
    local_zone = ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])

    def local(value):
        return (value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value).astimezone(local_zone)

    @app.template_filter("date")
    def _date(value):
        if not value:
            return ""
        day = local(value) if isinstance(value, datetime) else value
        return f"{day.day:02d}.{day.month:02d}.{day.year:04d}"

    @app.template_filter("datetime")
    def _datetime(value):
        if not value:
            return ""
        moment = local(value)
        return f"{moment.day:02d}.{moment.month:02d}.{moment.year:04d} {moment.hour:02d}:{moment.minute:02d}"

    @app.template_filter("money")
    def _money(value):
        """An amount as people read it: 1 234,56 € in Latvian."""
        try:
            return f"{format_decimal(Decimal(str(value)), format='#,##0.00')} €"
        except (InvalidOperation, ValueError):
            return value

    @app.template_filter("tel")
    def _tel(number):
        """A phone number as written ("+371 6777 4118") as a tel: URI ("tel:+37167774118")."""
        return "tel:" + re.sub(r"[^0-9+]", "", str(number or ""))

    app.add_template_filter(format_size, "filesize")  # "15 B", "1,5 KB", "20 MB"
    # A status pill's class comes from its meaning (rules.status), never from the template.
    app.add_template_global(status_rules.css_class, "status_class")
    app.add_template_global(status_rules.thread_status, "thread_status")

    @app.template_filter("mask")
    def _mask(target, channel):
        return rules.mask(channel, target)


# The database is away (stopped, restarting, unreachable, SQLite locked for too long, every
# pooled connection busy): what peewee raises for what the driver reported, and psycopg2's
# own should one slip past peewee.
DATABASE_UNAVAILABLE = (peewee.OperationalError, peewee.InterfaceError,
                        psycopg2.OperationalError, psycopg2.InterfaceError,
                        MaxConnectionsExceeded)  # every pooled connection busy for the whole wait
RETRY_AFTER_SECONDS = 30


def without_database():
    """From here on this request renders without the database: a visitor not yet looked up
    counts as signed out (Flask-Login would ask the user loader, that is the database, again
    for the layout and the locale), and the layout leaves out the account's menu."""
    if "_login_user" not in g:
        login_manager._update_request_context_with_user()  # the anonymous user
    g.visitor_unknown = True


def outage_log(app):
    """This app's summarised outage warnings (``SummarisedWarnings``)."""
    found = app.extensions.get("outage_log")
    if found is None:
        found = app.extensions["outage_log"] = SummarisedWarnings(app.logger)
    return found


def register_error_handlers(app):
    def _database_unavailable(e):
        """A styled 503 in the visitor's language, with Retry-After; no query on the way."""
        outage_log(app).warning("database", "Database unavailable (%s %s): %s", request.method, request.path, e)
        without_database()
        response = make_response(render_template(
            "errors/error.html", code=503, title=_l("Temporarily unavailable"),
            message=_l("We cannot reach our data right now, so this page cannot be shown. "
                       "Please try again in a minute."),
            retry_url=request.full_path.rstrip("?") if request.method == "GET" else None), 503)
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    for error in DATABASE_UNAVAILABLE:
        app.register_error_handler(error, _database_unavailable)

    @app.errorhandler(404)
    def _not_found(e):
        response = make_response(render_template("errors/error.html", code=404, title=_l("Page not found"),
                                                 message=_l("The page does not exist or you have no access to it.")),
                                 404)
        hx = getattr(request, "htmx", None)
        if hx and hx.boosted and request.method == "GET":
            # htmx swaps no 4xx answer, so a boosted link to a page the person may no longer see
            # (access revoked a moment ago) would seem to do nothing: load it as a whole page.
            response.headers["HX-Redirect"] = request.full_path.rstrip("?")
        return response

    @app.errorhandler(403)
    def _forbidden(e):
        return render_template("errors/error.html", code=403, title=_l("No access"),
                               message=_l("You have no access to this page.")), 403

    @app.errorhandler(405)
    def _method(e):
        return render_template("errors/error.html", code=405, title=_l("Not allowed"),
                               message=_l("This address does not accept that request.")), 405

    @app.errorhandler(413)
    def _too_large(e):
        return render_template("errors/error.html", code=413, title=_l("Too large"),
                               message=_l("The data sent was too large.")), 413

    @app.errorhandler(CSRFError)
    def _csrf(e):
        return render_template("errors/error.html", code=400, title=_l("The form has expired"),
                               message=_l("The form was open too long or came from elsewhere. "
                                          "Go back, reload the page and try again.")), 400

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(e):
        """Say when to try again; views with forms render their own 429."""
        if e.response is not None:
            return e.response
        minutes = retry_minutes()
        return render_template("errors/error.html", code=429, title=_l("Too many attempts"),
                               message=_l("Too many attempts. Try again in %(n)d minutes.", n=minutes)), 429

    @app.errorhandler(500)
    def _server_error(e):
        """Any unhandled error, including one raised by another error page (a 404 whose layout
        looked up the signed-in user when the database had just gone)."""
        original = getattr(e, "original_exception", None)
        if isinstance(original, DATABASE_UNAVAILABLE):
            return _database_unavailable(original)

        def page():
            return render_template("errors/error.html", code=500, title=_l("Something went wrong"),
                                   message=_l("We could not complete the request. Please try again later.")), 500
        try:
            return page()
        except DATABASE_UNAVAILABLE:  # the layout asked who is signed in: the database is away too
            without_database()
            return page()


def register_cli(app):
    @app.cli.command("init-db")
    def init_db_command():
        """Create or upgrade the database schema (versioned migrations)."""
        done = migrate_database()
        click.echo(f"Database ready ({len(done)} migration(s) applied).")

    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Load demo accounts once; refused in production."""
        from models import demo
        if app.config["PORTAL_ENV"] == "production":
            raise click.ClickException("Demo data is refused when PORTAL_ENV=production.")
        created = demo.seed()
        click.echo(demo.describe(created))

    @app.cli.command("create-staff")
    @click.option("--email", required=True)
    @click.option("--phone", required=True)
    @click.option("--role", type=click.Choice(rules.STAFF_ROLES), default="consultant")
    @click.option("--name", default="")
    @click.password_option()
    def create_staff_command(email, phone, role, name, password):
        """Create a staff user (consultant, supervisor or administrator)."""
        from models.admin import StaffRefused, create_staff
        test_domains = app.config["PORTAL_ENV"] == DEVELOPMENT
        if not rules.normalise_email(email, test_domains=test_domains) or not rules.normalise_phone(phone):
            raise click.ClickException("Give a valid e-mail and a phone in +371… form.")
        try:
            user = create_staff(email, phone, role, name, password=password, test_domains=test_domains, actor="cli")
        except StaffRefused as refused:
            raise click.ClickException(str(refused)) from None
        email_n = user.email
        click.echo(f"Staff user {email_n} ({role}) created.")

    @app.cli.command("import-register")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, readable=True))
    @click.option("--source", default="", help="Where the data comes from (default: the file's name).")
    @click.option("--skip-invalid", is_flag=True,
                  help="Import the valid rows even when some are invalid (they are listed and left out).")
    def import_register_command(path, source, skip_invalid):
        """Replace the company-register representation data with a CSV snapshot (issue 13)."""
        import_register(path, source or os.path.basename(path), skip_invalid)

    @app.cli.command("sweep")
    def sweep_command():
        """Re-queue unsent notifications and clear stale registration state."""
        from tasks.notifications import sweep_notifications
        click.echo(f"Re-queued {sweep_notifications()} notification(s).")

    @app.cli.command("sweep-storage")
    @click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
    def sweep_storage_command(dry_run):
        """Remove stored files no row points at and unfinished uploads (after the grace periods)."""
        from tasks.storage import graces, sweep
        blob_grace, part_grace = graces(app.config)
        try:
            with models.db.connection_context():
                report = sweep(models.runtime.runtime.storage, blob_grace, part_grace, dry_run=dry_run)
        except ValueError as error:  # a grace too short to be safe
            raise click.ClickException(str(error)) from None
        verb = "Would remove" if dry_run else "Removed"
        for entry in report.blobs + report.unfinished:
            click.echo(f"{verb} {entry.key or entry.unfinished} ({entry.size} bytes)")
        done = report.summary()
        click.echo(f"{verb} {done['blobs']} unreferenced file(s) ({done['blob_bytes']} bytes) and "
                   f"{done['unfinished']} unfinished upload(s) ({done['unfinished_bytes']} bytes); "
                   f"kept {done['kept']}.")


PROBLEMS_SHOWN = 100


def import_register(path, source, skip_invalid):
    """``flask import-register``: read the file once to check every row (nothing is written
    when one is invalid, unless ``skip_invalid``), then again inside one transaction that
    replaces the snapshot in force; the file must not change in between."""
    from models.register import RegisterImport, file_lines
    from rules import register as R
    checked, problems, valid = hashlib.sha256(), [], 0
    try:
        for record in R.read(file_lines(path, checked)):
            if isinstance(record, R.Entry):
                valid += 1
            else:
                problems.extend(record)
    except R.FileRefused as refused:
        raise click.ClickException(f"{path}: {refused.message}. Nothing was imported.") from None
    for problem in problems[:PROBLEMS_SHOWN]:
        click.echo(f"{path}: {problem}", err=True)
    if len(problems) > PROBLEMS_SHOWN:
        click.echo(f"{path}: … and {len(problems) - PROBLEMS_SHOWN} more problem(s)", err=True)
    bad_lines = len({p.line for p in problems})
    if problems and not skip_invalid:
        raise click.ClickException(f"{bad_lines} invalid row(s): nothing was imported (the register data in "
                                   "force is unchanged). Correct them, or use --skip-invalid to leave them out.")
    if not valid:
        raise click.ClickException("The file has no valid rows: nothing was imported.")
    stored = hashlib.sha256()
    with models.db.connection_context():
        previous = RegisterImport.newest()
        with models.action():
            entries = (r for r in R.read(file_lines(path, stored)) if isinstance(r, R.Entry))
            snapshot = RegisterImport.replace(entries, source, checked.hexdigest(), skipped=bad_lines)
            if stored.hexdigest() != checked.hexdigest():
                raise click.ClickException("The file changed while it was imported: nothing was imported.")
            models.AuditLog.record("register.imported", actor="cli", source=snapshot.source,
                                   sha256=snapshot.sha256, rows=snapshot.rows, companies=snapshot.companies,
                                   persons=snapshot.persons, skipped=bad_lines)
    replaced = (f"replaced the snapshot of {previous.imported_at:%d.%m.%Y %H:%M} UTC ({previous.rows} row(s))"
                if previous else "the first snapshot")
    click.echo(f"Imported {snapshot.rows} row(s) for {snapshot.companies} company(ies) and {snapshot.persons} "
               f"person(s) from {snapshot.source} (sha256 {snapshot.sha256[:12]}…) at "
               f"{snapshot.imported_at:%d.%m.%Y %H:%M} UTC; {replaced}."
               + (f" Left out {bad_lines} invalid row(s)." if bad_lines else ""))


def migrate_database():
    """Apply pending migrations from migrations/ (peewee-migrate keeps the history)."""
    from peewee_migrate import Router
    database = models.db.obj
    router = Router(database, migrate_dir=str(BASE_DIR / "migrations"), ignore=["basemodel"])
    with database.connection_context():
        return router.run()
