"""The development identification provider's pages (``/dev/identification/…``; ONB-9), registered
only in development (``IDENTIFICATION_BACKEND=dev``; production refuses to start with it).

Like a real provider's hosted pages they take a photo of the identity document and a selfie
(real uploads through the portal's checks, kept through the storage adapter), then answer the
portal through the same signed webhook a real provider sends — here in the same request, through
the webhook's own handler — and send the person back. When the portal does not accept the
answer, the photos are not kept."""
from flask import Blueprint, abort, flash, redirect
from flask_babel import gettext as _

import uploads
from adapters.identification import DevIdentification
from blueprints import render, safe_next, uploading
from blueprints.identification import handle_webhook, provider
from forms.identification import DevProviderForm
from models import identification as M
from models.identification import Identification
from rules import identification as R

bp = Blueprint("dev_identification", __name__, url_prefix="/dev/identification")


class _NotAccepted(Exception):
    """The portal did not accept the webhook: the photos go again."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


def _session_or_404(session):
    if not isinstance(provider(), DevIdentification):
        abort(404)
    row = Identification.by_session(session)
    if row is None:
        abort(404)
    return row


@bp.route("/<session>", methods=["GET"])
def page(session):
    """The provider's page for one session (its reference is the only key, as at a real one)."""
    row = _session_or_404(session)
    return _page(row, session, DevProviderForm())


def _page(row, session, form, status=200):
    return render("identification/dev_provider.html", status=status, row=row, session=session, form=form,
                  back=safe_next("main.index"), policy=R.PHOTO_POLICY,
                  errors=[(f.id, e) for f in form if f.errors for e in f.errors])


@bp.route("/<session>", methods=["POST"])
@uploading.accepts_uploads(R.PHOTO_POLICY)
def submit(session):
    """Keep the two photos, report the chosen outcome by the signed webhook, go back."""
    row = _session_or_404(session)
    form = DevProviderForm()
    if not form.validate_on_submit():
        return _page(row, session, form, 422)
    try:
        with uploads.atomic():
            photo, selfie = uploads.store_files([form.document_photo.data, form.selfie.data], R.PHOTO_POLICY,
                                                None, row.client)
            Identification.update(document_photo=photo, selfie=selfie).where(Identification.id == row.id).execute()
            body, headers = provider().webhook(session, form.outcome.data)
            code, status = handle_webhook(body, headers)
            if status != 200 or code != M.APPLIED:
                raise _NotAccepted(code)
    except uploads.UploadRefused as refusal:
        form.document_photo.errors = list(refusal.messages)
        return _page(row, session, form, 422)
    except _NotAccepted as refused:
        flash(_("The portal did not accept the result (%(code)s); nothing was kept.", code=refused.code), "error")
        return redirect(safe_next("main.index"), code=303)
    flash(_("The identification service sent its result."), "success")
    return redirect(safe_next("main.index"), code=303)
