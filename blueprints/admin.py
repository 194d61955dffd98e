"""The administrator's pages (issue 15, STF-15…STF-17): staff accounts, the service catalogue
and the document types with their upload policies. Administrators only; anyone else gets 404.
The job dashboard is rq-dashboard at /staff/jobs (blueprints/operations.py)."""
from flask import Blueprint, abort, flash, request
from flask_babel import gettext as _

import models
from blueprints import render, see_other, signed_in_user, staff_required
from forms.admin import ActiveForm, NewStaffForm, RoleForm, SwitchForm
from forms.fields import takes_test_domains
from models import admin as A
from models.messages import forget_polls_of
from rules import documents as document_rules, onboarding as O, uploads as upload_rules

bp = Blueprint("admin", __name__, url_prefix="/staff/admin")
ROLE = "admin"


def _where():
    return {"ip": request.remote_addr or "", "user_agent": request.headers.get("User-Agent", "")}


# --- Staff accounts ----------------------------------------------------------------------------

def _staff_page(form=None, status=200, role_forms=None):
    members = list(A.staff_members())
    with_factor = {row.user_id for row in models.SecondFactor.select(models.SecondFactor.user).where(
        models.SecondFactor.enabled_at.is_null(False), models.SecondFactor.user.in_([m.id for m in members]))}
    role_forms = role_forms or {}
    for m in members:
        role_forms.setdefault(m.id, RoleForm(formdata=None, role=m.staff_role, prefix=f"staff-{m.id}"))
    return render("admin/staff.html", "admin/_staff.html", status=status, members=members,
                  with_factor=with_factor, form=form or NewStaffForm(formdata=None), role_forms=role_forms,
                  active_form=ActiveForm(formdata=None), me=signed_in_user())


@bp.route("/staff")
@staff_required(ROLE)
def staff():
    """Every staff member (role, second factor, last sign-in) and the form to add one."""
    return _staff_page()


@bp.route("/staff", methods=["POST"])
@staff_required(ROLE)
def add_staff():
    """Add a staff member; their temporary password goes only to their e-mail (outbox)."""
    form = NewStaffForm()
    if form.validate_on_submit():
        try:
            user = A.create_staff(form.email.data, form.phone.data, form.role.data, form.full_name.data,
                                  test_domains=takes_test_domains(), by=signed_in_user(), actor="staff", **_where())
        except A.StaffRefused as refused:
            getattr(form, refused.field or "email").errors = [refused.message]
        else:
            flash(_("%(name)s was added. A temporary password was sent to %(email)s.",
                    name=user.display_name, email=user.email), "success")
            return see_other("admin.staff")
    return _staff_page(form, status=422)


def _staff_member_or_404(user_id):
    member = models.User.get_or_none(models.User.id == user_id, models.User.staff_role.is_null(False))
    if member is None:
        abort(404)
    return member


@bp.route("/staff/<int:user_id>/role", methods=["POST"])
@staff_required(ROLE)
def change_role(user_id):
    """Another role for a staff member (not oneself; never the last administrator's)."""
    member = _staff_member_or_404(user_id)
    form = RoleForm(prefix=f"staff-{member.id}")
    if form.validate_on_submit():
        try:
            if A.change_role(member, form.role.data, signed_in_user(), **_where()):
                flash(_("The role of %(name)s was changed.", name=member.display_name), "success")
            return see_other("admin.staff")
        except A.StaffRefused as refused:
            form.role.errors = [refused.message]
    return _staff_page(status=422, role_forms={member.id: form})


@bp.route("/staff/<int:user_id>/active", methods=["POST"])
@staff_required(ROLE)
def set_active(user_id):
    """Deactivate a staff member (their sessions end at once) or reactivate them."""
    member = _staff_member_or_404(user_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400)
    active = form.active.data == "on"
    try:
        ended = A.set_active(member, active, signed_in_user(), **_where())
    except A.StaffRefused as refused:
        flash(refused.message, "error")
        return _staff_page(status=422)
    for session_id in ended:
        forget_polls_of(session_id)
    flash(_("%(name)s was reactivated.", name=member.display_name) if active else
          _("%(name)s was deactivated; every session of theirs has ended.", name=member.display_name), "success")
    return see_other("admin.staff")


# --- The service catalogue and the document types ------------------------------------------------

def _switch(area, key, endpoint):
    form = SwitchForm()
    if key not in A.known_keys(area):
        abort(404)
    if not form.validate_on_submit():
        abort(400)
    if A.set_switch(area, key, form.enabled.data == "on", signed_in_user(), **_where()):
        flash(_("Saved."), "success")
    return see_other(endpoint)


@bp.route("/services")
@staff_required(ROLE)
def services():
    """The onboarding services, each with its switch "offered to new applications"."""
    off = A.switched_off(A.SERVICE)
    rows = [(kind, code, O.SERVICE_LABELS[code], code not in off)
            for kind, codes in O.SERVICES.items() for code in codes]
    return render("admin/services.html", "admin/_services.html", rows=rows, form=SwitchForm(formdata=None))


@bp.route("/services/<code>", methods=["POST"])
@staff_required(ROLE)
def switch_service(code):
    """Offer a service to new applications, or stop offering it (existing ones keep it)."""
    return _switch(A.SERVICE, code, "admin.services")


@bp.route("/document-types")
@staff_required(ROLE)
def document_types():
    """The document types clients start from their documents list, with their upload policies
    (read-only: extensions and sizes are set in code, rules/uploads.py, so they live in one
    place and change only through a reviewed change) and the switch "clients may start it"."""
    off = A.switched_off(A.DOCUMENT_TYPE)
    types = [t for t in document_rules.DOCUMENT_TYPES.values() if t.listed]
    return render("admin/document_types.html", "admin/_document_types.html", types=types, off=off,
                  form=SwitchForm(formdata=None), MB=upload_rules.MB)


@bp.route("/document-types/<code>", methods=["POST"])
@staff_required(ROLE)
def switch_document_type(code):
    """Let clients start a document type, or stop it (documents already started are unaffected)."""
    return _switch(A.DOCUMENT_TYPE, code, "admin.document_types")
