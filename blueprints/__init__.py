"""Blueprints: one per area, with thin views. The helpers here are the one place for
what every area needs: "one route, two shapes", which account the user acts for,
"scoped or 404", staff-only and client-only views, polls that are not activity,
safe redirects and the audit row.
"""
import json
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, current_app, g, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

import models
import rules
from rules import second_factor


def wants_fragment():
    """True for an HTMX request that targets a fragment (not boosted, not history restore)."""
    hx = getattr(request, "htmx", None)
    return bool(hx) and not hx.boosted and not hx.history_restore_request


# What the layout's header shows on a full page (e.g. the messages link with its unread
# count): functions returning template values, registered by the areas. The view asks
# them, so the layout runs no queries of its own.
HEADER_PARTS = []


def render(page, fragment=None, status=200, **context):
    """The full page normally; only the fragment when HTMX asked for one."""
    if fragment and wants_fragment():
        return render_template(fragment, **context), status
    for part in HEADER_PARTS:
        for name, value in part().items():
            context.setdefault(name, value)
    return render_template(page, **context), status


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
        # htmx's GET for an HX-Location is no boosted request by itself, so a page with a
        # fragment of its own (the settings) would answer with only that fragment: ask as a
        # boosted request does, for the whole page.
        response.headers["HX-Location"] = json.dumps(
            {"path": url, "target": "body", "headers": {"HX-Boosted": "true"}})
        return response
    return redirect(url, code=303)


# --- Who acts, and for whom ---------------------------------------------------------------------

def signed_in_user():
    """The signed-in user as the model object (not Flask-Login's proxy)."""
    return current_user._get_current_object()


def trusted_session():
    """True when this session signed in with e-identity (``blueprints/eid.py``)."""
    auth = session.get("auth")
    return isinstance(auth, dict) and auth.get("method") == "eid"


def second_factor_session():
    """True when this session signed in with a password and a second factor (``auth.second_step``)."""
    auth = session.get("auth")
    return isinstance(auth, dict) and auth.get("second_factor") in second_factor.KINDS


def memberships():
    """The signed-in user's live memberships this session may act for, loaded once per request.
    A company that requires e-identity (``Client.requires_trusted_eid``), or a strong sign-in
    (``Client.requires_second_factor``: e-identity, or a password with a second factor), is left
    out of a session signed in another way (``withheld_memberships``)."""
    if "memberships" not in g:
        found = list(signed_in_user().memberships_query()) if current_user.is_authenticated else []
        trusted, strong = trusted_session(), second_factor_session()

        def allowed(m):
            return second_factor.may_act_for(m.client.requires_trusted_eid, m.client.requires_second_factor,
                                             trusted, strong)
        g.memberships = [m for m in found if allowed(m)]
        g.withheld_memberships = [m for m in found if not allowed(m)]
    return g.memberships


def withheld_memberships():
    """The memberships this session may not act for until it signs in with e-identity."""
    memberships()
    return g.withheld_memberships


def acting_membership(permission=None):
    """The membership of the account the user acts for now: the one chosen on the
    dashboard (``session["client_id"]``), else the first. With ``permission``, 404
    unless that account grants it; without, None when the user has no account."""
    found = memberships()
    chosen = session.get("client_id")
    membership = next((m for m in found if m.client_id == chosen), found[0] if found else None)
    if permission is not None and (membership is None or not membership.allows(permission)):
        abort(404)
    return membership


def _known_memberships(user):
    # Staff reach rows by their role, not by memberships: nothing to read for them.
    return None if user.is_staff else memberships()


def scoped(model, permission, client_id=None):
    """The rows of a client-owned model the signed-in user may see under ``permission``
    (``models.scoped``), from the memberships this request has read already."""
    user = signed_in_user()
    return models.scoped(model, user, permission, client_id=client_id, memberships=_known_memberships(user))


def get_scoped(model, object_id, permission):
    """A client-owned object the signed-in user may reach under ``permission``, or None."""
    user = signed_in_user()
    return models.get_scoped(model, object_id, user, permission, memberships=_known_memberships(user))


def get_scoped_or_404(model, object_id, permission):
    """A client-owned object the signed-in user may reach under ``permission``, else 404."""
    found = get_scoped(model, object_id, permission)
    if found is None:
        abort(404)
    return found


def staff_required(role="consultant"):
    """Only staff with at least ``role``; anyone else gets 404, as for a missing page."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_staff_role(role):
                abort(404)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def clients_only(staff_endpoint=None):
    """A client's page: staff are sent to ``staff_endpoint`` (given the same view
    arguments) or, without one, answered 404."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.is_staff:
                if staff_endpoint is None:
                    abort(404)
                return redirect(url_for(staff_endpoint, **kwargs))
            return view(*args, **kwargs)
        return wrapped
    return decorator


def poll(view):
    """Mark a view as a poll: a page asking for news is not the person doing something,
    so it never moves the idle clock (``portal``'s session check asks ``is_poll``)."""
    view.is_poll = True
    return view


def is_poll():
    view = current_app.view_functions.get(request.endpoint)
    return bool(getattr(view, "is_poll", False))


def _page_url(endpoint, drop, **cursor):
    """This list again at another page: the view's arguments and the other query arguments
    (a filter, another list's page on the same screen) kept, the paging ones replaced.
    Arguments that would steer ``url_for`` itself (``_external``, ``_scheme``, ``endpoint``…)
    are not kept: they are nobody's filter."""
    if endpoint is None:
        kept = {k: v for k, v in request.args.items()
                if k not in drop and not k.startswith("_") and k != "endpoint"}
        return url_for(request.endpoint, **{**kept, **(request.view_args or {}), **cursor})
    return url_for(endpoint, **cursor)


def page_of(query, per_page):
    """One page of a query by offset (``?page=``, 1 … ``rules.MAX_PAGE``; anything else is
    page 1), for orders a key cannot page (priorities): plain values, so the template runs
    no query — ``rows``, ``page`` and the links of ``templates/_pager.html``. It reads one
    row more than it shows instead of counting them all (an offset still reads what it skips)."""
    page = rules.bounded_int(request.args.get("page"), default=1, low=1, high=rules.MAX_PAGE)
    rows = list(query.limit(per_page + 1).offset((page - 1) * per_page))  # one more: is there an older page?
    link = lambda n: _page_url(None, ("page",), **({"page": n} if n > 1 else {}))  # noqa: E731
    return {"rows": rows[:per_page], "page": page,
            "newest": link(1) if page > 2 else None, "newer": link(page - 1) if page > 1 else None,
            "older": link(page + 1) if len(rows) > per_page else None}


KEYSET_ARGS = ("before", "after")


def keyset_cursor(order, args=None):
    """(before, after) key values of the request's arguments, or of ``args`` (``before``
    wins), each None unless it is a cursor of ``order`` (a ``models.paging.Keyset``):
    garbage is the first page."""
    args = request.args if args is None else args
    before = order.parse(args.get("before"))
    return before, None if before is not None else order.parse(args.get("after"))


def keyset_page(query, order, per_page, endpoint=None):
    """One page of ``query`` newest first by key (``?before=`` / ``?after=``, see
    ``models.paging``) as plain values: ``rows``; ``args``, the cursor naming this page (a
    poll or a row's form carries it); and the links of ``templates/_pager.html`` — ``newest``,
    ``newer``, ``older`` (None where there is none) — to ``endpoint`` (default: this view)."""
    before, after = keyset_cursor(order)
    found = order.page(query, per_page, before=before, after=after)
    link = lambda **cursor: _page_url(endpoint, KEYSET_ARGS, **cursor)  # noqa: E731
    newer = found.newer and bool(found.rows)
    return {"rows": found.rows, "args": found.args, "page": None,
            "newest": link() if found.newer else None,
            "newer": link(after=order.cursor(found.rows[0])) if newer else None,
            "older": link(before=order.cursor(found.rows[-1])) if found.older else None}


# --- Redirects and the audit log -----------------------------------------------------------------

def safe_next(default_endpoint):
    """A local ?next= path, or the default page: never an open redirect."""
    target = request.values.get("next", "")
    if len(target) > 2000 or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in target):
        return url_for(default_endpoint)  # control characters would split the Location header
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
