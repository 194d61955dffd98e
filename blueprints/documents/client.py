"""The client's document pages: the list, one document, "Labot", submitting, signing."""
from datetime import timezone

from flask import abort, current_app, flash, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from flask_login import login_required
from peewee import IntegrityError, OperationalError

import models
import uploads
from blueprints import (acting_membership, audit, clients_only, go_to_page, poll, render, see_other, signed_in_user,
                        uploading, wants_fragment)
from blueprints.documents import (act, bp, chosen_files, client_document, client_upload_policy, list_page,
                                  list_query, list_window, refused, row_response, show_context,
                                  signed_container_policy)
from forms.documents import (ActionForm, AddFilesForm, AskForm, NewDocumentForm, SignedContainerForm,
                             editable_values, questionnaire_form)
from models.documents import LIST_ORDER, Document, TransitionRefused, fingerprint
from models.files import StoredFile
from rules import documents as R
from rules.polling import list_token, parse_list_token


@bp.route("/documents")
@clients_only("documents.queue")
def index():
    """The client's documents, newest first, a page at a time (``?before=`` / ``?after=``);
    rows waiting on us refresh themselves."""
    membership = acting_membership("documents")
    form = None
    if membership.allows("submit"):
        form = NewDocumentForm()
        form.set_choices(membership.client.kind)
    return render("documents/index.html", "documents/_list.html", **list_page(membership, form=form))


@bp.route("/documents/rows")
@clients_only()
@poll
def rows():
    """The poll of one page of the list (the page's cursor rides along): 204 when nothing
    on it changed (one aggregate query, no rows loaded); else the changed rows, swapped out
    of band — or the page's whole body and pager when rows came or went (a new document on
    the first page) — and the poller again (without a trigger when no row waits on us any
    more, which ends the polling)."""
    membership = acting_membership("documents")
    window, page_args = list_window(list_query(membership))
    fp = fingerprint(window)
    token = list_token(fp)
    sent = request.args.get("v", "")
    if sent == token:
        return "", 204
    shown, since = parse_list_token(sent)
    if shown == parse_list_token(token)[0] and since is not None:  # the same rows: send the changed ones
        changed = [d for d in LIST_ORDER.rows(window, page_args.get("after")) if d.updated_at > since]
        return render_template("documents/_poll_update.html", documents=changed, whole=False, token=token,
                               polling=fp[2] > 0, page_args=page_args)
    return render_template("documents/_poll_update.html", whole=True, **list_page(membership))


@bp.route("/documents", methods=["POST"])
@clients_only()
def create():
    """Start a document of a chosen type (status New) and open its form. While one of that
    type is still open (not signed) the list says so and links to it: a type the client keeps
    one of is refused, another type is started only when the client confirms ("another")."""
    user = signed_in_user()
    acting_membership("documents")
    membership = acting_membership("submit")
    form = NewDocumentForm()
    form.set_choices(membership.client.kind)
    if not form.validate_on_submit():
        return render("documents/index.html", status=422, **list_page(membership, form=form))
    doc_type = R.DOCUMENT_TYPES[form.doc_type.data]
    existing = Document.open_of_type(list_query(membership), doc_type.code).first()
    refusal = _already_open(doc_type, existing, confirmed=form.another.data == doc_type.code)
    if refusal is None:
        try:
            document = Document.start(membership.client, doc_type.code, user)
        except TransitionRefused as refused_by_model:  # one open, though not one this user sees
            refusal = refused_by_model.message
    if refusal is not None:
        form.doc_type.errors = list(form.doc_type.errors) + [refusal]
        return render("documents/index.html", status=422, **list_page(membership, form=form, existing=existing))
    audit("document.created", user=user, client=document.client_id, document=document.id)
    return go_to_page(url_for("documents.edit", document_id=document.id))


def _already_open(doc_type, existing, confirmed):
    """Why not to start a document of ``doc_type`` now, when one (``existing``) is open: a
    type the client keeps one of waits until it is signed; another type, until confirmed."""
    if existing is None or (confirmed and not doc_type.one_open):
        return None
    if doc_type.one_open:
        return _("You already have “%(title)s” Nr. %(number)d (“%(status)s”). Continue with it.",
                 title=doc_type.title, number=existing.id, status=existing.status_label)
    return _("You already have “%(title)s” Nr. %(number)d (“%(status)s”). Open it, or confirm that you want "
             "to start another one.", title=doc_type.title, number=existing.id, status=existing.status_label)


@bp.route("/documents/<int:document_id>/row")
@clients_only()
def row(document_id):
    """One row of the list (the fragment a row action answers with)."""
    return row_response(client_document(document_id))


# --- One document ---------------------------------------------------------------------------

@bp.route("/documents/<int:document_id>")
@clients_only("documents.staff_show")
def show(document_id):
    """A document: its status and what the client can do now, versions, activity history."""
    document = client_document(document_id)
    return render("documents/show.html", **show_context(document))


@bp.route("/documents/<int:document_id>/edit", methods=["GET", "POST"])
@clients_only()
@uploading.accepts_uploads(client_upload_policy)
def edit(document_id):
    """"Labot": the questionnaire with staff comments beside the fields they name; save or submit."""
    document = client_document(document_id, "submit")
    user = signed_in_user()
    action = request.form.get("action", R.SAVE)
    if request.method == "POST" and action not in (R.SAVE, R.SUBMIT):
        abort(400)
    shown = editable_values(document.type, document.values, "," if str(get_locale()) == "lv" else ".")
    form = questionnaire_form(document.type, data=shown if request.method == "GET" else None)
    form.remove_files.choices = [(f.id, f.original_name) for f in document.working_files()]
    if request.method == "POST" and action == R.SUBMIT and document.version_for_nonce(form.nonce.data):
        return _done(document, _("The document was submitted."))  # the same form sent twice
    if not document.may(R.EDIT, user):
        return refused(document, _("This document cannot be edited while it is “%(status)s”.",
                                    status=document.status_label))
    if request.method == "GET" and request.args.get("check"):
        form.add_problems(document.completeness_problems())
    if request.method == "POST" and form.validate_on_submit():
        new_files = chosen_files(form.files)
        remove = [i for i in (form.remove_files.data or []) if i in dict(form.remove_files.choices)]
        values = form.values(document.type)
        if action == R.SUBMIT:
            form.add_problems(document.completeness_problems(values, bool(new_files), remove))
        if not form.errors and not form.form_errors:
            try:
                act(document, action, values=values, remove_files=remove, nonce=form.nonce.data,
                     uploads={"new_files": (new_files, document.type.policy)})
            except uploads.UploadRefused as refusal:
                form.files.errors = list(form.files.errors) + refusal.messages
            except TransitionRefused as refusal:
                if action == R.SUBMIT and Document.get_by_id(document.id).version_for_nonce(form.nonce.data):
                    return _done(document, _("The document was submitted."))
                form.form_errors.append(refusal.message)
                form.add_problems(refusal.problems)
            except (IntegrityError, OperationalError):
                # A second click racing the first: the first one's version answers for both.
                if action == R.SUBMIT and document.version_for_nonce(form.nonce.data):
                    return _done(document, _("The document was submitted."))
                raise
            else:
                if action == R.SUBMIT:
                    return _done(document, _("The document was submitted. We will let you know "
                                             "when it has been processed."))
                flash(_("The document was saved. You can continue later."), "success")
                return see_other("documents.edit", document_id=document.id)
    status = 422 if request.method == "POST" else 200
    return render("documents/edit.html", status=status, document=document, form=form,
                  comments=document.open_comments(), working=document.working_files())


def _done(document, message):
    """After a client action: the row in place (htmx from the list), else the list."""
    flash(message, "success")
    if wants_fragment():
        return row_response(Document.get_by_id(document.id))
    return see_other("documents.index", **list_window(list_query(acting_membership("documents")))[1])


@bp.route("/documents/<int:document_id>/submit", methods=["POST"])
@clients_only()
def submit(document_id):
    """Submit from the list ("Iesniegt"): the row swaps in place; an incomplete document
    opens its form with what is missing marked. A document we asked for information about
    is never submitted blind from the list: its page opens, with our comments beside the
    form that submits it again (``resubmit``)."""
    return _submit(document_id, from_list=True)


@bp.route("/documents/<int:document_id>/resubmit", methods=["POST"])
@clients_only()
def resubmit(document_id):
    """"Submit again" on the document's page, beside what we asked for (Information needed)."""
    return _submit(document_id, from_list=False)


def _submit(document_id, from_list):
    document = client_document(document_id, "submit")
    nonce = request.form.get("nonce", "")[:64] or None
    if nonce and document.version_for_nonce(nonce):
        return _done(document, _("The document was submitted."))
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if not document.may(R.SUBMIT, signed_in_user()):
        return refused(document, _("This cannot be done while the document is “%(status)s”.",
                                    status=document.status_label))
    if from_list and not R.submits_from_list(document.status):
        flash(_("Read what we asked for before you submit the document again."), "info")
        return go_to_page(url_for("documents.show", document_id=document.id, _anchor="comments"))
    if document.completeness_problems():
        flash(_("Fill in everything the document needs before you submit it."), "error")
        return go_to_page(url_for("documents.edit", document_id=document.id, check=1))
    try:
        act(document, R.SUBMIT, nonce=nonce)
    except TransitionRefused as refusal:
        if nonce and Document.get_by_id(document.id).version_for_nonce(nonce):
            return _done(document, _("The document was submitted."))
        return refused(document, refusal.message)
    return _done(document, _("The document was submitted. We will let you know when it has been processed."))


@bp.route("/documents/<int:document_id>/files", methods=["POST"])
@clients_only()
@uploading.accepts_uploads(client_upload_policy)
def add_files(document_id):
    """Add files while we need information (the document stays where it is)."""
    document = client_document(document_id, "submit")
    form = AddFilesForm()
    if not document.may(R.ADD_FILES, signed_in_user()):
        return refused(document, _("Files cannot be added while the document is “%(status)s”.",
                                    status=document.status_label))
    if form.validate_on_submit():
        try:
            act(document, R.ADD_FILES, uploads={"new_files": (chosen_files(form.files), document.type.policy)})
        except uploads.UploadRefused as refusal:
            form.files.errors = list(form.files.errors) + refusal.messages
        except TransitionRefused as refusal:
            form.files.errors = list(form.files.errors) + [refusal.message]
        else:
            flash(_("The files were added. Submit the document when it is ready."), "success")
            return see_other("documents.show", document_id=document.id)
    context = show_context(document)
    context["add_form"] = form
    return render("documents/show.html", status=422, **context)


@bp.route("/documents/<int:document_id>/agree", methods=["POST"])
@clients_only()
def agree(document_id):
    """"Piekrist": the client agrees to the package (→ Signing)."""
    document = client_document(document_id, "submit")
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        act(document, R.AGREE)
    except TransitionRefused as refusal:
        return refused(document, refusal.message)
    flash(_("You agreed to the package. Now sign it with a qualified e-signature."), "success")
    if wants_fragment():
        return row_response(Document.get_by_id(document.id))
    return see_other("documents.show", document_id=document.id)


@bp.route("/documents/<int:document_id>/questions", methods=["POST"])
@clients_only()
def ask(document_id):
    """A question about the package; staff answer by adding documents and sending it again."""
    document = client_document(document_id, "submit")
    form = AskForm()
    if not document.may(R.ASK, signed_in_user()):
        return refused(document, _("This cannot be done while the document is “%(status)s”.",
                                    status=document.status_label))
    if form.validate_on_submit():
        try:
            act(document, R.ASK, question=form.question.data)
        except TransitionRefused as refusal:
            return refused(document, refusal.message)
        flash(_("Your question was sent. We will answer by sending the package again."), "success")
        return see_other("documents.show", document_id=document.id)
    context = show_context(document)
    context["ask_form"] = form
    return render("documents/show.html", status=422, **context)


@bp.route("/documents/<int:document_id>/signed", methods=["POST"])
@clients_only()
@uploading.accepts_uploads(signed_container_policy)
def upload_signed(document_id):
    """The package signed elsewhere, as one EDOC / ASiC-E container that we check."""
    document = client_document(document_id, "submit")
    form = SignedContainerForm()
    if not document.may(R.UPLOAD_SIGNED, signed_in_user()):
        return refused(document, _("A signed package can be uploaded only while the document is "
                                    "“%(status)s”.", status=R.STATUS_LABELS[R.SIGNING]))
    if form.validate_on_submit():
        files = chosen_files(form.container)
        if len(files) != 1:
            form.container.errors = list(form.container.errors) + [_("Choose one signed container.")]
        else:
            problems = uploads.check_files(files, R.SIGNED_CONTAINER_POLICY)
            report = None
            if not problems:
                # Imported here: lxml and signxml weigh some 25 MB, and only this view needs them.
                from uploads.containers import check_container
                stream = files[0].stream
                stream.seek(0)
                package = document.latest_version("package")
                report = check_container(stream.read(), [f.sha256 for f in package.files()] if package else [],
                                         trust=current_app.extensions["signing_trust"],
                                         not_before=package.created_at.replace(tzinfo=timezone.utc)
                                         if package else None)
                stream.seek(0)
                problems = report.problems
                if problems:
                    audit("document.signed_container_refused", user=signed_in_user(), client=document.client_id,
                          document=document.id, problems=[str(p)[:300] for p in problems[:10]],
                          refused_signers=report.refused[:5])
            if problems:
                form.container.errors = list(form.container.errors) + [str(p) for p in problems]
            else:
                try:
                    act(document, R.UPLOAD_SIGNED, signers=report.signers,
                         uploads={"container": (files, R.SIGNED_CONTAINER_POLICY)})
                except uploads.UploadRefused as refusal:
                    form.container.errors = list(form.container.errors) + refusal.messages
                except TransitionRefused as refusal:
                    return refused(document, refusal.message)
                else:
                    flash(_("The signed package was accepted. Signed by: %(names)s.",
                            names=", ".join(report.signer_names)), "success")
                    return see_other("documents.show", document_id=document.id)
    context = show_context(document)
    context["signed_form"] = form
    return render("documents/show.html", status=422, **context)


@bp.route("/documents/<int:document_id>/signing-service", methods=["POST"])
@clients_only()
def sign_with_service(document_id):
    """Ask the signing service for an invitation and go there."""
    document = client_document(document_id, "submit")
    if not ActionForm().validate_on_submit():
        abort(400)
    open_invitation = document.pending_invitation() if document.status == R.SIGNING else None
    if open_invitation:  # a second click: the invitation already exists (and was e-mailed)
        return go_to_page(open_invitation.url())
    try:
        act(document, R.SIGN_WITH_SERVICE)
    except TransitionRefused as refusal:
        return refused(document, refusal.message)
    invitation = document.pending_invitation()
    flash(_("We also sent the invitation to your e-mail."), "info")
    return go_to_page(invitation.url())


@bp.route("/documents/<int:document_id>/files/<int:file_id>")
@login_required
def download(document_id, file_id):
    """A file of a document, only to whom may see the document (staff too, audited)."""
    document = client_document(document_id)
    if not document.owns_file(file_id):
        abort(404)
    stored = StoredFile.get_by_id(file_id)
    if signed_in_user().is_staff:  # staff reading a client's files is recorded, as for attachments
        with models.action():
            audit("document.file_downloaded", user=signed_in_user(), client=document.client_id, document=document.id,
                  file=stored.id)
    return uploading.send_stored(stored)


@bp.route("/documents/<int:document_id>/versions/<int:number>/files.zip")
@login_required
def download_version(document_id, number):
    """Every file of a version as one zip, named as the version lists them ("līgums.pdf",
    "līgums (2).pdf"): the signing package, to sign with one's own qualified e-signature
    (seed 004 §6.4.2.2). Only to whom may see the document; 404 for a version without files."""
    document = client_document(document_id)
    version = document.version(number)
    files = version.files() if version else []
    if not files:
        abort(404)
    if signed_in_user().is_staff:
        with models.action():
            audit("document.version_downloaded", user=signed_in_user(), client=document.client_id,
                  document=document.id, version=version.number)
    name = (_("%(title)s Nr. %(number)d for signing, version %(version)d", title=document.title,
              number=document.id, version=version.number) if version.kind == "package"
            else _("%(title)s Nr. %(number)d, version %(version)d", title=document.title,
                   number=document.id, version=version.number))
    return uploading.send_bundle([(f.shown_name, f) for f in files], uploading.download_name(name, "zip"))


@bp.route("/documents/<int:document_id>/signed-container")
@login_required
def download_signed(document_id):
    """The signed container (EDOC / ASiC-E) of a signed document, only to whom may see the
    document (staff too, audited); 404 while there is none."""
    document = client_document(document_id)
    container = document.signed_container()
    if container is None:
        abort(404)
    if signed_in_user().is_staff:
        with models.action():
            audit("document.signed_container_downloaded", user=signed_in_user(), client=document.client_id,
                  document=document.id,
                  file=container.id)
    name = _("%(title)s Nr. %(number)d, signed package", title=document.title, number=document.id)
    return uploading.send_stored(container, download_name=uploading.download_name(name, container.extension))

