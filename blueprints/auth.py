"""Sign-in, sign-out (here or everywhere), password recovery (ACC-9, ACC-11…ACC-13, ACC-15) and password change."""
import secrets
import time
from datetime import datetime, timezone

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

import models
from models.messages import forget_polls_of
import rules
from blueprints import audit, client_ip, render, render_form, safe_next, see_other, throttling, trusted_session
from forms.auth import ChangePasswordForm, LoginForm, ResetCodeForm, ResetRequestForm
from forms.security import SecondStepForm
from blueprints.extensions import limiter
from rules import second_factor, sessions
from rules import throttle as budgets

bp = Blueprint("auth", __name__)


def start_session(user, method=sessions.PASSWORD, announce=True):
    """A fresh session for a user who has just signed in (nothing carried over from before).
    It keeps the account's sign-in before this one, which the dashboard shows ("Iepriekšējā
    pieslēgšanās", so a sign-in the owner did not make stands out), and records this one — in
    "Your sessions", and, from a browser that is no known device of the account, in a notice
    to the person (issue 12; not ``announce``-d for an account just registered)."""
    previous = user.last_login_at
    new_device = announce and not throttling.known_device(user)
    renew_session(user, previous.replace(tzinfo=timezone.utc).timestamp() if previous else None, method=method)
    models.User.update(last_login_at=models.utcnow()).where(models.User.id == user.id).execute()
    if new_device:
        with models.action():
            notify_new_device(user)


def notify_new_device(user):
    """A security notice (e-mail, and SMS to the account's phone): someone signed in from a browser
    the account did not know, with the device, the time and the approximate place, and where to
    end the session."""
    browser, system = sessions.describe_user_agent(request.headers.get("User-Agent"))
    models.security_notice(
        user, "new_device_sign_in", browser=browser, system=system, place=sessions.address_range(client_ip()),
        at=current_app.jinja_env.filters["datetime"](models.utcnow()))


def renew_session(user, previous_login=None, method=None):
    """A fresh session for ``user`` (the language kept): on sign-in, and after a password change,
    which is no new sign-in (it passes on the session's previous sign-in, and keeps how it
    signed in). The session is recorded for "Your sessions", in place of the one it follows."""
    follows = session.get("sid")
    kept_auth = None
    if method is None:  # not a sign-in: the session goes on as strong as it signed in
        method = sessions.EID if trusted_session() else sessions.PASSWORD
        kept_auth = session.get("auth")
    _clear_session()
    login_user(user)
    now = datetime.now(timezone.utc).timestamp()
    session["login_at"] = now
    session["seen_at"] = now
    session["seen_recorded_at"] = now
    session["sid"] = secrets.token_urlsafe(24)  # this session's own id: "sign out here" ends it
    if previous_login is not None:
        session["previous_login_at"] = previous_login
    if kept_auth:
        session["auth"] = kept_auth
    models.UserSession.record(user, session["sid"], method, request.headers.get("User-Agent"), client_ip(),
                              models.utcnow(), replaces=follows)


def previous_login():
    """When the account signed in before this session began (UTC), or None the first time."""
    stamp = session.get("previous_login_at")
    return datetime.fromtimestamp(stamp, timezone.utc) if isinstance(stamp, (int, float)) else None


def _login_throttled(form, refused):
    """The sign-in form again, saying when to try again (429)."""
    form.form_errors.append(_("Too many sign-in attempts. Try again in %(n)d minutes.", n=refused.minutes))
    form.form_errors.append(_("If this is your account, you can still sign in from a device you have "
                              "signed in on before, or recover your password."))
    return refused.answer(render("auth/login.html", "auth/_login_form.html", 429, form=form))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with e-mail or +phone and password (throttled before the password is checked:
    rules/throttle.py)."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        account = form.identifier.normalised
        user = models.find_user_by_identifier(account)
        try:
            charges = throttling.attempt(user, account, budgets.SIGN_IN_PER_SOURCE,
                                         budgets.SIGN_IN_PER_ACCOUNT, budgets.SIGN_IN_PER_DEVICE,
                                         actor=account[:100])
        except throttling.Throttled as refused:
            return _login_throttled(form, refused)
        if user is None:
            models.passwords.dummy_check(form.password.data)  # same cost
        if user and user.is_active and user.check_password(form.password.data):
            throttling.refund(*charges)
            if models.SecondFactor.enabled_for(user) or models.Passkey.exists_for(user):
                return _ask_second_step(user, safe_next("main.dashboard"))
            return signed_in(user, safe_next("main.dashboard"))
        audit("login.failure", user=user, actor=form.identifier.data[:100])
        form.form_errors.append(_("The e-mail, phone number or password is not right."))
    return render_form("auth/login.html", "auth/_login_form.html", form=form)


def signed_in(user, next_url, respond=None, method=sessions.PASSWORD, **how):
    """The password (and, when the account has one, the second factor) was right: a new session,
    this browser a known device from now on, and on to ``next_url`` — or to the password change
    a temporary password needs first. ``respond`` makes the answer from the address (a passkey's
    JSON); by default a 303."""
    start_session(user, method=method)
    if how.get("second_factor"):
        session["auth"] = {"method": method, "second_factor": how["second_factor"], "at": time.time()}
    audit("login.success", user=user, **how)
    respond = respond or (lambda url: redirect(url, code=303))
    if user.must_change_password:
        return throttling.remember_device(respond(url_for("auth.change_password")), user)
    return throttling.remember_device(respond(next_url), user)


# --- The second step: a code from the app, or a recovery code (issue 12) -------------------
# Between the two steps this browser's session holds who got the password right, their session
# version (a password change or "sign out everywhere" meanwhile ends the wait), when, and where
# to go; nobody is signed in until the code is right.

SECOND_STEP_KEY = "second_step"


def _ask_second_step(user, next_url):
    _clear_session()
    session[SECOND_STEP_KEY] = {"user": user.id, "version": user.session_version, "at": time.time(),
                                "next": next_url}
    return see_other("auth.second_step")


def waiting_for_second_step():
    """The user whose password was right in this browser a moment ago, or None."""
    pending = session.get(SECOND_STEP_KEY)
    if not isinstance(pending, dict) or not isinstance(pending.get("at"), (int, float)):
        return None
    if time.time() - pending["at"] > second_factor.SECOND_STEP_WINDOW.total_seconds():
        return None
    user = models.User.get_or_none(models.User.id == pending.get("user"))
    if user is None or not user.is_active or user.session_version != pending.get("version"):
        return None
    return user


def _second_step_page(form, user, status=None):
    """The second step: the code form when the account has an authenticator app, the passkey
    button when it has a passkey (shown by static/passkeys.js)."""
    ways = {"totp": models.SecondFactor.enabled_for(user), "passkey": models.Passkey.exists_for(user)}
    if status is None:
        return render_form("auth/second_step.html", "auth/_second_step_form.html", form=form, **ways)
    return render("auth/second_step.html", "auth/_second_step_form.html", status, form=form, **ways)


@bp.route("/login/code", methods=["GET", "POST"])
def second_step():
    """Signing in with a password, step 2, for an account with a second factor: the code the
    authenticator app shows (each taken once) or a recovery code (each used once). Throttled as
    signing in is: a known device of the account has a budget of its own."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    user = waiting_for_second_step()
    if user is None:
        session.pop(SECOND_STEP_KEY, None)
        flash(_("Sign in again: enter your e-mail or phone and password."), "info")
        return see_other("auth.login")
    form = SecondStepForm()
    if form.validate_on_submit():
        try:
            charges = throttling.attempt(user, f"user:{user.id}", budgets.SIGN_IN_PER_SOURCE,
                                         budgets.SECOND_STEP_PER_ACCOUNT, budgets.SECOND_STEP_PER_DEVICE,
                                         actor=user.email)
        except throttling.Throttled as refused:
            form.form_errors.append(_("Too many attempts. Try again in %(n)d minutes.", n=refused.minutes))
            return refused.answer(_second_step_page(form, user, 429))
        kind, code = second_factor.read_code(form.code.data)
        with models.action():
            taken = _take_second_factor(user, kind, code)
            if not taken:
                audit("login.totp_failed", user=user)
            elif kind == second_factor.RECOVERY:
                audit("login.recovery_code", user=user)
                # A recovery code is a lost phone, or someone else's hand: the person hears of it.
                models.security_notice(user, "totp_recovery_code_used", left=models.RecoveryCode.left(user))
        if taken:
            throttling.refund(*charges)
            next_url = session[SECOND_STEP_KEY].get("next") or url_for("main.dashboard")
            return signed_in(user, next_url, second_factor=kind)
        form.code.errors.append(_("The code is not right, or it has been used already."))
    return _second_step_page(form, user)


def _take_second_factor(user, kind, code):
    if kind == second_factor.TOTP:
        factor = models.SecondFactor.of(user)
        return bool(factor and factor.enabled_at and factor.take(code, time.time()))
    if kind == second_factor.RECOVERY:
        return models.RecoveryCode.use(user, code)
    return False


# What a browser's session keeps when someone signs in or out: the language, and an invitation
# it opened (``blueprints.company``), so that signing in or registering comes back to accept it
# without the token travelling in a ``next`` address.
KEPT_ACROSS_SESSIONS = ("lang", "invitation")


def _clear_session(keep=KEPT_ACROSS_SESSIONS):
    """Forget everything in this browser's session but its language (and, signing in, an
    opened invitation)."""
    kept = {k: session[k] for k in keep if session.get(k)}
    session.clear()
    session.update(kept)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign out in this browser: this session ends for good (its id is refused, so a copy of
    the cookie is no good either); the user's other sessions go on."""
    user = current_user._get_current_object()
    session_id = session.get("sid")
    if not session_id:  # a session from before sessions had ids: only "everywhere" can end it
        return logout_everywhere()
    with models.action():
        models.EndedSession.end(user, session_id, models.utcnow())
        models.UserSession.forget(session_id)
        audit("logout", user=user)
    forget_polls_of(session_id)
    logout_user()
    _clear_session(keep=("lang",))
    flash(_("You have signed out in this browser. Your sessions on other devices and browsers go on."),
          "success")
    return see_other("auth.login")


@bp.route("/logout/everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    """Sign out on every device and in every browser: the session version moves on."""
    user = current_user._get_current_object()
    with models.action():
        models.User.update(session_version=models.User.session_version + 1).where(
            models.User.id == user.id).execute()
        models.UserSession.forget(user=user)
        audit("logout.everywhere", user=user)
    logout_user()
    _clear_session(keep=("lang",))
    flash(_("You have signed out on every device and in every browser."), "success")
    return see_other("auth.login")


# --- Password recovery -------------------------------------------------------------

def _reset_from_session():
    token = session.get("reset")
    reset = models.PasswordReset.get_or_none(models.PasswordReset.token == token) if token else None
    if reset is None or reset.expired or reset.completed_at:
        return None
    return reset


def _recovery_code_may_go(user, target):
    """Charge a recovery request (or resend) before anything is sent: False when the target's
    message cap keeps this one from getting a new code (the answer stays the same, and the
    owner can use a code already sent); ``Throttled`` when the source is over its budget."""
    charges = throttling.attempt(user, target, budgets.RECOVERY_PER_SOURCE,
                                 budgets.RECOVERY_MESSAGES_PER_TARGET, budgets.RECOVERY_PER_DEVICE,
                                 account_refuses=False, actor=target)
    if charges[-1].allowed:
        return True
    newest = models.OneTimeCode.newest_at("reset", target)
    return budgets.another_message_due(newest, models.utcnow(), rules.CODE_LIFETIME)


def _reset_throttled(form, refused):
    form.form_errors.append(_("Too many requests. Try again in %(n)d minutes.", n=refused.minutes))
    return refused.answer(render("auth/reset_request.html", "auth/_reset_request_form.html", 429, form=form))


@bp.route("/password/reset", methods=["GET", "POST"])
def reset_request():
    """Step 1: e-mail or phone. Answers the same whether or not the account exists, and whether
    or not the target's message cap let a new code go out."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        kind, target = form.identifier.kind, form.identifier.normalised
        channel = "email" if kind == "email" else "sms"
        user = models.find_user_by_identifier(target)
        try:
            send_code = _recovery_code_may_go(user, target)
        except throttling.Throttled as refused:
            return _reset_throttled(form, refused)
        with models.action():  # the same work for an unknown account (PasswordReset.start)
            reset = models.PasswordReset.start(channel, target, send=send_code)
            audit("password.reset_requested", user=reset.user, actor=target, channel=channel)
        session["reset"] = reset.token
        return see_other("auth.reset_code")
    return render_form("auth/reset_request.html", "auth/_reset_request_form.html", form=form)


@bp.route("/password/reset/code", methods=["GET", "POST"])
def reset_code():
    """Step 2: the code; when right, a temporary password goes to the same channel."""
    reset = _reset_from_session()
    if reset is None:
        flash(_("Start the password recovery again."), "info")
        return redirect(url_for("auth.reset_request"))
    form = ResetCodeForm()
    if form.validate_on_submit():
        code = models.OneTimeCode.for_reset(reset)
        result = code.check(form.code.data) if code else rules.CODE_DEAD
        if result == rules.CODE_OK and reset.user and code.use():
            user = reset.user
            temporary = rules.temporary_password()
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
            # This browser proved it reads the account's mail or texts: it is a known device
            # now, so signing in with the temporary password here passes a spent account budget.
            return throttling.remember_device(see_other("auth.reset_sent"), user)
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
    latest = models.OneTimeCode.for_reset(reset)
    wait = latest.seconds_until_resend() if latest else 0
    if wait:
        flash(_("You can request a new code in %(n)d seconds.", n=wait), "error")
        return see_other("auth.reset_code")
    # The account read by id both ways ("id IS NULL" for nobody): ``reset.user`` would ask
    # the database only when there is one.
    user = models.User.get_or_none(models.User.id == reset.user_id)
    try:
        send_code = _recovery_code_may_go(user, reset.target)
    except throttling.Throttled as refused:
        flash(_("Too many requests. Try again in %(n)d minutes.", n=refused.minutes), "error")
        return see_other("auth.reset_code")
    if send_code:
        with models.action():
            reset.send_code()
    flash(_("A new code has been sent."), "success")
    return see_other("auth.reset_code")


# --- Password change ---------------------------------------------------------------------

@bp.route("/password/change", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password; forced after signing in with a temporary one. Attempts are
    charged before the password checks (argon2); a change that succeeds is given back."""
    user = current_user._get_current_object()
    form = ChangePasswordForm()
    forced = user.must_change_password
    if form.validate_on_submit():
        try:
            charged = throttling.charge(budgets.PASSWORD_CHANGE_PER_ACCOUNT, f"user:{user.id}", user=user)
        except throttling.Throttled as refused:
            form.form_errors.append(_("Too many attempts. Try again in %(n)d minutes.", n=refused.minutes))
            return refused.answer(render("auth/change_password.html", "auth/_change_password_form.html", 429,
                                         form=form, forced=forced))
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
            throttling.refund(charged)
            # Other sessions ended with the version bump, and other browsers' device tokens with
            # the new hash; keep this session, and this browser as a known device.
            renew_session(user, session.get("previous_login_at"))
            flash(_("Your password has been changed."), "success")
            return throttling.remember_device(see_other("main.dashboard"), user)
    return render_form("auth/change_password.html", "auth/_change_password_form.html", form=form,
                       forced=forced)
