"""Onboarding applications (seed 004 §3–4): choose services, fill in the form (repeating groups
added and removed in place, or by a plain submit without JavaScript), save a draft, check the
answers, submit, download the receipt. The stage table is ``rules.onboarding.stages``."""

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import get_locale, gettext as _

import models
import rules
import uploads
from blueprints import (acting_membership, clients_only, render, render_form, scoped, see_other,
                        signed_in_user, get_scoped_or_404, uploading, wants_fragment)
from blueprints.documents.pdf import new_pdf
from forms.applications import (IdDocumentForm, NewApplicationForm, SubmitForm, application_form, form_class,
                               summary)
from blueprints.identification import links as identification_links
from models import identification
from models.applications import Application, ApplicationRefused, personal_managers
from rules import onboarding as O
from rules.uploads import SEED_004

bp = Blueprint("applications", __name__)
PERMISSION = "services"


@bp.app_context_processor
def _stage_rules():
    """The stage table and the form's groups for the templates that show an application."""
    return {"O": O}


def _application(application_id):
    """The application if the acting user may reach it (404 otherwise)."""
    return get_scoped_or_404(Application, application_id, PERMISSION)


def _latvian(client):
    return "LV" in (client.citizenship, client.citizenship2)


def _setup(form, application):
    return form.setup(str(get_locale() or "lv"), personal_managers() if form.shape.kind == rules.LEGAL else (),
                      latvian_applicant=_latvian(application.client))


def _stored_form(application, services=None):
    """The saved answers in the form of ``services`` (default: the application's), without CSRF:
    what the check page, the submit and the receipt validate and read back."""
    services = services or application.services
    form = form_class(O.form_shape(application.kind, services))(
        formdata=None, data={**application.data, "services": services}, meta={"csrf": False})
    return _setup(form, application)


@bp.route("/applications")
@clients_only()
def index():
    """The acting account's applications, newest first, and the start of a new one."""
    membership = acting_membership(PERMISSION)
    applications = list(scoped(Application, PERMISSION, client_id=membership.client_id)
                        .order_by(Application.created_at.desc(), Application.id.desc()).limit(50))
    form = NewApplicationForm().set_kind(membership.client.kind)
    return render("applications/index.html", applications=applications, form=form)


@bp.route("/applications", methods=["POST"])
@clients_only()
def create():
    """Start an application for the services chosen (they must fit the client's kind)."""
    membership = acting_membership(PERMISSION)
    form = NewApplicationForm().set_kind(membership.client.kind)
    if not form.validate_on_submit():
        applications = list(scoped(Application, PERMISSION, client_id=membership.client_id)
                            .order_by(Application.created_at.desc()).limit(50))
        return render_form("applications/index.html", form=form, applications=applications)
    application = Application.start(membership.client, signed_in_user(), form.services.data,
                                    ip=request.remote_addr or "", user_agent=request.headers.get("User-Agent", ""))
    return see_other("applications.edit", application_id=application.id)


@bp.route("/applications/<int:application_id>/edit", methods=["GET", "POST"])
@clients_only()
def edit(application_id):
    """The form. POST buttons: ``add`` (a group's name) and ``remove`` (an entry's name) change
    the repeating groups and show the form again with what was typed — only that group's
    fragment for htmx; ``action=refresh`` shows the form for changed services; ``save`` keeps
    the draft; ``check`` keeps it and, when everything is right, opens "check your answers"."""
    application = _application(application_id)
    if not application.is_draft:
        return see_other("applications.show", application_id=application.id)
    if request.method == "GET":
        if request.args.get("check"):  # sent back from "check your answers": say what is missing
            form = _complete(application)[0]
        else:
            form = _setup(application_form(application.kind, application.services,
                                           data={**application.data, "services": application.services}),
                          application)
        return _edit_page(application, form)

    posted = O.ordered(application.kind, request.form.getlist("services"))
    services = posted if O.valid_services(application.kind, posted) else application.services
    form = _setup(application_form(application.kind, services), application)
    add, remove, action = request.form.get("add"), request.form.get("remove"), request.form.get("action", "save")
    if add or remove:
        changed = form.add_entry(add) if add else form.remove_entry(remove)
        if not changed:
            abort(400)
        _setup(form, application)  # the new entry's countries
        group = add or remove.rsplit("-", 1)[0]
        if wants_fragment():
            return render("applications/edit.html", "applications/_group.html", form=form,
                          group=group, application=application)
        return _edit_page(application, form, focus=group)
    if action not in ("save", "check", "refresh"):
        abort(400)
    try:
        application.save_draft(form.answers(), services=services)
    except ApplicationRefused:
        return see_other("applications.show", application_id=application.id)
    if action == "refresh":
        flash(_("The form now asks what the chosen services need."), "info")
        return see_other("applications.edit", application_id=application.id)
    if action == "save":
        flash(_("The application was saved. You can continue later from your cabinet."), "success")
        return see_other("applications.edit", application_id=application.id)
    if not form.validate():
        return _edit_page(application, form, status=422)
    return see_other("applications.check", application_id=application.id)


def _edit_page(application, form, status=200, focus=None):
    id_form = IdDocumentForm() if form.shape.id_document else None
    return render("applications/edit.html", status=status, application=application, form=form,
                  id_form=id_form, policy=SEED_004, errors=form.error_entries(), focus=focus)


@bp.route("/applications/<int:application_id>/id-document", methods=["POST"])
@clients_only()
@uploading.accepts_uploads(SEED_004)
def id_document(application_id):
    """The copy of the identity document ("Kopija iesniegta …", signed and dated): one file,
    checked by content, kept with the draft."""
    application = _application(application_id)
    if not application.is_draft or not application.shape.id_document:
        abort(404)
    id_form = IdDocumentForm()
    files = [f for f in id_form.files.data or [] if getattr(f, "filename", "")]
    if id_form.validate_on_submit():
        if len(files) != 1:
            id_form.files.errors = [_("Choose one file: the copy of your identity document.")]
        else:
            try:
                with uploads.atomic():
                    stored = uploads.store_files(files, SEED_004, signed_in_user(), application.client)
                    application.attach_id_document(stored[0])
            except uploads.UploadRefused as refusal:
                id_form.files.errors = list(refusal.messages)
            except ApplicationRefused:
                return see_other("applications.show", application_id=application.id)
            else:
                flash(_("The copy of your identity document was uploaded."), "success")
                return see_other("applications.edit", application_id=application.id, _anchor="id-document")
    form = _setup(application_form(application.kind, application.services,
                                   data={**application.data, "services": application.services}), application)
    return render("applications/edit.html", status=422, application=application, form=form, id_form=id_form,
                  policy=SEED_004, errors=[("id_document-files", e) for e in id_form.files.errors], focus=None)


def _complete(application):
    """The stored answers checked as on submit: (form, ok). The ID copy counts as an answer."""
    form = _stored_form(application)
    ok = form.validate()
    if application.shape.id_document and application.id_document_id is None:
        form.form_errors.append(_("Upload the copy of your identity document."))
        ok = False
    return form, ok


@bp.route("/applications/<int:application_id>/check")
@clients_only()
def check(application_id):
    """"Check your answers": everything typed, each with a link to change it, then Submit."""
    application = _application(application_id)
    if not application.is_draft:
        return see_other("applications.show", application_id=application.id)
    form, ok = _complete(application)
    if not ok:
        flash(_("Some answers are missing or need correcting."), "error")
        return redirect(url_for("applications.edit", application_id=application.id, check=1))
    return render("applications/check.html", application=application, sections=summary(form),
                  submit_form=SubmitForm())


@bp.route("/applications/<int:application_id>/submit", methods=["POST"])
@clients_only()
def submit(application_id):
    """Submit the checked answers (one transaction, audited). A second click finds it submitted."""
    application = _application(application_id)
    if not application.is_draft:
        return see_other("applications.show", application_id=application.id)
    form, ok = _complete(application)
    if not ok:
        flash(_("Some answers are missing or need correcting."), "error")
        return see_other("applications.edit", application_id=application.id, check=1)
    user = signed_in_user()
    try:
        with models.action():  # submitted, and who identifies named (and invited), together
            application.submit(form.answers(), user, ip=request.remote_addr or "",
                               user_agent=request.headers.get("User-Agent", ""))
            identification.prepare(application, user, identification_links())
    except ApplicationRefused:
        pass  # submitted meanwhile (a second click): the same page answers
    else:
        flash(_("The application was submitted. You can download the receipt."), "success")
    return see_other("applications.show", application_id=application.id)


@bp.route("/applications/<int:application_id>")
@clients_only()
def show(application_id):
    """One application: its stages as a task list, the documents, the fee, the decisions (each
    as a PDF), the answers, the receipt, and another service to add (seed 004 §12)."""
    from blueprints.application_steps import client_context
    return render("applications/show.html", **client_context(_application(application_id)))


@bp.route("/applications/<int:application_id>/receipt.pdf")
@clients_only()
def receipt(application_id):
    """The PDF receipt of a submitted application, in the visitor's language."""
    application = _application(application_id)
    if application.is_draft:
        abort(404)
    body = _receipt_pdf(application, summary(_stored_form(application)))
    response = current_app.response_class(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="application-{application.id}.pdf"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _receipt_pdf(application, sections):
    pdf, family, text = new_pdf(_("Application Nr. %(id)d", id=application.id))
    when = current_app.jinja_env.filters["datetime"](application.submitted_at)
    pdf.set_font(family, size=15)
    pdf.multi_cell(0, 8, text(_("Application Nr. %(id)d — receipt", id=application.id)),
                   new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=10)
    pdf.multi_cell(0, 6, text(_("Submitted: %(when)s", when=when)), new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 6, text(_("Services") + ": " + "; ".join(str(s) for s in application.service_labels)),
                   new_x="LMARGIN", new_y="NEXT")
    for section in sections:
        pdf.ln(3)
        pdf.set_font(family, size=12)
        pdf.multi_cell(0, 7, text(section["title"]), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, size=10)
        for label, value, _anchor in section["rows"]:
            pdf.multi_cell(0, 5, text(f"{label}: {value}"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


from blueprints import application_steps  # noqa: E402,F401  (the later stages' routes, on this blueprint)
