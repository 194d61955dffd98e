"""Flask extensions, created unbound here and bound in ``portal.create_app``."""
import time

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
