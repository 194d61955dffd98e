"""Registration in three steps (ACC-1, ACC-2, ACC-4, ACC-6).

The state lives in a PendingRegistration row whose random token is the only
thing the session holds, so a client cannot skip or tamper with a step. Back
and forward work: each step's page shows what was saved (never the password).
"""
from flask import Blueprint, flash, redirect, request, session, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from peewee import IntegrityError

import models
import rules
from blueprints import audit, client_ip, go_to_page, render, render_form, safe_next, see_other, throttling
from blueprints.auth import start_session
from forms.registration import ClientForm, ConfirmForm, ContactForm
from blueprints.extensions import limiter
from rules import throttle as budgets

bp = Blueprint("registration", __name__, url_prefix="/register")

STEPS = ("client", "contact", "confirm")
NEXT_SESSION_KEY = "registration_next"


def _pending():
    token = session.get("registration")
    pending = (models.PendingRegistration.get_or_none(models.PendingRegistration.token == token)
               if token else None)
    if pending is None or pending.expired or pending.completed_at:
        return None
    return pending


def _page(step, form, pending, status=None):
    """The registration page (or only its step, for HTMX); 422 when the form failed."""
    context = {"step": step, "pending": pending, "steps": STEPS}
    page, fragment = "registration/register.html", f"registration/_{step}.html"
    if status is None:
        return render_form(page, fragment, form=form, **context)
    return render(page, fragment, status, form=form, **context)


@bp.route("", methods=["GET", "POST"])
def client():
    """Step 1: natural or legal person, citizenship or country, the two acceptances."""
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    if request.args.get("next"):  # where to go once registered (an invitation to accept)
        session[NEXT_SESSION_KEY] = safe_next("main.dashboard")
    pending = _pending()
    form = ClientForm(obj=None)
    form.set_choices(str(get_locale()))
    if request.method == "GET" and pending and pending.has_client_step:
        form.client_type.data = pending.client_type
        form.citizenship.data = pending.citizenship or ""
        form.citizenship2.data = pending.citizenship2 or ""
        form.country.data = pending.country or ""
        form.accept_privacy.data = form.accept_terms.data = True
    if form.validate_on_submit():
        natural = form.client_type.data == rules.NATURAL
        with models.action():
            pending = pending or models.PendingRegistration()
            pending.client_type = form.client_type.data
            pending.citizenship = form.citizenship.data if natural else None
            pending.citizenship2 = (form.citizenship2.data or None) if natural else None
            pending.country = None if natural else form.country.data
            pending.privacy_version = rules.LEGAL_DOCUMENTS["privacy"]["version"]
            pending.terms_version = rules.LEGAL_DOCUMENTS["terms"]["version"]
            pending.accepted_at = models.utcnow()
            pending.language = str(get_locale())
            pending.save()
        session["registration"] = pending.token
        return see_other("registration.contact")
    return _page("client", form, pending)


def _contact_throttled(form, pending, refused):
    form.form_errors.append(_("Too many codes were requested. Try again in %(n)d minutes.", n=refused.minutes))
    return refused.answer(_page("contact", form, pending, status=429))


@bp.route("/contact", methods=["GET", "POST"])
def contact():
    """Step 2: e-mail, phone with country code, password twice; then the codes go out."""
    pending = _pending()
    if pending is None or not pending.has_client_step:
        return redirect(url_for("registration.client"))
    form = ContactForm()
    form.set_choices(str(get_locale()))
    if request.method == "GET":
        form.phone_region.data = "LV"
        if pending.email:
            form.email.data = pending.email
        if pending.phone:
            import phonenumbers
            number = phonenumbers.parse(pending.phone)
            form.phone_region.data = phonenumbers.region_code_for_number(number) or "LV"
            form.phone.data = phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.NATIONAL)
    if form.validate_on_submit():
        email, phone = form.email.normalised, form.phone.normalised
        try:  # before the password is hashed and the codes go out (rules/throttle.py)
            throttling.charge(budgets.REGISTRATION_PER_SOURCE, client_ip(), actor=email)
            throttling.charge(budgets.REGISTRATION_MESSAGES_PER_TARGET, "email:" + email, actor=email)
            throttling.charge(budgets.REGISTRATION_MESSAGES_PER_TARGET, "sms:" + phone, actor=phone)
        except throttling.Throttled as refused:
            return _contact_throttled(form, pending, refused)
        with models.action():
            pending.email, pending.phone = email, phone
            pending.password_hash = models.hash_password(form.password.data)
            pending.save()
            _issue_codes(pending, ("email", "sms"))
        return see_other("registration.confirm")
    return _page("contact", form, pending)


def _issue_codes(pending, channels):
    """New codes for the channels. An address that already has an account gets a
    notice instead of a code, so the form never tells who is registered."""
    for channel in channels:
        target = pending.email if channel == "email" else pending.phone
        _row, code = models.OneTimeCode.issue(f"register_{channel}", channel, target,
                                              registration=pending)
        taken = (models.User.get_or_none(models.User.email == target) if channel == "email"
                 else models.User.get_or_none(models.User.phone == target))
        template = "account_exists" if taken else "registration_code"
        params = {} if taken else {"code": code}
        models.Notification.queue(channel, target, template, language=pending.language, **params)


def _code_error(field, result, code_row):
    if result == rules.CODE_WRONG:
        left = rules.CODE_MAX_ATTEMPTS - code_row.attempts
        field.errors.append(_("The code is not right. Tries left: %(n)d.", n=left))
    elif result == rules.CODE_DEAD:
        field.errors.append(_("This code can no longer be used. Request a new code."))


@bp.route("/confirm", methods=["GET", "POST"])
def confirm():
    """Step 3: both codes, then "Pabeigt reģistrāciju" creates the account."""
    pending = _pending()
    if pending is None or not pending.has_contact_step:
        return redirect(url_for("registration.client"))
    form = ConfirmForm()
    if form.validate_on_submit():
        email_code = models.OneTimeCode.latest("register_email", registration=pending)
        sms_code = models.OneTimeCode.latest("register_sms", registration=pending)
        email_result = email_code.check(form.email_code.data) if email_code else rules.CODE_DEAD
        sms_result = sms_code.check(form.sms_code.data) if sms_code else rules.CODE_DEAD
        _code_error(form.email_code, email_result, email_code)
        _code_error(form.sms_code, sms_result, sms_code)
        if email_result == sms_result == rules.CODE_OK:
            user = _complete(pending, email_code, sms_code)
            if user:
                session.pop("registration", None)
                next_url = session.pop(NEXT_SESSION_KEY, None) or url_for("main.dashboard")
                start_session(user, announce=False)  # the account is new: no notice
                flash(_("Registration is complete. Welcome!"), "success")
                return throttling.remember_device(go_to_page(next_url), user)
            form.form_errors.append(_("We could not finish the registration with these details. "
                                      "If you already have an account, sign in or recover your password."))
        audit("registration.code_failed", actor=pending.email or "")
    return _page("confirm", form, pending)


def _complete(pending, email_code, sms_code):
    """Create user, client, membership and consents in one transaction (or nothing)."""
    try:
        with models.action():
            if not (email_code.use() and sms_code.use()):
                raise IntegrityError("code already used")
            user = models.User.create(email=pending.email, phone=pending.phone,
                                      password_hash=pending.password_hash,
                                      language=pending.language)
            natural = pending.client_type == rules.NATURAL
            client = models.Client.create(kind=pending.client_type, citizenship=pending.citizenship,
                                          citizenship2=pending.citizenship2, country=pending.country)
            models.Membership.grant(user, client, rules.SELF if natural else rules.REGISTRANT)
            for document, version in (("privacy", pending.privacy_version),
                                      ("terms", pending.terms_version)):
                models.Consent.create(user=user, document=document, version=version,
                                      accepted_at=pending.accepted_at)
            pending.completed_at = models.utcnow()
            pending.save()
            models.Notification.queue("email", user.email, "welcome", language=user.language, user=user)
            audit("registration.completed", user=user, client_type=pending.client_type)
    except IntegrityError:
        return None
    return user


@bp.route("/resend/<channel>", methods=["POST"])
@limiter.limit("6 per hour",
               key_func=lambda: f"reg-resend:{session.get('registration')}:{request.view_args.get('channel')}")
def resend(channel):
    """A new code for one channel, at most once a minute."""
    pending = _pending()
    if pending is None or not pending.has_contact_step or channel not in ("email", "sms"):
        return redirect(url_for("registration.client"))
    latest = models.OneTimeCode.latest(f"register_{channel}", registration=pending)
    wait = latest.seconds_until_resend() if latest else 0
    target = pending.email if channel == "email" else pending.phone
    if wait:
        flash(_("You can request a new code in %(n)d seconds.", n=wait), "error")
        return see_other("registration.confirm")
    try:  # a resend is a message to the target like any other
        throttling.charge(budgets.REGISTRATION_MESSAGES_PER_TARGET, f"{channel}:{target}", actor=target)
    except throttling.Throttled as refused:
        flash(_("Too many codes were requested. Try again in %(n)d minutes.", n=refused.minutes), "error")
    else:
        with models.action():
            _issue_codes(pending, (channel,))
        flash(_("A new code has been sent to %(target)s.", target=rules.mask(channel, target)), "success")
    return see_other("registration.confirm")
