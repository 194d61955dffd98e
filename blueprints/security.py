"""Account security in the settings (issue 12): "Your sessions" — every signed-in session of the
person, each of which (or all others at once) can be ended — and the second factor for password
sign-in (TOTP with recovery codes)."""
import time

import segno
from flask import Blueprint, abort, current_app, flash, session
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

import models
import rules
from blueprints import (audit, render, render_form, second_factor_session, see_other, signed_in_user, staff_required,
                        trusted_session)
from blueprints.auth import logout
from blueprints.company import managed_company
from blueprints.stepup import fresh_sign_in_required
from forms.security import CompanyTwoStepForm, EnrolTotpForm
from models.messages import forget_polls_of
from rules import second_factor
from rules import sessions as R

bp = Blueprint("security", __name__)


@bp.route("/settings/sessions")
@login_required
def sessions():
    """Every session of the person that may still go on: device and browser, the network it
    signed in from, when, when last seen, how; this one marked."""
    user = signed_in_user()
    rows = list(models.UserSession.live_of(user, models.utcnow()))
    listed = [{"row": row, "device": R.describe_user_agent(row.user_agent),
               "current": row.session_id == session.get("sid")} for row in rows]
    listed.sort(key=lambda item: not item["current"])  # this session first
    return render("settings/sessions.html", "settings/_sessions.html", sessions=listed,
                  others=any(not item["current"] for item in listed))


@bp.route("/settings/sessions/<int:row_id>/end", methods=["POST"])
@login_required
def end_session(row_id):
    """End one session: from its next request it is signed out (and its message poll stops).
    Ending this session is signing out here; another person's session is not found (404)."""
    user = signed_in_user()
    found = models.UserSession.get_or_none(models.UserSession.id == row_id, models.UserSession.user == user)
    if found is None:
        abort(404)
    if found.session_id == session.get("sid"):
        return logout()
    with models.action():
        ended = models.UserSession.end(user, row_id, models.utcnow())
        if ended:
            audit("session.ended", user=user, session=row_id)
    if ended:
        forget_polls_of(ended)
    flash(_("The session has been ended."), "success")
    return see_other("security.sessions")


@bp.route("/settings/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions():
    """End every session but this one."""
    user = signed_in_user()
    with models.action():
        ended = models.UserSession.end_others(user, session.get("sid"), models.utcnow())
        audit("session.ended_others", user=user, count=len(ended))
    for session_id in ended:
        forget_polls_of(session_id)
    flash(_("Every other session has been ended."), "success")
    return see_other("security.sessions")


# --- Staff need a strong sign-in (issue 12) ------------------------------------------------------
# A staff member who signed in with a password alone is sent to turn on two-step sign-in (or add a
# passkey) before any other page (portal's request hook, ``STAFF_ENROL_ALLOWED``); signing out
# still works. E-identity is strong by itself. Enrolling proves the factor in this session, so
# the session counts as strong from then on (``mark_second_factor``).

def staff_must_enrol():
    """True when the signed-in user is staff and this session is not strong, unless the
    ``STAFF_SECOND_FACTOR`` setting is off ("0")."""
    if current_app.config.get("STAFF_SECOND_FACTOR") is False or not current_user.is_staff:
        return False
    return not (trusted_session() or second_factor_session())


def mark_second_factor(kind):
    """This session has just proved a second factor (an enrolment's first code, a new passkey)."""
    if not (trusted_session() or second_factor_session()):
        session["auth"] = {"method": R.PASSWORD, "second_factor": kind, "at": time.time()}


# --- The second factor: TOTP with recovery codes ------------------------------------------------
# Turning it on, making new recovery codes and turning it off each need a fresh sign-in (the
# step-up), and each sends the person a notice by e-mail.

def _notify(user, template):
    """A security notice: e-mail, and SMS to the account's phone (``models.security_notice``)."""
    models.security_notice(user, template)


@bp.route("/settings/two-step")
@login_required
def two_step():
    """Whether two-step sign-in is on, and the ways to turn it on or off."""
    user = signed_in_user()
    factor = models.SecondFactor.of(user)
    enabled = factor is not None and factor.enabled_at is not None
    return render("settings/two_step.html", factor=factor if enabled else None,
                  codes_left=models.RecoveryCode.left(user) if enabled else 0)


@bp.route("/settings/two-step/start", methods=["POST"])
@fresh_sign_in_required
def start_two_step():
    """A new secret for the app, waiting for its first code."""
    with models.action():
        started = models.SecondFactor.start(signed_in_user())
    if started is None:
        flash(_("Two-step sign-in is on already."), "info")
        return see_other("security.two_step")
    return see_other("security.enrol_two_step")


def _qr_svg(uri):
    """The otpauth:// address as an inline SVG (drawn with attributes, no style: the CSP allows it)."""
    code = segno.make(uri, error="m")
    svg = code.svg_inline(scale=5, border=4, dark="#000", light="#fff",
                                                title=_("QR code for your authenticator app"))
    width, height = code.symbol_size(scale=5, border=4)
    # A viewBox lets the stylesheet shrink it on a narrow screen instead of cropping it.
    return Markup(svg.replace("<svg ", f'<svg role="img" viewBox="0 0 {width} {height}" ', 1))


@bp.route("/settings/two-step/enrol", methods=["GET", "POST"])
@fresh_sign_in_required
def enrol_two_step():
    """Scan the QR code (or type the secret), then enter the app's first code: two-step sign-in
    is on, and the ten recovery codes are shown, this once."""
    user = signed_in_user()
    factor = models.SecondFactor.of(user)
    if factor is None or factor.enabled_at is not None:
        return see_other("security.two_step")
    form = EnrolTotpForm()
    if form.validate_on_submit():
        with models.action():
            codes = factor.confirm(second_factor.read_code(form.code.data)[1], time.time())
            if codes:
                audit("totp.enabled", user=user)
                _notify(user, "totp_enabled")
        if codes:
            mark_second_factor(second_factor.TOTP)
            return render("settings/recovery_codes.html", codes=codes, first=True)
        form.code.errors.append(_("The code is not right. Check the app's time and enter the code it shows now."))
    secret = factor.opened_secret()
    return render_form("settings/enrol_two_step.html", form=form, qr=_qr_svg(factor.provisioning_uri(user.email)),
                       secret=second_factor.grouped_secret(secret))


@bp.route("/settings/two-step/recovery-codes", methods=["POST"])
@fresh_sign_in_required
def new_recovery_codes():
    """Ten new recovery codes in place of the old ones (which stop working), shown this once."""
    user = signed_in_user()
    if not models.SecondFactor.enabled_for(user):
        return see_other("security.two_step")
    with models.action():
        codes = models.RecoveryCode.replace_for(user)
        audit("totp.recovery_codes", user=user)
        _notify(user, "totp_recovery_codes")
    return render("settings/recovery_codes.html", codes=codes, first=False)


@bp.route("/settings/two-step/off", methods=["POST"])
@fresh_sign_in_required
def turn_off_two_step():
    """Turn two-step sign-in off: the password alone signs in again."""
    user = signed_in_user()
    with models.action():
        was_on = models.SecondFactor.enabled_for(user)
        models.SecondFactor.turn_off(user)
        if was_on:
            audit("totp.disabled", user=user)
            _notify(user, "totp_disabled")
    flash(_("Two-step sign-in is off."), "success")
    return see_other("security.two_step")


# --- A company's requirement (issue 12) ---------------------------------------------------------

@bp.route("/companies/<int:client_id>/two-step", methods=["POST"])
@fresh_sign_in_required
def company_two_step(client_id):
    """A main user decides whether the company's users act for it only from a strong sign-in
    (e-identity, or a password with two-step sign-in). Turning it on takes effect at each user's
    next request; it is refused from a session that would lose the company by it."""
    manager = managed_company(client_id)
    if manager.role != rules.MAIN:
        abort(404)
    form = CompanyTwoStepForm()
    if not form.validate_on_submit():
        flash(_("Choose how the company's users must sign in."), "error")
        return see_other("company.users", client_id=client_id)
    required = form.required.data == "yes"
    if required and not (trusted_session() or second_factor_session()):
        flash(_("Sign in with two-step sign-in or e-identity yourself first: this session would lose "
                "the company otherwise."), "error")
        return see_other("company.users", client_id=client_id)
    user = signed_in_user()
    with models.action():
        models.Client.update(requires_second_factor=required).where(models.Client.id == client_id).execute()
        audit("company.second_factor_required" if required else "company.second_factor_not_required",
              user=user, client=client_id)
    flash(_("The company's users now act for it only after two-step sign-in or e-identity.") if required
          else _("The company's users may act for it after signing in with a password alone."), "success")
    return see_other("company.users", client_id=client_id)


# --- Staff end a client user's sessions (issue 12) -----------------------------------------------

def _client_user_or_404(user_id):
    """A client user (not staff) by id, or 404."""
    found = models.User.get_or_none(models.User.id == user_id)
    if found is None or found.is_staff:
        abort(404)
    return found


@bp.route("/staff/users/<int:user_id>/sessions")
@staff_required("supervisor")
def staff_user_sessions(user_id):
    """A client user's signed-in sessions, as the person's own "Your sessions" lists them, and a
    form that ends them all (supervisors and administrators)."""
    person = _client_user_or_404(user_id)
    rows = list(models.UserSession.live_of(person, models.utcnow()))
    listed = [{"row": row, "device": R.describe_user_agent(row.user_agent)} for row in rows]
    return render("staff/user_sessions.html", person=person, sessions=listed)


@bp.route("/staff/users/<int:user_id>/sessions/end", methods=["POST"])
@staff_required("supervisor")
def staff_end_user_sessions(user_id):
    """End every session of a client user: the listed ones are recorded as ended and their
    message polls stop, and the session version moves on, so any session at all is signed out
    at its next request. Audited with who did it."""
    person = _client_user_or_404(user_id)
    staff_member = signed_in_user()
    with models.action():
        ended = models.UserSession.end_others(person, None, models.utcnow())
        models.User.update(session_version=models.User.session_version + 1).where(
            models.User.id == person.id).execute()
        models.UserSession.forget(user=person)
        audit("staff.sessions_ended", user=staff_member, target_user=person.id, count=len(ended))
    for session_id in ended:
        forget_polls_of(session_id)
    flash(_("Every session of %(name)s has been ended.", name=person.display_name), "success")
    return see_other("security.staff_user_sessions", user_id=person.id)
