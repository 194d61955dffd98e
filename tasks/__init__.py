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
from functools import wraps

from flask import current_app, has_app_context
from redis.exceptions import RedisError
from rq import Queue

from adapters import redis_guard
import models

log = logging.getLogger(__name__)
_worker_app = None


def use_app(app):
    """The app jobs run in, when they are not started inside one (``tasks.worker`` sets it
    in the parent worker process, so every forked job starts with it built)."""
    global _worker_app
    _worker_app = app
    return app


def with_app(job):
    """Jobs run inside an app context: the caller's, or the worker's (``use_app``)."""
    @wraps(job)
    def wrapped(*args, **kwargs):
        if has_app_context():
            with models.db.connection_context():
                return job(*args, **kwargs)
        if _worker_app is None:
            raise RuntimeError("no app for this job: start workers with `rq worker -c tasks.worker`")
        with _worker_app.app_context(), models.db.connection_context():
            return job(*args, **kwargs)
    return wrapped


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


def enqueue_notification(notification_id, app=None):
    """Queue the send job; if Redis is unreachable the sweep will do it later."""
    try:
        queue(app).enqueue("tasks.notifications.send_notification", notification_id,
                        job_id=f"notification-{notification_id}", result_ttl=3600, failure_ttl=86400)
        return True
    except RedisError as error:
        log.warning("Notification %s not queued now (%s); the sweep will queue it.", notification_id, error)
        return False


# The jobs, by the names RQ and callers know them.
from tasks.notifications import MAX_ATTEMPTS, SUBJECTS, send_notification, sweep_notifications  # noqa: E402,F401
