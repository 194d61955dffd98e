"""Blueprints: one per area. Helpers here keep the "one route, two shapes" habit."""
import json
from urllib.parse import urlsplit

from flask import make_response, redirect, render_template, request, url_for

import models


def wants_fragment():
    """True for an HTMX request that targets a fragment (not boosted, not history restore)."""
    hx = getattr(request, "htmx", None)
    return bool(hx) and not hx.boosted and not hx.history_restore_request


def render(page, fragment=None, status=200, **context):
    """The full page normally; only the fragment when HTMX asked for one."""
    template = fragment if fragment and wants_fragment() else page
    return render_template(template, **context), status


def render_form(page, fragment=None, form=None, **context):
    """Render a form page: 422 when a submitted form has errors, 200 otherwise."""
    failed = request.method == "POST" and form is not None and (form.errors or form.form_errors)
    return render(page, fragment, 422 if failed else 200, form=form, **context)


def see_other(endpoint, **values):
    """After a successful POST: 303 to the next page. HTMX follows it as XHR and
    gets the fragment, since the redirected GET carries HX-Request too."""
    return redirect(url_for(endpoint, **values), code=303)


def go_to_page(url):
    """Leave a fragment flow for another page: 303 without JavaScript; with HTMX an
    HX-Location, so the new page replaces the body and enters the history."""
    if wants_fragment():
        response = make_response("", 200)
        response.headers["HX-Location"] = json.dumps({"path": url, "target": "body"})
        return response
    return redirect(url, code=303)


def safe_next(default_endpoint):
    """A local ?next= path, or the default page: never an open redirect."""
    target = request.values.get("next", "")
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc and not parts.scheme \
            and "\\" not in target:
        return target
    return url_for(default_endpoint)


def client_ip():
    return request.remote_addr or ""


def audit(action, user=None, actor="", **details):
    """One audit row with where the request came from."""
    return models.AuditLog.record(action, user=user, actor=actor, ip=client_ip(),
                                  user_agent=request.headers.get("User-Agent", ""), **details)
