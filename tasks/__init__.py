"""RQ jobs and the schedule. They take ids, not objects, and are safe to run twice.

- ``tasks.notifications``: sending the outbox (``send_notification``) and the sweep
  that queues rows whose job was never queued.
- ``tasks.messages``: the acknowledgement of unanswered client messages.
- ``tasks.schedule``: what ``rq cron`` runs and how often (Procfile ``clock``).
- ``tasks.worker``: the settings module of ``rq worker`` (builds the app once).

Jobs run inside the worker's app (``with_app``), so they use the same adapters,
keys and database binding as the web processes.
"""
import logging
import re
from functools import wraps

from flask import current_app, has_app_context
from redis.exceptions import RedisError
from rq import Queue

from adapters import redis_guard
import models
from rules import outbox

log = logging.getLogger(__name__)
_worker_app = None


def use_app(app):
    """The app jobs run in, when they are not started inside one (``tasks.worker`` sets it
    in the parent worker process, so every forked job starts with it built)."""
    global _worker_app
    _worker_app = app
    return app


def with_app(job):
    """Jobs run inside an app context (the caller's, or the worker's: ``use_app``), with a
    database connection they close when done (unless the caller had one open)."""
    @wraps(job)
    def wrapped(*args, **kwargs):
        if has_app_context():
            return _with_connection(job, args, kwargs)
        if _worker_app is None:
            raise RuntimeError("no app for this job: start workers with `rq worker -c tasks.worker`")
        with _worker_app.app_context():
            return _with_connection(job, args, kwargs)
    return wrapped


def _with_connection(job, args, kwargs):
    # Not peewee's connection_context: a job may drop a broken connection and open a new
    # one (``models.db.close()``), which that context's bookkeeping does not allow.
    opened = models.db.connect(reuse_if_open=True)
    try:
        return job(*args, **kwargs)
    finally:
        if opened and not models.db.is_closed():
            models.db.close()


def redis_connection(app=None):
    """The process's Redis client: a short timeout, no retries, and a breaker that fails
    at once for a few seconds after a failure (``adapters.redis_guard``), so a Redis that
    is down or hung costs a request at most one short wait, and often none."""
    app = app or current_app
    return redis_guard.client(app.config["REDIS_URL"], app.config.get("REDIS_TIMEOUT", redis_guard.TIMEOUT))


def queue(app=None):
    app = app or current_app
    return Queue(app.config["RQ_QUEUE"], connection=redis_connection(app))


def redis_ok():
    try:
        return bool(redis_connection().ping())
    except RedisError:
        return False


def notification_job_id(notification_id, app=None):
    """The RQ job id of a notification: Redis keeps job ids for every deployment using it,
    so the id carries this deployment's queue name (``notification-5`` of two portals
    sharing one Redis would be one job)."""
    app = app or current_app
    namespace = re.sub(r"[^A-Za-z0-9_-]", "_", app.config["RQ_QUEUE"])
    return f"{namespace}-notification-{notification_id}"


def enqueue_notification(notification_id, app=None):
    """Queue the send job. False if Redis could not be reached: the row waits in the
    outbox, and the sweep queues it later."""
    app = app or current_app
    try:
        queue(app).enqueue("tasks.notifications.send_notification", notification_id,
                           job_id=notification_job_id(notification_id, app),
                           job_timeout=outbox.JOB_TIMEOUT_SECONDS, result_ttl=3600, failure_ttl=86400)
        return True
    except RedisError as error:
        log.warning("Notification %s not queued now (%s); the sweep will queue it.", notification_id, error)
        return False


def waiting_job_ids(app=None):
    """The ids of the jobs waiting in the queue now (one read of the list), or None when
    Redis cannot be reached. The list, not a job's status: a worker killed just after
    taking a job from the list leaves it "queued" although nothing will run it."""
    try:
        return set(queue(app).get_job_ids())
    except RedisError:
        return None


# The jobs, by the names RQ and callers know them.
from rules.outbox import MAX_ATTEMPTS  # noqa: E402,F401
from tasks.notifications import SUBJECTS, send_notification, sweep_notifications  # noqa: E402,F401


def worker_heartbeat(app=None):
    """The newest heartbeat (naive UTC) of the RQ workers listening to the portal's queue, as RQ
    itself writes it (``rq:worker:<name>``'s ``last_heartbeat``), or None when no worker listens."""
    from rq import Worker
    beats = [w.last_heartbeat for w in Worker.all(queue=queue(app)) if w.last_heartbeat is not None]
    newest = max(beats, default=None)
    return newest.replace(tzinfo=None) if newest is not None and newest.tzinfo else newest


def queue_lengths(app=None):
    """How many jobs the portal's queue holds in each state (for ``/metrics``)."""
    found = queue(app)
    return {"queued": found.count, "started": found.started_job_registry.count,
            "failed": found.failed_job_registry.count, "scheduled": found.scheduled_job_registry.count,
            "deferred": found.deferred_job_registry.count}
