"""Documents (issue 3): the client's list whose rows update in place, the questionnaire
("Labot"), versions and the activity history, signing; and the staff queue and decisions.

Views parse, call ``Document.transition`` and render: none of them sets a status.
Clients reach a document only through ``models.get_scoped`` ("documents" to see it,
"submit" to act on it); staff through ``staff_required``. Anything refused is a 404.
"""
import secrets
import unicodedata
from datetime import datetime
from pathlib import Path
from decimal import Decimal, InvalidOperation

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import format_decimal, get_locale, gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from fpdf import FPDF
from peewee import Case, IntegrityError, OperationalError

import models
import signing
import tasks
import uploads
from blueprints import audit, go_to_page, render, see_other, wants_fragment
from blueprints.staff import staff_required
from extensions import csrf
from forms.documents import (AcceptForm, ActionForm, AddFilesForm, AskForm, NewDocumentForm, PackageForm,
                             ResendForm, SignedContainerForm, comments_of, editable_values, questionnaire_form,
                             request_info_form)
from models.documents import Document, SigningInvitation, TransitionRefused, fingerprint
from rules import documents as R

bp = Blueprint("documents", __name__)


@bp.context_processor
def _document_helpers():
    """A fresh nonce for each form that submits (a second click of the same form is one submission)."""
    return {"new_nonce": lambda: secrets.token_urlsafe(16), "R": R}


@bp.app_template_filter("money")
def _money(value):
    """An amount as people read it: 1 234,56 € in Latvian."""
    try:
        return f"{format_decimal(Decimal(str(value)), format='#,##0.00')} €"
    except (InvalidOperation, ValueError):
        return value


def _user():
    return current_user._get_current_object()


def _membership(user):
    """The account the user works for now (the dashboard's choice), if it may see documents."""
    memberships = list(user.memberships_query())
    chosen = session.get("client_id")
    membership = next((m for m in memberships if m.client_id == chosen), memberships[0] if memberships else None)
    if membership is None or not membership.allows("documents"):
        abort(404)
    return membership


def _client_document(document_id, permission="documents"):
    """A document the signed-in client may see ("documents") or act on ("submit"); else 404."""
    user = _user()
    if user.is_staff:
        abort(404)
    document = models.get_scoped(Document, document_id, user, permission)
    if document is None:
        abort(404)
    return document


def _staff_document(document_id):
    document = models.get_scoped(Document, document_id, _user(), "documents")
    if document is None:
        abort(404)
    return document


def _policy_of(document_id):
    """The upload policy of a document's type (for the request-size limit before parsing)."""
    document = Document.get_or_none(Document.id == document_id) if str(document_id).isdigit() else None
    return document.type.policy if document else R.DOCUMENT_TYPES["company_documents"].policy


def _files(field):
    return [f for f in (field.data or []) if f is not None and getattr(f, "filename", None)]


def _act(document, action, **data):
    """Run one action in one transaction (with any files it stores, and the audit row),
    then hand the queued notifications to RQ."""
    user = _user()
    with uploads.atomic():
        stored = {}
        for key, (files, policy) in data.pop("uploads", {}).items():
            existing = document.working_files() if key == "new_files" else []
            stored[key] = uploads.store_files(files, policy, user, document.client,
                                              existing_count=len(existing),
                                              existing_total=sum(f.size for f in existing)) if files else []
        event = document.transition(action, by=user, **data, **stored)
        audit(f"document.{action}", user=user, document=document.id, status=document.status)
    for notification in document.queued_notifications:
        tasks.enqueue_notification(notification.id)
    return event


def _refused(document, message, status=409):
    """The table refused the action: say why on the document's page."""
    flash(message, "error")
    if wants_fragment():  # htmx swaps only 2xx: the row shows the real status, the message why
        return _row_response(document)
    return render("documents/show.html", status=status, **_show_context(document))


# --- The list -------------------------------------------------------------------------------

def _list_query(user, membership):
    return models.scoped(Document, user, "documents", client_id=membership.client_id)


def _token(fp):
    """The list's fingerprint as the poll sends it back: count, waiting rows, last change."""
    count, latest, waiting = fp
    if isinstance(latest, str):
        latest = datetime.fromisoformat(latest)
    stamp = latest.strftime("%Y%m%d%H%M%S%f") if latest else "0"
    return f"{count}-{waiting}-{stamp}"


def _parse_token(token):
    try:
        count, waiting, stamp = token.split("-")
        return int(count), (datetime.strptime(stamp, "%Y%m%d%H%M%S%f") if stamp != "0" else None)
    except (ValueError, AttributeError):
        return None, None


@bp.route("/documents")
@login_required
def index():
    """The client's documents, one row each; rows waiting on us refresh themselves."""
    user = _user()
    if user.is_staff:
        return redirect(url_for("documents.queue"))
    membership = _membership(user)
    query = _list_query(user, membership)
    documents = list(query.order_by(Document.created_at.desc(), Document.id.desc()))
    form = None
    if membership.allows("submit"):
        form = NewDocumentForm()
        form.set_choices(membership.client.kind)
    fp = fingerprint(query)
    return render("documents/index.html", "documents/_list.html", documents=documents, form=form,
                  token=_token(fp), polling=fp[2] > 0, membership=membership,
                  can_submit=membership.allows("submit"))


@bp.before_app_request
def _keep_idle_clock():
    """The list's poll is not the user doing something: it must not keep the session
    from timing out, so the poll view puts back the idle clock it found."""
    if request.endpoint == "documents.rows":
        g.seen_at_before_poll = session.get("seen_at")


@bp.route("/documents/rows")
@login_required
def rows():
    """The poll: 204 when nothing changed (one aggregate query, no rows loaded); else the
    changed rows, swapped out of band, and the poller again (without a trigger when no
    row waits on us any more, which ends the polling)."""
    user = _user()
    before = g.get("seen_at_before_poll")
    if before is not None and session.get("seen_at") != before:
        session["seen_at"] = before
        session.modified = False  # the cookie the browser holds is right as it is
    if user.is_staff:
        abort(404)
    membership = _membership(user)
    query = _list_query(user, membership)
    fp = fingerprint(query)
    token = _token(fp)
    sent = request.args.get("v", "")
    if sent == token:
        return "", 204
    count, since = _parse_token(sent)
    whole = count != fp[0] or since is None
    changed = query.order_by(Document.created_at.desc(), Document.id.desc())
    if not whole:
        changed = changed.where(Document.updated_at > since)
    return render_template("documents/_poll_update.html", documents=list(changed), whole=whole,
                           token=token, polling=fp[2] > 0, can_submit=membership.allows("submit"))


@bp.route("/documents", methods=["POST"])
@login_required
def create():
    """Start a document of a chosen type (status New) and open its form."""
    user = _user()
    if user.is_staff:
        abort(404)
    membership = _membership(user)
    if not membership.allows("submit"):
        abort(404)
    form = NewDocumentForm()
    form.set_choices(membership.client.kind)
    if not form.validate_on_submit():
        query = _list_query(user, membership)
        fp = fingerprint(query)
        return render("documents/index.html", status=422, form=form, membership=membership, can_submit=True,
                      documents=list(query.order_by(Document.created_at.desc(), Document.id.desc())),
                      token=_token(fp), polling=fp[2] > 0)
    document = Document.start(membership.client, form.doc_type.data, user)
    audit("document.created", user=user, document=document.id)
    return go_to_page(url_for("documents.edit", document_id=document.id))


@bp.route("/documents/<int:document_id>/row")
@login_required
def row(document_id):
    """One row of the list (the fragment a row action answers with)."""
    return _row_response(_client_document(document_id))


def _row_response(document, status=200):
    can_submit = models.get_scoped(Document, document.id, _user(), "submit") is not None
    membership = _membership(_user())
    fp = fingerprint(_list_query(_user(), membership))
    return render_template("documents/_row_update.html", d=document, can_submit=can_submit,
                           token=_token(fp), polling=fp[2] > 0), status


# --- One document ---------------------------------------------------------------------------

def _show_context(document):
    user = _user()
    can_submit = (not user.is_staff and models.get_scoped(Document, document.id, user, "submit") is not None)
    return {"document": document, "versions": document.versions(), "history": document.history(),
            "comments": document.open_comments(), "package": document.latest_version("package"),
            "signed": document.latest_version("signed"), "can_submit": can_submit,
            "ask_form": AskForm(), "action_form": ActionForm(), "signed_form": SignedContainerForm(),
            "add_form": AddFilesForm(), "invitation": document.pending_invitation()}


@bp.route("/documents/<int:document_id>")
@login_required
def show(document_id):
    """A document: its status and what the client can do now, versions, activity history."""
    document = _client_document(document_id)
    return render("documents/show.html", **_show_context(document))


@bp.route("/documents/<int:document_id>/edit", methods=["GET", "POST"])
@login_required
@uploads.accepts_uploads(lambda document_id: _policy_of(document_id))
def edit(document_id):
    """"Labot": the questionnaire with staff comments beside the fields they name; save or submit."""
    document = _client_document(document_id, "submit")
    user = _user()
    action = request.form.get("action", R.SAVE)
    if request.method == "POST" and action not in (R.SAVE, R.SUBMIT):
        abort(400)
    shown = editable_values(document.type, document.values, "," if str(get_locale()) == "lv" else ".")
    form = questionnaire_form(document.type, data=shown if request.method == "GET" else None)
    form.remove_files.choices = [(f.id, f.original_name) for f in document.working_files()]
    if request.method == "POST" and action == R.SUBMIT and document.version_for_nonce(form.nonce.data):
        return _done(document, _("The document was submitted."))  # the same form sent twice
    if not document.may(R.EDIT, user):
        return _refused(document, _("This document cannot be edited while it is “%(status)s”.",
                                    status=document.status_label))
    if request.method == "GET" and request.args.get("check"):
        form.add_problems(document.completeness_problems())
    if request.method == "POST" and form.validate_on_submit():
        new_files = _files(form.files)
        remove = [i for i in (form.remove_files.data or []) if i in dict(form.remove_files.choices)]
        values = form.values(document.type)
        if action == R.SUBMIT:
            form.add_problems(document.completeness_problems(values, bool(new_files), remove))
        if not form.errors and not form.form_errors:
            try:
                _act(document, action, values=values, remove_files=remove, nonce=form.nonce.data,
                     uploads={"new_files": (new_files, document.type.policy)})
            except uploads.UploadRefused as refused:
                form.files.errors = list(form.files.errors) + refused.messages
            except TransitionRefused as refused:
                if action == R.SUBMIT and Document.get_by_id(document.id).version_for_nonce(form.nonce.data):
                    return _done(document, _("The document was submitted."))
                form.form_errors.append(refused.message)
                form.add_problems(refused.problems)
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
        return _row_response(Document.get_by_id(document.id))
    return see_other("documents.index")


@bp.route("/documents/<int:document_id>/submit", methods=["POST"])
@login_required
def submit(document_id):
    """Submit from the list ("Iesniegt"): the row swaps in place; an incomplete document
    opens its form with what is missing marked."""
    document = _client_document(document_id, "submit")
    nonce = request.form.get("nonce", "")[:64] or None
    if nonce and document.version_for_nonce(nonce):
        return _done(document, _("The document was submitted."))
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if not document.may(R.SUBMIT, _user()):
        return _refused(document, _("This cannot be done while the document is “%(status)s”.",
                                    status=document.status_label))
    if document.completeness_problems():
        flash(_("Fill in everything the document needs before you submit it."), "error")
        return go_to_page(url_for("documents.edit", document_id=document.id, check=1))
    try:
        _act(document, R.SUBMIT, nonce=nonce)
    except TransitionRefused as refused:
        if nonce and Document.get_by_id(document.id).version_for_nonce(nonce):
            return _done(document, _("The document was submitted."))
        return _refused(document, refused.message)
    return _done(document, _("The document was submitted. We will let you know when it has been processed."))


@bp.route("/documents/<int:document_id>/files", methods=["POST"])
@login_required
@uploads.accepts_uploads(lambda document_id: _policy_of(document_id))
def add_files(document_id):
    """Add files while we need information (the document stays where it is)."""
    document = _client_document(document_id, "submit")
    form = AddFilesForm()
    if not document.may(R.ADD_FILES, _user()):
        return _refused(document, _("Files cannot be added while the document is “%(status)s”.",
                                    status=document.status_label))
    if form.validate_on_submit():
        try:
            _act(document, R.ADD_FILES, uploads={"new_files": (_files(form.files), document.type.policy)})
        except uploads.UploadRefused as refused:
            form.files.errors = list(form.files.errors) + refused.messages
        except TransitionRefused as refused:
            form.files.errors = list(form.files.errors) + [refused.message]
        else:
            flash(_("The files were added. Submit the document when it is ready."), "success")
            return see_other("documents.show", document_id=document.id)
    context = _show_context(document)
    context["add_form"] = form
    return render("documents/show.html", status=422, **context)


@bp.route("/documents/<int:document_id>/agree", methods=["POST"])
@login_required
def agree(document_id):
    """"Piekrist": the client agrees to the package (→ Signing)."""
    document = _client_document(document_id, "submit")
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        _act(document, R.AGREE)
    except TransitionRefused as refused:
        return _refused(document, refused.message)
    flash(_("You agreed to the package. Now sign it with a qualified e-signature."), "success")
    if wants_fragment():
        return _row_response(Document.get_by_id(document.id))
    return see_other("documents.show", document_id=document.id)


@bp.route("/documents/<int:document_id>/questions", methods=["POST"])
@login_required
def ask(document_id):
    """A question about the package; staff answer by adding documents and sending it again."""
    document = _client_document(document_id, "submit")
    form = AskForm()
    if not document.may(R.ASK, _user()):
        return _refused(document, _("This cannot be done while the document is “%(status)s”.",
                                    status=document.status_label))
    if form.validate_on_submit():
        try:
            _act(document, R.ASK, question=form.question.data)
        except TransitionRefused as refused:
            return _refused(document, refused.message)
        flash(_("Your question was sent. We will answer by sending the package again."), "success")
        return see_other("documents.show", document_id=document.id)
    context = _show_context(document)
    context["ask_form"] = form
    return render("documents/show.html", status=422, **context)


@bp.route("/documents/<int:document_id>/signed", methods=["POST"])
@login_required
@uploads.accepts_uploads(R.SIGNED_CONTAINER_POLICY)
def upload_signed(document_id):
    """The package signed elsewhere, as one EDOC / ASiC-E container that we check."""
    document = _client_document(document_id, "submit")
    form = SignedContainerForm()
    if not document.may(R.UPLOAD_SIGNED, _user()):
        return _refused(document, _("A signed package can be uploaded only while the document is "
                                    "“%(status)s”.", status=R.STATUS_LABELS[R.SIGNING]))
    if form.validate_on_submit():
        files = _files(form.container)
        if len(files) != 1:
            form.container.errors = list(form.container.errors) + [_("Choose one signed container.")]
        else:
            problems = uploads.check_files(files, R.SIGNED_CONTAINER_POLICY)
            report = None
            if not problems:
                stream = files[0].stream
                stream.seek(0)
                package = document.latest_version("package")
                report = signing.check_container(stream.read(),
                                                 [f.sha256 for f in package.files()] if package else [])
                stream.seek(0)
                problems = report.problems
            if problems:
                form.container.errors = list(form.container.errors) + [str(p) for p in problems]
            else:
                try:
                    _act(document, R.UPLOAD_SIGNED, signers=report.signers,
                         uploads={"container": (files, R.SIGNED_CONTAINER_POLICY)})
                except uploads.UploadRefused as refused:
                    form.container.errors = list(form.container.errors) + refused.messages
                except TransitionRefused as refused:
                    return _refused(document, refused.message)
                else:
                    flash(_("The signed package was accepted. Signed by: %(names)s.",
                            names=", ".join(report.signer_names)), "success")
                    return see_other("documents.show", document_id=document.id)
    context = _show_context(document)
    context["signed_form"] = form
    return render("documents/show.html", status=422, **context)


@bp.route("/documents/<int:document_id>/signing-service", methods=["POST"])
@login_required
def sign_with_service(document_id):
    """Ask the signing service for an invitation and go there."""
    document = _client_document(document_id, "submit")
    if not ActionForm().validate_on_submit():
        abort(400)
    open_invitation = document.pending_invitation() if document.status == R.SIGNING else None
    if open_invitation:  # a second click: the invitation already exists (and was e-mailed)
        return go_to_page(open_invitation.url())
    try:
        _act(document, R.SIGN_WITH_SERVICE)
    except TransitionRefused as refused:
        return _refused(document, refused.message)
    invitation = document.pending_invitation()
    flash(_("We also sent the invitation to your e-mail."), "info")
    return go_to_page(invitation.url())


@bp.route("/documents/<int:document_id>/files/<int:file_id>")
@login_required
def download(document_id, file_id):
    """A file of a document, only to whom may see the document (staff too)."""
    user = _user()
    document = models.get_scoped(Document, document_id, user, "documents")
    if document is None or not document.owns_file(file_id):
        abort(404)
    stored = models.StoredFile.get_by_id(file_id)
    return uploads.send_stored(stored)


@bp.route("/documents/forms/<code>.pdf")
@login_required
def questionnaire_pdf(code):
    """The blank PDF questionnaire of a type filled in on paper (seed 004 §6.1–6.2)."""
    doc_type = R.DOCUMENT_TYPES.get(code)
    if doc_type is None or doc_type.questionnaire != R.PDF:
        abort(404)
    response = current_app.response_class(_blank_pdf(doc_type), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{code}.pdf"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


QUESTIONNAIRE_LINES = (_l("Company name"), _l("Registration number"), _l("Legal address"),
                       _l("Field of business"), _l("Countries of business partners"),
                       _l("Expected monthly turnover, EUR"),
                       _l("Ultimate beneficial owners (name, personal code, share in per cent)"),
                       _l("Representatives (name, personal code, position)"),
                       _l("Place, date, signature"))
UNICODE_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Debian fonts-dejavu-core


def _blank_pdf(doc_type):
    """A one-page PDF form to print and fill in, in the visitor's language (fpdf2).

    DejaVu Sans carries the Latvian letters; without it (no fonts-dejavu-core) the
    built-in Helvetica is used and diacritics are folded (ā → a) rather than lost."""
    pdf = FPDF(format="A4")
    pdf.set_title(str(doc_type.title))
    pdf.add_page()
    if UNICODE_FONT.exists():
        pdf.add_font("DejaVu", fname=str(UNICODE_FONT))
        family, text = "DejaVu", str
    else:
        family = "Helvetica"

        def text(value):
            return unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
    pdf.set_font(family, size=16)
    pdf.cell(0, 12, text(doc_type.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=10)
    for label in QUESTIONNAIRE_LINES:
        pdf.ln(6)
        pdf.cell(0, 6, text(label), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(8)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    return bytes(pdf.output())


# --- The signing service ----------------------------------------------------------------------

def _dev_service_enabled():
    return (current_app.config.get("SIGNING_BACKEND", "dev") == "dev"
            and current_app.config.get("PORTAL_ENV") != "production")


@bp.route("/signing-service/dev/<token>", methods=["GET", "POST"])
def dev_signing(token):
    """The development signing service: shows the package and "signs" it, answering the
    portal through the same signed callback a real service would send."""
    if not _dev_service_enabled():
        abort(404)
    invitation = SigningInvitation.get_or_none(SigningInvitation.token == token)
    if invitation is None:
        abort(404)
    form = ActionForm()
    files = invitation.version.files() if invitation.version else []
    default_name = invitation.user.display_name if invitation.user else ""
    if invitation.status == "pending" and form.validate_on_submit():
        name = (request.form.get("signer_name") or default_name).strip()[:200] or default_name
        body, headers = signing.signed_callback({"invitation": token, "status": "signed",
                                                 "signers": [{"name": name, "serial": "", "issuer": "dev"}]})
        result, _status = _handle_callback(body, headers)
        flash(_("The signing service reports: %(result)s.", result=result), "info")
        return redirect(url_for("documents.show", document_id=invitation.document_id), code=303)
    return render_template("documents/dev_signing.html", invitation=invitation, files=files, form=form,
                           default_name=default_name)


@bp.route("/signing-service/callback", methods=["POST"])
@csrf.exempt
def signing_callback():
    """Webhook of the signing service: HMAC-signed, fresh, idempotent."""
    body = request.get_data(cache=False)
    result, status = _handle_callback(body, request.headers)
    return {"result": result}, status


def _handle_callback(body, headers):
    payload = signing.verify_callback(body, headers.get(signing.TIMESTAMP_HEADER),
                                      headers.get(signing.SIGNATURE_HEADER),
                                      R.SIGNING_CALLBACK_MAX_AGE.total_seconds())
    if payload is None:
        return "refused", 403
    invitation = SigningInvitation.get_or_none(SigningInvitation.token == str(payload.get("invitation", "")))
    if invitation is None:
        return "unknown invitation", 404
    if invitation.status == "completed":
        return "already done", 200
    if payload.get("status") != "signed":
        return "ignored", 200
    signers = [{"name": str(s.get("name", ""))[:200], "serial": str(s.get("serial", ""))[:100],
                "issuer": str(s.get("issuer", ""))[:200]}
               for s in payload.get("signers") or [] if isinstance(s, dict) and s.get("name")]
    document = Document.get_by_id(invitation.document_id)
    try:
        with models.db.atomic():
            document.transition(R.SIGNING_COMPLETED, by=None, invitation=invitation, signers=signers)
            models.AuditLog.record("document.signing_completed", actor="signing-service",
                                   document=document.id, invitation=invitation.id)
    except TransitionRefused:
        return "refused by the document's status", 409
    for notification in document.queued_notifications:
        tasks.enqueue_notification(notification.id)
    return "signed", 200


# --- Staff ---------------------------------------------------------------------------------------

@bp.route("/staff/documents")
@staff_required()
def queue():
    """Documents waiting on us: in processing first, then questions about packages; oldest first."""
    first = Case(None, [(Document.status == R.PROCESSING, 0), (Document.status == R.READY, 1)], 2)
    waiting = (Document.select(Document, models.Client).join(models.Client)
               .where(Document.waiting == True)  # noqa: E712 (peewee expression)
               .order_by(first, Document.submitted_at, Document.updated_at, Document.id))
    # A document never submitted is still the client's own draft: not listed for staff.
    recent = (Document.select(Document, models.Client).join(models.Client)
              .where(Document.waiting == False, Document.submitted_at.is_null(False))  # noqa: E712
              .order_by(Document.updated_at.desc()).limit(20))
    return render("documents/staff_queue.html", waiting=list(waiting), recent=list(recent))


def _staff_context(document, **forms):
    context = {"document": document, "versions": document.versions(), "history": document.history(),
               "comments": document.open_comments(), "membership": document.submitter_membership(),
               "has_authority": document.submitter_has_authority(),
               "package": document.latest_version("package"), "submission": document.latest_version("submission"),
               "accept_form": AcceptForm(), "info_form": request_info_form(document.type),
               "package_form": PackageForm(), "resend_form": ResendForm(),
               "actions": R.actions_for(document.status, R.STAFF)}
    context.update(forms)
    return context


@bp.route("/staff/documents/<int:document_id>")
@staff_required()
def staff_show(document_id):
    """A document for staff: the submitter's authority, the data, versions, history, decisions."""
    return render("documents/staff_document.html", **_staff_context(_staff_document(document_id)))


def _staff_action(document_id, action, form, message, **data):
    document = _staff_document(document_id)
    if not document.may(action, _user()):
        flash(_("This cannot be done while the document is “%(status)s”.", status=document.status_label), "error")
        return render("documents/staff_document.html", status=409, **_staff_context(document))
    if form.validate_on_submit():
        try:
            _act(document, action, **{k: (v(form) if callable(v) else v) for k, v in data.items()})
        except uploads.UploadRefused as refused:
            form.files.errors = list(form.files.errors) + refused.messages
        except TransitionRefused as refused:
            form.form_errors.append(refused.message)
            for name, messages in refused.problems.items():
                if name in form._fields:
                    form[name].errors = list(form[name].errors) + list(messages)
        else:
            flash(message, "success")
            return see_other("documents.staff_show", document_id=document.id)
    forms = {AcceptForm: "accept_form", PackageForm: "package_form", ResendForm: "resend_form"}
    key = forms.get(type(form), "info_form")
    return render("documents/staff_document.html", status=422, **_staff_context(document, **{key: form}))


@bp.route("/staff/documents/<int:document_id>/accept", methods=["POST"])
@staff_required()
def accept(document_id):
    form = AcceptForm()
    return _staff_action(document_id, R.ACCEPT, form, _("The document was accepted."),
                         authority_checked=lambda f: f.authority_checked.data, note=lambda f: f.note.data or "")


@bp.route("/staff/documents/<int:document_id>/request-info", methods=["POST"])
@staff_required()
def request_info(document_id):
    document = _staff_document(document_id)
    form = request_info_form(document.type)
    return _staff_action(document_id, R.REQUEST_INFO, form,
                         _("The client was asked for information."), comments=comments_of)


@bp.route("/staff/documents/<int:document_id>/package", methods=["POST"])
@staff_required()
@uploads.accepts_uploads(lambda document_id: _policy_of(document_id))
def prepare_package(document_id):
    form = PackageForm()
    policy = _policy_of(document_id)
    return _staff_action(document_id, R.PREPARE_PACKAGE, form, _("The package was sent to the client for agreement."),
                         include_submission=lambda f: f.include_submission.data, note=lambda f: f.note.data or "",
                         uploads=lambda f: {"files": (_files(f.files), policy)})


@bp.route("/staff/documents/<int:document_id>/resend", methods=["POST"])
@staff_required()
@uploads.accepts_uploads(lambda document_id: _policy_of(document_id))
def resend(document_id):
    form = ResendForm()
    policy = _policy_of(document_id)
    return _staff_action(document_id, R.RESEND, form, _("The package was sent again for agreement."),
                         note=lambda f: f.note.data or "", uploads=lambda f: {"files": (_files(f.files), policy)})
