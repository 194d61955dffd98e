"""Uploads in a request: the body limited before it is read (``accepts_uploads``), files
served so that no browser renders or runs them (``send_stored``)."""
import logging
from functools import wraps

from flask import abort, current_app, request, send_file

from blueprints.extensions import csrf
from models.runtime import runtime
from uploads.checks import FORM_OVERHEAD

log = logging.getLogger(__name__)


# --- Requests and responses ---------------------------------------------------------

def limit_request_size(policy, overhead=FORM_OVERHEAD):
    """Limit this request's body to the policy's total plus form overhead (never above the
    app-wide ``MAX_CONTENT_LENGTH``), so Werkzeug answers 413 before parsing or storing.

    Must run before anything reads the body: ``accepts_uploads`` does it for a view."""
    if any(name in vars(request._get_current_object()) for name in ("stream", "form", "files")):
        raise RuntimeError("limit_request_size() must run before the request body is read")
    limit = policy.max_total + overhead
    backstop = current_app.config.get("MAX_CONTENT_LENGTH")
    if backstop:
        limit = min(limit, backstop)
    request.max_content_length = limit
    return limit


def accepts_uploads(policy):
    """Decorate a view that takes files: limit the body to ``policy`` first, then check CSRF.

    ``policy`` is an ``UploadPolicy`` or a function of the view's arguments returning
    one. CSRFProtect's own check would read the form (and so the whole body) before
    the view could set the limit, so the view is exempted from it and checked here."""
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            limit_request_size(policy(**kwargs) if callable(policy) else policy)
            config = current_app.config
            if config.get("WTF_CSRF_ENABLED", True) and config.get("WTF_CSRF_CHECK_DEFAULT", True):
                csrf.protect()
            return view(*args, **kwargs)
        return csrf.exempt(wrapper)
    return decorator


def send_stored(stored_file, storage=None):
    """Stream a stored file as a download that no browser will render or run.

    Call only after the caller has checked the user may have it. A missing blob is a 404."""
    storage = storage or runtime.storage
    try:
        stream = storage.open(stored_file.key)
    except FileNotFoundError:
        log.error("stored file %s has no blob", stored_file.id)
        abort(404)
    response = send_file(stream, mimetype=stored_file.content_type, as_attachment=True,
                         download_name=stored_file.original_name, conditional=False,
                         etag=False, max_age=None)
    # Exactly as judged: Werkzeug would add "charset=utf-8" to SVG, whatever its XML says.
    response.headers["Content-Type"] = stored_file.content_type
    response.content_length = stored_file.size
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
