"""Settings module for ``rq worker -c tasks.worker``.

RQ imports it in the parent worker process. Building the Flask app here means
every job's forked child starts with it ready, instead of building it again.
"""
import tasks
from portal import create_app

tasks.use_app(create_app())
