"""Operations (issue 15): the readiness check (``/health/ready``), Prometheus metrics
(``/metrics``) and the job dashboard (rq-dashboard under ``/staff/jobs``, administrators only).

``/health`` (``blueprints/main.py``) stays the cheap liveness check a load balancer asks every
few seconds (database and Redis). ``/health/ready`` asks everything the portal needs to do its
work — database, Redis, file storage, a live RQ worker, an outbox that is being sent — for
monitoring; it answers 503 naming what is down, so do not point a load balancer at it (a stuck
worker is no reason to take web instances out).

The job dashboard is rq-dashboard 0.9.0's blueprint, mounted behind our sign-in (not signed in:
the sign-in page; signed in but not an administrator: 404) and CSRF protection. Its pages build
their tables in the browser with underscore's ``_.template`` (``new Function``: needs
``'unsafe-eval'``), run an inline script and carry a few ``style`` attributes, so they cannot run
under the portal's strict CSP. They get their own, only under ``/staff/jobs``
(``JOB_DASHBOARD_CSP``): scripts from this site plus the one inline script of our copy of its
layout (``templates/rq_dashboard/base.html``, by a per-request nonce) and ``'unsafe-eval'``;
style attributes; nothing from another host, no framing. Every other page keeps the strict CSP.
"""
import re
import secrets
import time

from flask import Blueprint, abort, current_app, g, jsonify, request
from flask_login import current_user
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

import peewee
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError

import models
import rules
import tasks
from blueprints.extensions import login_manager
from rules import operations as O

bp = Blueprint("operations", __name__)
# What a database that is away raises (psycopg2's errors reach us as peewee's).
DATABASE_DOWN = (peewee.OperationalError, peewee.InterfaceError)


# --- Readiness -----------------------------------------------------------------------------------

def _database_ok():
    try:
        models.db.execute_sql("SELECT 1")
        return True
    except DATABASE_DOWN:  # report, don't raise: this endpoint says what is down
        return False


def readiness_report(now=None):
    """Every check with its figures, as ``/health/ready`` answers it: (body, HTTP status)."""
    now = now or models.utcnow()
    checks, details = {"database": _database_ok(), "redis": tasks.redis_ok()}, {}
    try:
        checks["storage"] = bool(current_app.extensions["adapters"].storage.healthy())
    except Exception:  # noqa: BLE001
        checks["storage"] = False
    heartbeat = None
    if checks["redis"]:
        try:
            heartbeat = tasks.worker_heartbeat()
        except RedisError:  # went away between the two questions
            checks["redis"] = False
    checks["worker"] = O.worker_ok(heartbeat, now)
    details["worker_heartbeat_age_seconds"] = round((now - heartbeat).total_seconds()) if heartbeat else None
    age = None
    if checks["database"]:
        try:
            _counts, age = models.outbox_figures(now)
        except DATABASE_DOWN:  # went away between the two questions
            checks["database"] = False
    checks["outbox"] = checks["database"] and O.outbox_ok(age)
    details["outbox_oldest_pending_seconds"] = round(age.total_seconds()) if age is not None else None
    status, down = O.readiness(checks)
    return {"status": "unavailable" if down else "ok", "down": down, **checks, **details}, status


@bp.route("/health/ready")
def ready():
    """Monitoring: database, Redis, storage, the worker's heartbeat, the outbox's oldest pending
    row; JSON, 503 when something is down. Answers without a visitor (``portal.VISITOR_FREE``)."""
    body, status = readiness_report()
    return jsonify(body), status


# --- Prometheus metrics --------------------------------------------------------------------------

# Per process; with several gunicorn workers set PROMETHEUS_MULTIPROC_DIR (DEPLOY.md) and they add up.
REQUESTS = Counter("kabinets_http_requests_total", "HTTP requests answered, by endpoint, method and status",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("kabinets_http_request_duration_seconds", "Time to answer a request, by endpoint",
                    ["endpoint"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


def _start_timer():
    g.metrics_started = time.perf_counter()


def _observe(response):
    started = g.pop("metrics_started", None)
    if started is not None:
        # The endpoint's name, never the path: ids in paths would make a series per object.
        endpoint = request.url_rule.endpoint if request.url_rule is not None else "unmatched"
        LATENCY.labels(endpoint).observe(time.perf_counter() - started)
        REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
    return response


class PortalCollector:
    """Figures read when Prometheus scrapes: the outbox by status, its oldest pending row's age,
    the job queue's lengths, the newest worker heartbeat's age. One that cannot be read (its
    database or Redis away) is left out of that scrape rather than failing it."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        now = models.utcnow()
        try:
            counts, age = models.outbox_figures(now)
        except DATABASE_DOWN:
            counts, age = None, None
        if counts is not None:
            outbox = GaugeMetricFamily("kabinets_outbox_notifications", "Notifications by outbox status",
                                       labels=["status"])
            for status, count in counts.items():
                outbox.add_metric([status], count)
            yield outbox
            yield GaugeMetricFamily("kabinets_outbox_oldest_pending_seconds",
                                    "Age of the oldest pending notification (0 when none)",
                                    value=age.total_seconds() if age is not None else 0)
        try:
            lengths, heartbeat = tasks.queue_lengths(self.app), tasks.worker_heartbeat(self.app)
        except RedisError:
            return
        jobs = GaugeMetricFamily("kabinets_queue_jobs", "Jobs of the portal's queue by state", labels=["state"])
        for state, count in lengths.items():
            jobs.add_metric([state], count)
        yield jobs
        if heartbeat is not None:
            yield GaugeMetricFamily("kabinets_worker_heartbeat_age_seconds",
                                    "Seconds since the newest RQ worker heartbeat",
                                    value=(now - heartbeat).total_seconds())


def _process_registry():
    """The request metrics: this process's, or every gunicorn worker's in multiprocess mode."""
    import os
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    from prometheus_client import REGISTRY
    return REGISTRY


@bp.route("/metrics")
def metrics():
    """Prometheus' text format, for a bearer of ``METRICS_TOKEN`` or a scraper in
    ``METRICS_ALLOWED_NETWORKS``; anyone else gets 404 (nothing configured: nobody)."""
    config = current_app.config
    if not O.metrics_allowed(request.remote_addr, request.headers.get("Authorization"),
                             config.get("METRICS_TOKEN"), config.get("METRICS_NETWORKS")):
        abort(404)
    figures = CollectorRegistry()
    figures.register(PortalCollector(current_app._get_current_object()))
    body = generate_latest(_process_registry()) + generate_latest(figures)
    return body, 200, {"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}


# --- The job dashboard (rq-dashboard) ------------------------------------------------------------

JOB_DASHBOARD_PREFIX = "/staff/jobs"
JOB_DASHBOARD_CSP = ("default-src 'none'; script-src 'self' 'nonce-{nonce}' 'unsafe-eval'; style-src 'self'; "
                     "style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                     "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
JOB_DASHBOARD_ROLE = "admin"
# What the dashboard's job lists take in their URLs; anything else made it fail with a 500.
JOB_REGISTRIES = {"queued", "failed", "deferred", "started", "finished", "scheduled", "canceled"}
JOB_ORDERS = {"asc", "dsc"}
MAX_JOBS_PER_PAGE = 100
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")  # what rq takes as a job id


def _dashboard_arguments_ok(args):
    """The job id, the queue's name, the job list's registry, order and paging are ones
    rq-dashboard handles (its JSON routes take the numbers as text)."""
    if "job_id" in args and not JOB_ID.fullmatch(args["job_id"]):
        return False  # rq refuses other ids with a ValueError: a 500
    name = args.get("queue_name", "")
    if len(name) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in name):
        return False
    if "registry_name" in args and args["registry_name"] not in JOB_REGISTRIES:
        return False
    if "order" in args and args["order"] not in JOB_ORDERS:
        return False
    per_page = rules.bounded_int(args.get("per_page", 1), default=None, low=1, high=MAX_JOBS_PER_PAGE)
    page = rules.bounded_int(args.get("page", 1), default=None, low=1, high=rules.MAX_PAGE)
    return per_page is not None and page is not None


def _known_queue(name):
    """A queue Redis lists (rq's ``rq:queues`` set)."""
    from rq import Queue
    return bool(tasks.redis_connection().sismember(Queue.redis_queues_keys, Queue.redis_queue_namespace_prefix + name))


def init_app(app):
    """Metrics hooks, the metrics' access settings, and the job dashboard mounted for
    administrators. Called by ``create_app`` after the request hooks (the session's timeouts run
    before the dashboard's guard)."""
    app.before_request(_start_timer)
    app.after_request(_observe)
    app.config["METRICS_NETWORKS"] = O.parse_networks(app.config.get("METRICS_ALLOWED_NETWORKS") or "")
    _mount_job_dashboard(app)


def _mount_job_dashboard(app):
    import rq_dashboard
    # The dashboard uses the portal's Redis through the guarded client (short timeouts, the breaker).
    app.config["RQ_DASHBOARD_REDIS_URL"] = (app.config["REDIS_URL"],)
    app.config.setdefault("RQ_DASHBOARD_POLL_INTERVAL", 5000)
    app.redis_conn = tasks.redis_connection(app)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=JOB_DASHBOARD_PREFIX)

    @app.before_request
    def _job_dashboard_guard():
        if request.blueprint != "rq_dashboard":
            return None
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.has_staff_role(JOB_DASHBOARD_ROLE):
            abort(404)
        args = request.view_args or {}
        if args.get("instance_number", 0) != 0 or not _dashboard_arguments_ok(args):
            abort(404)  # one Redis (another "instance" would be a 500 inside the dashboard); lists it handles
        if request.endpoint == "rq_dashboard.requeue_all" and request.method != "POST":
            abort(405)  # "requeue all" answers GET too: a link must not change anything
        if not tasks.redis_ok():
            abort(503)
        if request.method == "POST" and "queue_name" in args and not _known_queue(args["queue_name"]):
            abort(404)  # compacting or emptying a queue Redis does not know fails inside rq (a 500)
        app.redis_conn = tasks.redis_connection(app)
        g.job_dashboard_nonce = secrets.token_urlsafe(16)
        return None

    @app.errorhandler(NoSuchJobError)
    def _no_such_job(error):
        """A job the dashboard was asked about is gone (finished jobs expire): as a missing page."""
        return jsonify({"status": "not found"}), 404

    @app.after_request
    def _job_dashboard_csp(response):
        nonce = g.get("job_dashboard_nonce")
        if nonce and request.blueprint == "rq_dashboard":
            response.headers["Content-Security-Policy"] = JOB_DASHBOARD_CSP.format(nonce=nonce)
        return response
