"""User settings (ACC-14): profile and contact preferences; changing the e-mail or phone (ACC-18)."""
from flask import Blueprint, flash, request, session, url_for
from flask_babel import get_locale, gettext as _
from flask_login import current_user, login_required
from peewee import IntegrityError

import models
import rules
from blueprints import audit, go_to_page, render, render_form, see_other, signed_in_user, stepup, throttling
from blueprints.auth import renew_session
from blueprints.extensions import limiter
from forms.settings import CONTACT_FORMS, ContactCodeForm, ProfileForm
from rules import throttle as budgets

bp = Blueprint("settings", __name__, url_prefix="/settings")


@bp.route("", methods=["GET", "POST"])
@login_required
def profile():
    """Name, the language we write in, and which channels we use."""
    user = current_user._get_current_object()
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        with models.action():
            before = {f: getattr(user, f) for f in ("language", "notify_email", "notify_sms")}
            form.populate_obj(user)
            user.full_name = user.full_name.strip()
            user.save()
            after = {f: getattr(user, f) for f in before}
            audit("settings.profile_changed", user=user,
                  changed=sorted(k for k in before if before[k] != after[k]))
        flash(_("Your settings have been saved."), "success")
        return see_other("settings.profile")
    return render_form("settings/profile.html", "settings/_profile_form.html", form=form,
                       **contact_details(user))


# --- Changing the e-mail or phone (ACC-18) ---------------------------------------------------
# Step 1 takes the new value and the current password, step 2 the code sent to the new value.
# The change waits in a ContactChange row; this session holds its token, and the row is only
# ever read together with the signed-in user, so nobody else can confirm it.

CONTACT_SESSION_KEY = "contact_change"
CONTACT_BUDGETS = (budgets.CONTACT_CHANGE_PER_SOURCE, budgets.CONTACT_CHANGE_PER_ACCOUNT,
                   budgets.CONTACT_CHANGE_PER_DEVICE)


def requires_fresh_auth(user):
    """The one hook for a stronger check before a contact change (issue 12): the step-up — a
    sign-in, or a confirmation by password or e-identity, within the last few minutes
    (``rules.identity.STEP_UP_WINDOW``). Returns the redirect to ``/signin/confirm`` (and back
    here), or None when the session is fresh enough."""
    return stepup.confirm_first()


def contact_details(user):
    """What the settings page shows of the e-mail and phone: the current values and the change
    this session has waiting for its code (or None)."""
    return {"pending_contact_change": models.ContactChange.live_one(user, session.get(CONTACT_SESSION_KEY))}


def _contact_form_page(field, form, status=None):
    context = {"field": field, "form": form}
    page, fragment = "settings/contact.html", "settings/_contact_form.html"
    if status is None:
        return render_form(page, fragment, **context)
    return render(page, fragment, status, **context)


def _same_as_now(user, field, value):
    current = getattr(user, field) or ""
    return current.lower() == value.lower() if field == "email" else current == value


@bp.route("/contact/<any(email, phone):field>", methods=["GET", "POST"])
@login_required
def change_contact(field):
    """Step 1: the new e-mail or phone and the current password (throttled before the argon2
    check, as sign-in is); then a code goes to the new value."""
    user = signed_in_user()
    step_up = requires_fresh_auth(user)
    if step_up is not None:
        return step_up
    form = CONTACT_FORMS[field]()
    form.set_choices(str(get_locale()))
    if request.method == "GET" and field == "phone":
        form.phone_region.data = "LV"
    if not form.validate_on_submit():
        return _contact_form_page(field, form)
    new_value = form.new_value
    if _same_as_now(user, field, new_value):
        form[field].errors.append(_("This is your e-mail already.") if field == "email"
                                  else _("This is your phone number already."))
        return _contact_form_page(field, form)
    try:
        charges = throttling.attempt(user, f"user:{user.id}", *CONTACT_BUDGETS, actor=user.email)
    except throttling.Throttled as refused:
        form.form_errors.append(_("Too many attempts. Try again in %(n)d minutes.", n=refused.minutes))
        return refused.answer(_contact_form_page(field, form, status=429))
    if not user.check_password(form.password.data):
        audit("settings.contact_password_failed", user=user, contact=field)
        form.password.errors.append(_("The current password is not right."))
        return _contact_form_page(field, form)
    throttling.refund(*charges)
    channel = rules.CONTACT_CHANNELS[field]
    try:  # a code to the new value is a message like registration's (rules/throttle.py)
        throttling.charge(budgets.CONTACT_CHANGE_MESSAGES_PER_TARGET, f"{channel}:{new_value}",
                          user=user, actor=new_value)
    except throttling.Throttled as refused:
        form.form_errors.append(_("Too many codes were requested. Try again in %(n)d minutes.", n=refused.minutes))
        return refused.answer(_contact_form_page(field, form, status=429))
    with models.action():
        change = models.ContactChange.start(user, field, new_value)
        audit("settings.contact_change_requested", user=user, contact=field, new=new_value)
    session[CONTACT_SESSION_KEY] = change.token
    return see_other("settings.confirm_contact")


def _pending_change_or_start_again():
    """(this session's live change, None) or (None, a redirect to the settings page)."""
    change = models.ContactChange.live_one(signed_in_user(), session.get(CONTACT_SESSION_KEY))
    if change is None:
        session.pop(CONTACT_SESSION_KEY, None)
        flash(_("There is no change of your e-mail or phone waiting for a code. Start again."), "info")
        return None, go_to_page(url_for("settings.profile"))
    return change, None


def _confirm_page(change, form):
    return render_form("settings/contact_confirm.html", "settings/_contact_confirm.html",
                       form=form, change=change)


def _code_error(field, result, code_row):
    if result == rules.CODE_WRONG:
        left = rules.CODE_MAX_ATTEMPTS - code_row.attempts
        field.errors.append(_("The code is not right. Tries left: %(n)d.", n=left))
    else:
        field.errors.append(_("This code can no longer be used. Request a new code."))


def _complete_contact_change(user, change, code):
    """Put the new value in place, in one transaction; the old value, or None when it could not
    be done (the code used meanwhile, or the value became another account's)."""
    try:
        with models.action():
            old = change.complete(code)
            if old is None:
                return None
            audit("settings.contact_changed", user=user, contact=change.field, previous=old,
                  new=change.new_value)
    except IntegrityError:
        return None
    return old


@bp.route("/contact/confirm", methods=["GET", "POST"])
@login_required
def confirm_contact():
    """Step 2: the code from the new e-mail or phone. When it is right the value changes, the
    old one gets a notice, every other session ends and this one goes on."""
    user = signed_in_user()
    change, elsewhere = _pending_change_or_start_again()
    if change is None:
        return elsewhere
    form = ContactCodeForm()
    if form.validate_on_submit():
        code = models.OneTimeCode.latest(change.purpose, contact_change=change)
        result = code.check(form.code.data) if code else rules.CODE_DEAD
        if result != rules.CODE_OK:
            _code_error(form.code, result, code)
            audit("settings.contact_code_failed", user=user, contact=change.field)
        elif _complete_contact_change(user, change, code) is None:
            form.form_errors.append(_("This e-mail or phone number cannot be used for your account. "
                                      "Choose another one."))
        else:
            session.pop(CONTACT_SESSION_KEY, None)
            # The session version moved on with the change: every other session has ended.
            # This one goes on with a fresh session (and a fresh CSRF secret, so the next page
            # is a whole one).
            renew_session(models.User.get_by_id(user.id), session.get("previous_login_at"))
            flash(_("Your e-mail has been changed to %(value)s.", value=change.new_value) if change.field == "email"
                  else _("Your phone number has been changed to %(value)s.", value=change.new_value), "success")
            return go_to_page(url_for("settings.profile"))
    return _confirm_page(change, form)


@bp.route("/contact/resend", methods=["POST"])
@login_required
@limiter.limit("6 per hour", key_func=lambda: f"contact-resend:{session.get(CONTACT_SESSION_KEY)}")
def resend_contact_code():
    """A new code to the new value, at most once a minute."""
    change, elsewhere = _pending_change_or_start_again()
    if change is None:
        return elsewhere
    latest = models.OneTimeCode.latest(change.purpose, contact_change=change)
    wait = latest.seconds_until_resend() if latest else 0
    if wait:
        flash(_("You can request a new code in %(n)d seconds.", n=wait), "error")
        return see_other("settings.confirm_contact")
    try:
        throttling.charge(budgets.CONTACT_CHANGE_MESSAGES_PER_TARGET, f"{change.channel}:{change.new_value}",
                          user=signed_in_user(), actor=change.new_value)
    except throttling.Throttled as refused:
        flash(_("Too many codes were requested. Try again in %(n)d minutes.", n=refused.minutes), "error")
    else:
        with models.action():
            change.send_code()
        flash(_("A new code has been sent to %(target)s.", target=change.new_value), "success")
    return see_other("settings.confirm_contact")
