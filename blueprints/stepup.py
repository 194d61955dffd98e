"""Step-up: what changes how a person signs in or is reached (e-mail, phone, linking or unlinking
e-identity) needs a sign-in within the last few minutes (``rules.identity.STEP_UP_WINDOW``).

``fresh_sign_in_required`` guards such a view: a session that proved itself longer ago is sent to
``/signin/confirm``, where the person confirms with their password, with e-identity (the same
flow as signing in, ``blueprints/eid.py``), or — with a second factor — with a current code of
their authenticator app or a passkey (``blueprints/passkeys.py``), and comes back. Confirming moves
``session["authenticated_at"]`` only; the absolute timeout still counts from the sign-in."""
import time
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

import models
from blueprints import audit, render, safe_next, signed_in_user, throttling
from forms.eid import ConfirmPasswordForm
from forms.security import EnrolTotpForm
from rules import identity as eid
from rules import second_factor
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


def _confirm_page(user, form=None, code_form=None, status=None):
    """The confirmation page: the password form, the app's code (with an authenticator app), the
    passkey button (with a passkey; static/passkeys.js shows it) and the e-identity buttons."""
    form = form or ConfirmPasswordForm(formdata=None)
    code_form = code_form or EnrolTotpForm(formdata=None)
    failed = request.method == "POST" and bool(form.errors or form.form_errors or code_form.errors
                                                or code_form.form_errors)
    return render("eid/confirm.html", None, status or (422 if failed else 200), form=form, code_form=code_form,
                  next=safe_next("main.dashboard"), totp=models.SecondFactor.enabled_for(user),
                  passkey=models.Passkey.exists_for(user))


def _charge(user):
    """One attempt at confirming, throttled as signing in is (password, code or passkey alike)."""
    return throttling.attempt(user, user.email, budgets.SIGN_IN_PER_SOURCE, budgets.SIGN_IN_PER_ACCOUNT,
                              budgets.SIGN_IN_PER_DEVICE, actor=user.email)


@bp.route("/signin/confirm", methods=["GET", "POST"])
@login_required
def confirm():
    """Confirm it is still you: the password (throttled like a sign-in), or e-identity."""
    user = signed_in_user()
    form = ConfirmPasswordForm()
    if form.validate_on_submit():
        try:
            charges = _charge(user)
        except throttling.Throttled as refused:
            form.form_errors.append(_("Too many attempts. Try again in %(n)d minutes.", n=refused.minutes))
            return refused.answer(_confirm_page(user, form=form, status=429))
        if user.check_password(form.password.data):
            throttling.refund(*charges)
            with models.action():
                mark_confirmed("password")
            return redirect(safe_next("main.dashboard"), code=303)
        with models.action():
            audit("login.step_up_failed", user=user)
        form.password.errors.append(_("The password is not right."))
    return _confirm_page(user, form=form)


@bp.route("/signin/confirm/code", methods=["POST"])
@login_required
def confirm_code():
    """Confirm it is still you with the code the authenticator app shows now (each code is taken
    once, as at sign-in), throttled with the password's attempts."""
    user = signed_in_user()
    factor = models.SecondFactor.of(user)
    if factor is None or factor.enabled_at is None:
        return redirect(url_for("stepup.confirm", next=safe_next("main.dashboard")), code=303)
    code_form = EnrolTotpForm()
    if code_form.validate_on_submit():
        try:
            charges = _charge(user)
        except throttling.Throttled as refused:
            code_form.form_errors.append(_("Too many attempts. Try again in %(n)d minutes.", n=refused.minutes))
            return refused.answer(_confirm_page(user, code_form=code_form, status=429))
        with models.action():
            taken = factor.take(second_factor.read_code(code_form.code.data)[1], time.time())
            if taken:
                mark_confirmed("totp")
            else:
                audit("login.step_up_failed", user=user, method="totp")
        if taken:
            throttling.refund(*charges)
            return redirect(safe_next("main.dashboard"), code=303)
        code_form.code.errors.append(_("The code is not right, or it has been used already."))
    return _confirm_page(user, code_form=code_form)
