"""The signing service's side: its HMAC-signed callback, and the development service page."""
import io
from functools import wraps

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

import adapters
import models
import uploads
from adapters import signing
from blueprints import clients_only, signed_in_user
from blueprints.documents import bp, client_document
from blueprints.extensions import csrf
from forms.documents import ActionForm
from models.documents import Document, SigningInvitation, TransitionRefused
from rules import documents as R

# The callback's answers to the service (its JSON "result"): codes, not words for people.
SIGNED, ALREADY_DONE, REFUSED_BY_STATUS = "signed", "already done", "refused by the document's status"


def _dev_service_enabled():
    return (current_app.config.get("SIGNING_BACKEND", "dev") == "dev"
            and current_app.config.get("PORTAL_ENV") != "production")


def _dev_service_only(view):
    """404 for everyone, signed in or not, unless the development service is on."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not _dev_service_enabled():
            abort(404)
        return view(*args, **kwargs)
    return wrapped


@bp.route("/signing-service/dev/<token>", methods=["GET", "POST"])
@_dev_service_only
@clients_only()
def dev_signing(token):
    """The development signing service: shows the package and "signs" it, answering the
    portal through the same signed callback a real service would send. Like a real service
    it signs only as the person it identified: the signed-in client the invitation was made
    for, while they may still act on its document; the signer's name is theirs."""
    service = adapters.of(current_app).signing
    user = signed_in_user()
    invitation = SigningInvitation.get_or_none(SigningInvitation.token == token)
    if invitation is None or invitation.user_id != user.id:
        abort(404)
    client_document(invitation.document_id, "submit")  # 404 once they may no longer act on it
    form = ActionForm()
    files = invitation.version.files() if invitation.version else []
    signer_name = user.display_name[:200]
    if invitation.status == "pending" and form.validate_on_submit():
        body, headers = signing.signed_callback({"invitation": token, "status": "signed",
                                                 "signers": [{"name": signer_name, "serial": "", "issuer": "dev"}]},
                                                service.secret)
        result, _status = _handle_callback(body, headers)
        flash(*_dev_outcome(result, invitation, signer_name))
        return redirect(url_for("documents.show", document_id=invitation.document_id), code=303)
    return render_template("documents/dev_signing.html", invitation=invitation, files=files, form=form,
                           signer_name=signer_name)


def _dev_outcome(result, invitation, signer_name):
    """What the development page tells the client (a flash and its kind): the callback answers
    the service in plain codes, which are not words for people."""
    if result == SIGNED:
        return _("The signed package was accepted. Signed by: %(names)s.", names=signer_name), "success"
    if result == ALREADY_DONE:
        return _("This package is already signed."), "info"
    if result == REFUSED_BY_STATUS:
        document = Document.get_by_id(invitation.document_id)
        return _("This cannot be done while the document is “%(status)s”.", status=document.status_label), "error"
    return _("The signing service's answer was not accepted. Try again."), "error"



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
                                      R.SIGNING_CALLBACK_MAX_AGE.total_seconds(),
                                      adapters.of(current_app).signing.secret)
    if payload is None:
        return "refused", 403
    invitation = SigningInvitation.get_or_none(SigningInvitation.token == str(payload.get("invitation", "")))
    if invitation is None:
        return "unknown invitation", 404
    if invitation.status == "completed":
        return ALREADY_DONE, 200
    if payload.get("status") != "signed":
        return "ignored", 200
    signers = [{"name": str(s.get("name", ""))[:200], "serial": str(s.get("serial", ""))[:100],
                "issuer": str(s.get("issuer", ""))[:200]}
               for s in payload.get("signers") or [] if isinstance(s, dict) and s.get("name")]
    document = Document.get_by_id(invitation.document_id)
    try:
        with uploads.atomic():  # the stored container goes again if the transition is refused
            container = _signed_container(document, invitation, signers)
            document.transition(R.SIGNING_COMPLETED, by=None, invitation=invitation, signers=signers,
                                container=container)
            models.AuditLog.record("document.signing_completed", actor="signing-service",
                                   document=document.id, invitation=invitation.id)
    except TransitionRefused:
        return REFUSED_BY_STATUS, 409
    return SIGNED, 200


def _signed_container(document, invitation, signers):
    """The signed container the service returns for this signing, stored for the signed
    version (so it can be downloaded as an uploaded one can); None when the service gives
    none or the document is past signing."""
    package = invitation.version or document.latest_version("package")
    if document.status != R.SIGNING or package is None or not signers:
        return None
    service = adapters.of(current_app)
    files = []
    for f in package.files():
        with service.storage.open(f.key) as stream:
            files.append((f.shown_name, stream.read()))
    data = service.signing.signed_container(files, signers)
    if data is None:
        return None
    upload = FileStorage(io.BytesIO(data), filename=f"Nr. {document.id}.asice")
    try:
        return uploads.store_files([upload], R.SIGNED_CONTAINER_POLICY, None, document.client)[0]
    except uploads.UploadRefused as refusal:  # e.g. above the container's size limit: the files stay
        current_app.logger.warning("signed container of document %s not kept: %s", document.id,
                                   "; ".join(str(m) for m in refusal.messages))
        return None
