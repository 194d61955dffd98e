"""Staff pages of documents: the queue of what waits on us, a document, the decisions."""
from flask import abort, flash, request
from flask_babel import gettext as _, lazy_gettext as _l

import models
import rules
import uploads
from blueprints import uploading
from blueprints import get_scoped_or_404, page_of, render, see_other, signed_in_user, staff_required
from blueprints.documents import act, bp, chosen_files
from blueprints import queues, routing
from models import staff as backoffice
from blueprints.queues import register_queue
from forms.documents import AcceptForm, PackageForm, ResendForm, comments_of, request_info_form
from forms.staff import RouteForm
from models.documents import Document, TransitionRefused
from models.scoping import staff_scope
from rules import documents as R, staff as staff_rules


def waiting_count(user):
    """Documents waiting for a decision that ``user`` reaches (the navigation's count)."""
    return staff_scope(Document.select(), Document, user).where(Document.waiting == True).count()  # noqa: E712


register_queue("documents", _l("Documents waiting"), waiting_count, "documents.queue")


def staff_document(document_id):
    return get_scoped_or_404(Document, document_id, "documents")


def staff_upload_policy(document_id):
    """The upload policy of a document's type; 404 for a missing document, before the body is read."""
    return staff_document(document_id).type.policy


@bp.route("/staff/documents")
@staff_required()
def queue():
    """Documents waiting on us: in processing first, then questions about packages; oldest first
    (a consultant: of their clients, and those passed to them — ``models.scoping.staff_scope``).
    By numbered page (``?page=``, ``page_of``): the order is a priority, which no key follows.
    Beside it the few most recently changed (a fixed number, so no pager)."""
    user = signed_in_user()
    routed, client_id = queues.routed_filter(), queues.client_filter()
    status = request.args.get("status", "")
    status = status if status in R.STATUS_LABELS else ""
    waiting = (staff_scope(Document.select(Document, models.Client).join(models.Client), Document, user)
               .where(Document.waiting == True)  # noqa: E712 (peewee expression)
               .order_by(Document.status, Document.submitted_at, Document.updated_at, Document.id))  # R.QUEUE_STATUSES
    waiting = queues.filtered(waiting, Document, routed, client_id)
    if status:
        waiting = waiting.where(Document.status == status)
    pages = page_of(waiting, rules.QUEUE_PAGE_SIZE)
    # A document never submitted is still the client's own draft: not listed for staff.
    recent = list(staff_scope(Document.select(Document, models.Client).join(models.Client), Document, user)
                  .where(Document.waiting == False, Document.submitted_at.is_null(False))  # noqa: E712
                  .order_by(Document.updated_at.desc()).limit(rules.QUEUE_PAGE_SIZE))
    return render("documents/staff_queue.html", pages=pages, recent=recent,
                  authority=Document.authority_of(pages["rows"] + recent), routed=routed, client_id=client_id,
                  passed_to=backoffice.passed_to(pages["rows"] + recent),
                  chosen_status=status, ROUTED_FILTERS=staff_rules.ROUTED_FILTERS)


def _staff_context(document, **forms):
    package = document.latest_version("package")
    context = {"document": document, "versions": document.versions(), "history": document.history(),
               "comments": document.open_comments(), "membership": document.submitter_membership(),
               "has_authority": document.submitter_has_authority(),
               "package": package, "package_files": package.files() if package else [],
               "submission": document.latest_version("submission"),
               "accept_form": AcceptForm(), "info_form": request_info_form(document.type),
               "package_form": PackageForm(), "resend_form": ResendForm(),
               "route_form": routing.route_form(document, forms.pop("route_form", None)),
               "actions": R.actions_for(document.status, R.STAFF)}
    if document.type.needs_authority and document.created_by_id and document.client.is_legal:
        # Seed 003: the register's representation rights, or a valid power of attorney, or neither.
        context["signing_authority"], context["power_of_attorney"] = models.submitter_authority(
            document.created_by, document.client, models.utcnow().date())
    context.update(forms)
    return context


@bp.route("/staff/documents/<int:document_id>")
@staff_required()
def staff_show(document_id):
    """A document for staff: the submitter's authority, the data, versions, history, decisions."""
    return render("documents/staff_document.html", **_staff_context(staff_document(document_id)))


def _staff_action(document_id, action, form, message, **data):
    document = staff_document(document_id)
    if not document.may(action, signed_in_user()):
        flash(_("This cannot be done while the document is “%(status)s”.", status=document.status_label), "error")
        return render("documents/staff_document.html", status=409, **_staff_context(document))
    if form.validate_on_submit():
        try:
            act(document, action, **{k: (v(form) if callable(v) else v) for k, v in data.items()})
        except uploads.UploadRefused as refusal:
            form.files.errors = list(form.files.errors) + refusal.messages
        except TransitionRefused as refusal:
            form.form_errors.append(refusal.message)
            for name, messages in refusal.problems.items():
                if name in form._fields:
                    form[name].errors = list(form[name].errors) + list(messages)
        else:
            flash(message, "success")
            return see_other("documents.staff_show", document_id=document.id)
    forms = {AcceptForm: "accept_form", PackageForm: "package_form", ResendForm: "resend_form"}
    key = forms.get(type(form), "info_form")
    return render("documents/staff_document.html", status=422, **_staff_context(document, **{key: form}))


@bp.route("/staff/documents/<int:document_id>/pass", methods=["POST"])
@staff_required()
def staff_pass(document_id):
    """Pass the document to a competent colleague with a note (seed 001 §2; ``blueprints.routing``)."""
    document = staff_document(document_id)
    form = RouteForm()
    if routing.route_form(document) is None:
        abort(404)
    if routing.pass_on(document, form):
        return see_other("documents.staff_show", document_id=document.id)
    return render("documents/staff_document.html", status=422, **_staff_context(document, route_form=form))


@bp.route("/staff/documents/<int:document_id>/accept", methods=["POST"])
@staff_required()
def accept(document_id):
    form = AcceptForm()
    return _staff_action(document_id, R.ACCEPT, form, _("The document was accepted."),
                         authority_checked=lambda f: f.authority_checked.data, note=lambda f: f.note.data or "")


@bp.route("/staff/documents/<int:document_id>/request-info", methods=["POST"])
@staff_required()
def request_info(document_id):
    document = staff_document(document_id)
    form = request_info_form(document.type)
    return _staff_action(document_id, R.REQUEST_INFO, form,
                         _("The client was asked for information."), comments=comments_of)


@bp.route("/staff/documents/<int:document_id>/package", methods=["POST"])
@staff_required()
@uploading.accepts_uploads(staff_upload_policy)
def prepare_package(document_id):
    form = PackageForm()
    policy = staff_upload_policy(document_id)
    return _staff_action(document_id, R.PREPARE_PACKAGE, form, _("The package was sent to the client for agreement."),
                         include_submission=lambda f: f.include_submission.data, note=lambda f: f.note.data or "",
                         uploads=lambda f: {"files": (chosen_files(f.files), policy)})


@bp.route("/staff/documents/<int:document_id>/resend", methods=["POST"])
@staff_required()
@uploading.accepts_uploads(staff_upload_policy)
def resend(document_id):
    form = ResendForm()
    policy = staff_upload_policy(document_id)
    return _staff_action(document_id, R.RESEND, form, _("The package was sent again for agreement."),
                         note=lambda f: f.note.data or "", uploads=lambda f: {"files": (chosen_files(f.files), policy)})
