"""Settings module for ``rq worker -c tasks.worker``.

RQ imports it in the parent worker process. Building the Flask app here means
every job's forked child starts with it built, instead of building it again.

In development the development e-mail and SMS backends' lines ("DEV E-MAIL to …",
"DEV SMS to …", with the codes and temporary passwords) go to the worker's output, the
``worker`` lines of ``make run``: rq gives only its own logger a handler.
"""
import logging

import tasks
from portal import DEVELOPMENT, create_app

app = tasks.use_app(create_app())

if app.config["PORTAL_ENV"] == DEVELOPMENT:
    _shown = logging.StreamHandler()
    _shown.setFormatter(logging.Formatter("%(message)s"))
    for _name in ("adapters.mail", "adapters.sms"):
        logging.getLogger(_name).setLevel(logging.INFO)
        logging.getLogger(_name).addHandler(_shown)
