"""Sign-in, sign-out, password recovery (ACC-9, ACC-11…ACC-13, ACC-15) and password change."""
import secrets
import string
from datetime import datetime, timezone

from flask import Blueprint, flash, make_response, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

import models
import rules
from blueprints import audit, render, render_form, safe_next, see_other
from forms.auth import ChangePasswordForm, LoginForm, ResetCodeForm, ResetRequestForm
from blueprints.extensions import limiter, retry_minutes

bp = Blueprint("auth", __name__)


def start_session(user):
    """A fresh session for a signed-in user (nothing carried over from before)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user)
    now = datetime.now(timezone.utc).timestamp()
    session["login_at"] = now
    session["seen_at"] = now
    models.User.update(last_login_at=models.utcnow()).where(models.User.id == user.id).execute()


def _identifier_key():
    """Rate-limit key for the account a request names (normalised when valid)."""
    raw = request.form.get("identifier", "")
    _kind, value = rules.parse_identifier(raw)
    return "account:" + (value or raw.strip().lower()[:100])


def _failed(response):
    """Only failed attempts count against the sign-in limits."""
    return response.status_code != 303


def _login_throttled(request_limit):
    form = LoginForm()
    form.form_errors.append(_("Too many sign-in attempts. Try again in %(n)d minutes.",
                              n=retry_minutes(request_limit)))
    audit("login.throttled", actor=request.form.get("identifier", "")[:100])
    # Flask-Limiter uses what on_breach returns only when it is a Response.
    return make_response(render("auth/login.html", "auth/_login_form.html", 429, form=form))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("30 per 15 minutes", methods=["POST"], deduct_when=_failed, on_breach=_login_throttled)
@limiter.limit("5 per 15 minutes", methods=["POST"], key_func=_identifier_key,
               deduct_when=_failed, on_breach=_login_throttled)
def login():
    """Sign in with e-mail or +phone and password."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        user = models.find_user_by_identifier(form.identifier.data)
        if user is None:
            models.passwords.dummy_check(form.password.data)  # same cost
        if user and user.is_active and user.check_password(form.password.data):
            start_session(user)
            audit("login.success", user=user)
            if user.must_change_password:
                return see_other("auth.change_password")
            return redirect(safe_next("main.dashboard"), code=303)
        audit("login.failure", user=user, actor=form.identifier.data[:100])
        form.form_errors.append(_("The e-mail, phone number or password is not right."))
    return render_form("auth/login.html", "auth/_login_form.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out here and everywhere: the session version moves on."""
    user = current_user._get_current_object()
    models.User.update(session_version=models.User.session_version + 1).where(
        models.User.id == user.id).execute()
    audit("logout", user=user)
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have signed out."), "success")
    return see_other("auth.login")


# --- Password recovery -------------------------------------------------------------

def _reset_from_session():
    token = session.get("reset")
    reset = models.PasswordReset.get_or_none(models.PasswordReset.token == token) if token else None
    if reset is None or reset.expired or reset.completed_at:
        return None
    return reset


def _target_key():
    raw = request.form.get("identifier", "")
    _kind, value = rules.parse_identifier(raw)
    return "reset:" + (value or raw.strip().lower()[:100])


def _reset_throttled(request_limit):
    form = ResetRequestForm()
    form.form_errors.append(_("Too many requests. Try again in %(n)d minutes.",
                              n=retry_minutes(request_limit)))
    return make_response(render("auth/reset_request.html", "auth/_reset_request_form.html", 429, form=form))


@bp.route("/password/reset", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"], on_breach=_reset_throttled)
@limiter.limit("5 per hour", methods=["POST"], key_func=_target_key, on_breach=_reset_throttled)
def reset_request():
    """Step 1: e-mail or phone. Answers the same whether or not the account exists."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        kind, target = form.identifier.kind, form.identifier.normalised
        channel = "email" if kind == "email" else "sms"
        with models.action():  # the same work for an unknown account (PasswordReset.start)
            reset = models.PasswordReset.start(channel, target)
            audit("password.reset_requested", user=reset.user, actor=target, channel=channel)
        session["reset"] = reset.token
        return see_other("auth.reset_code")
    return render_form("auth/reset_request.html", "auth/_reset_request_form.html", form=form)


def _temporary_password():
    """A random password that itself satisfies the password rule."""
    alphabet = string.ascii_letters + string.digits + "!#%+?"
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(14))
        if not rules.password_problems(candidate):
            return candidate


@bp.route("/password/reset/code", methods=["GET", "POST"])
def reset_code():
    """Step 2: the code; when right, a temporary password goes to the same channel."""
    reset = _reset_from_session()
    if reset is None:
        flash(_("Start the password recovery again."), "info")
        return redirect(url_for("auth.reset_request"))
    form = ResetCodeForm()
    if form.validate_on_submit():
        code = models.OneTimeCode.latest("reset", reset=reset)
        result = code.check(form.code.data) if code else rules.CODE_DEAD
        if result == rules.CODE_OK and reset.user and code.use():
            user = reset.user
            temporary = _temporary_password()
            with models.action():
                user.set_password(temporary, temporary=True)
                reset.completed_at = models.utcnow()
                reset.save()
                models.Notification.queue(
                    reset.channel, reset.target, "temporary_password",
                    language=user.language, user=user, password=temporary)
                audit("password.reset", user=user, channel=reset.channel)
            session.pop("reset", None)
            session["reset_sent"] = {"channel": reset.channel, "target": reset.target}
            return see_other("auth.reset_sent")
        if result == rules.CODE_WRONG:
            form.code.errors.append(_("The code is not right. Check it and try again."))
        else:
            form.code.errors.append(_("This code can no longer be used. Request a new code."))
        audit("password.reset_code_failed", user=reset.user, actor=reset.target)
    return render_form("auth/reset_code.html", "auth/_reset_code_form.html", form=form, reset=reset)


@bp.route("/password/reset/sent")
def reset_sent():
    """Step 3: where the temporary password went, and the way to sign in."""
    sent = session.get("reset_sent")
    if not sent:
        return redirect(url_for("auth.reset_request"))
    return render("auth/reset_sent.html", "auth/_reset_sent.html",
                  channel=sent["channel"], target=sent["target"])


@bp.route("/password/reset/resend", methods=["POST"])
@limiter.limit("5 per hour", key_func=lambda: "reset-resend:" + str(session.get("reset")))
def reset_resend():
    """A new recovery code, at most once a minute."""
    reset = _reset_from_session()
    if reset is None:
        return redirect(url_for("auth.reset_request"))
    latest = models.OneTimeCode.latest("reset", reset=reset)
    wait = latest.seconds_until_resend() if latest else 0
    if wait:
        flash(_("You can request a new code in %(n)d seconds.", n=wait), "error")
        return see_other("auth.reset_code")
    with models.action():
        reset.send_code()
    flash(_("A new code has been sent."), "success")
    return see_other("auth.reset_code")


# --- Password change ---------------------------------------------------------------------

@bp.route("/password/change", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per 15 minutes", methods=["POST"], key_func=lambda: f"pwchange:{current_user.id}",
               deduct_when=_failed)
def change_password():
    """Change the password; forced after signing in with a temporary one."""
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not user.check_password(form.current_password.data):
            form.current_password.errors.append(_("The current password is not right."))
        elif user.was_used_before(form.password.data):
            form.password.errors.append(_("The new password must differ from your previous passwords."))
        else:
            with models.action():
                user.set_password(form.password.data)
                models.Notification.queue(
                    "email", user.email, "password_changed", language=user.language, user=user)
                audit("password.changed", user=user)
            # Other sessions ended with the version bump; keep this one.
            start_session(user)
            flash(_("Your password has been changed."), "success")
            return see_other("main.dashboard")
    return render_form("auth/change_password.html", "auth/_change_password_form.html", form=form,
                       forced=user.must_change_password)
