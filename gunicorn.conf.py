"""gunicorn's settings for Kabinets. gunicorn reads ``./gunicorn.conf.py`` by default, and the
Procfile's web process and the tests start it in the repository's root; options on the
command line still win.

No ``Server`` header: gunicorn names itself on every answer and has no setting to stop it, so
the hook below leaves that line out of the headers it writes (HTTP/1.1, the only protocol
served here; the reverse proxy in front may add its own).

No access-log line for an idle message poll: each open thread asks every few seconds, and
writing those lines cost more than answering them. The portal marks such an answer in the
WSGI environ (``blueprints.messages.QUIET``); every other request is logged as before.
"""
import gc

import gunicorn.http.wsgi
from gunicorn.glogging import Logger

QUIET = "kabinets.quiet"  # blueprints.messages.QUIET (not imported: the master never loads the app for it)


class PortalLogger(Logger):
    """gunicorn's logger, without the access-log lines of answers marked quiet."""

    def access(self, resp, req, environ, request_time):
        if environ.get(QUIET):
            return
        super().access(resp, req, environ, request_time)


logger_class = PortalLogger


def _without_server_header(default_headers):
    def headers(self):
        return [line for line in default_headers(self) if not line.lower().startswith("server:")]
    headers.without_server = True
    return headers


def pre_fork(server, worker):
    """In the master, before each worker forks. With --preload (the Procfile) the app is built
    here already: its objects are moved out of the garbage collector's reach, so the workers'
    collections never write to them and their memory pages stay shared with the master."""
    gc.freeze()


def on_starting(server):
    """In the master, before any worker forks: no answer a worker writes names the server."""
    response = gunicorn.http.wsgi.Response
    if not getattr(response.default_headers, "without_server", False):
        response.default_headers = _without_server_header(response.default_headers)


def child_exit(server, worker):
    """With PROMETHEUS_MULTIPROC_DIR set (DEPLOY.md: metrics), /metrics adds up every worker's
    request figures from files in that directory; a worker that ended leaves its live gauges there."""
    import os
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
