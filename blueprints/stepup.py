"""Step-up: what changes how a person signs in or is reached (e-mail, phone, linking or unlinking
e-identity) needs a sign-in within the last few minutes (``rules.identity.STEP_UP_WINDOW``).

``fresh_sign_in_required`` guards such a view: a session that proved itself longer ago is sent to
``/signin/confirm``, where the person confirms with their password or with e-identity (the same
flow as signing in, ``blueprints/eid.py``), and comes back. Confirming moves
``session["authenticated_at"]`` only; the absolute timeout still counts from the sign-in."""
import time
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

import models
from blueprints import audit, render_form, safe_next, signed_in_user, throttling
from forms.eid import ConfirmPasswordForm
from rules import identity as eid
from rules import throttle as budgets

bp = Blueprint("stepup", __name__)


def authenticated_at():
    """When this session last proved who it is (signed in, or confirmed since), as a timestamp."""
    stamp = session.get("authenticated_at", session.get("login_at", 0))
    return stamp if isinstance(stamp, (int, float)) else 0


def signed_in_recently(window=eid.STEP_UP_WINDOW):
    return current_user.is_authenticated and time.time() - authenticated_at() <= window.total_seconds()


def mark_confirmed(method, **details):
    """This session has just proved itself again."""
    session["authenticated_at"] = time.time()
    audit("login.step_up", user=signed_in_user(), method=method, **details)


def fresh_sign_in_required(view):
    """The view runs only for a session that signed in (or confirmed) within the step-up window;
    any other is sent to confirm first, and back to the page (a GET; a form's POST comes back to
    its page, to be sent again)."""
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        return confirm_first() or view(*args, **kwargs)
    return wrapped


def confirm_first():
    """None for a session that signed in (or confirmed) within the step-up window; else the
    redirect that sends it to confirm first, and back (``fresh_sign_in_required`` as a call)."""
    if signed_in_recently():
        return None
    return redirect(url_for("stepup.confirm", next=_back()), code=303)


def _back():
    """Where to return after confirming: this page for a GET; for a form's POST the page the
    form was on (this site's, by the Referer the same-origin policy sends), else the dashboard."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path.startswith("/"):
        return referrer.path + ("?" + referrer.query if referrer.query else "")
    return url_for("main.dashboard")


@bp.route("/signin/confirm", methods=["GET", "POST"])
@login_required
def confirm():
    """Confirm it is still you: the password (throttled like a sign-in), or e-identity."""
    user = signed_in_user()
    form = ConfirmPasswordForm()
    if form.validate_on_submit():
        try:
            charges = throttling.attempt(user, user.email, budgets.SIGN_IN_PER_SOURCE, budgets.SIGN_IN_PER_ACCOUNT,
                                         budgets.SIGN_IN_PER_DEVICE, actor=user.email)
        except throttling.Throttled as refused:
            form.form_errors.append(_("Too many attempts. Try again in %(n)d minutes.", n=refused.minutes))
            return refused.answer(render_form("eid/confirm.html", None, form=form))
        if user.check_password(form.password.data):
            throttling.refund(*charges)
            with models.action():
                mark_confirmed("password")
            return redirect(safe_next("main.dashboard"), code=303)
        with models.action():
            audit("login.step_up_failed", user=user)
        form.password.errors.append(_("The password is not right."))
    return render_form("eid/confirm.html", None, form=form, next=safe_next("main.dashboard"))
