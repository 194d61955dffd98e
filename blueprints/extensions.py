"""Flask extensions, created unbound here and bound in ``portal.create_app``."""
import time
from types import SimpleNamespace

import flask_babel
from flask.globals import _cv_app
from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx

from rules.throttle import minutes_until

csrf = CSRFProtect()
babel = Babel()


def _babel_context():
    """Flask-Babel's namespace in the current app context (``g._flask_babel``), or None outside
    one: what ``flask_babel._get_current_context`` returns, found through Flask's context variable
    instead of three trips through the ``g`` proxy. Flask-Babel asks it four times for every
    string it translates, and a page shows a hundred: this took 7 µs a string to 1.6."""
    app_context = _cv_app.get(None)
    if app_context is None:
        return None
    found = app_context.g.__dict__.get("_flask_babel")
    if found is None:
        found = app_context.g._flask_babel = SimpleNamespace()
    return found


flask_babel._get_current_context = _babel_context
compress = Compress()
htmx = Htmx()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address)


def retry_minutes(request_limit=None):
    """Whole minutes until the limit that was hit resets (at least 1)."""
    request_limit = request_limit or limiter.current_limit
    try:
        reset_at = request_limit.reset_at
    except Exception:  # no limit in context, or its backend is unreachable
        return 15
    return minutes_until(reset_at, time.time())


class SummarisedWarnings:
    """Warnings about an outage, at most one line per ``every`` seconds per kind in a process:
    the first failure is logged at once, and the next line after the quiet time says how many
    like it were left out. A database or Redis outage fails every request; one line each would
    bury the log (and the disk) while saying nothing new."""

    def __init__(self, logger, every=30.0, clock=time.monotonic):
        self.logger, self.every, self.clock = logger, every, clock
        self._last = {}  # kind → (when last logged, how many left out since)

    def warning(self, kind, message, *args):
        now = self.clock()
        last, left_out = self._last.get(kind, (None, 0))
        if last is not None and now - last < self.every:
            self._last[kind] = (last, left_out + 1)
            return False
        if left_out:
            message += " (and %d more like it in the last %d s)"
            args = (*args, left_out, round(now - last))
        self._last[kind] = (now, 0)
        self.logger.warning(message, *args)
        return True
