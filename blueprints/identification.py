"""Identification (seed 004 §5, §8; ONB-8, ONB-9, ONB-12, ONB-13, STF-7): the application's page of who identifies and
how far each got, the start at the provider (for the registrant in their cabinet, for an invited
representative through their personal link, without registering), the provider's webhook, and
staff's queue and page (a result by hand, in person, a video identification at an agreed time).

The provider is ``adapters.of(app).identification``; the states and the stage's status come from
``rules.identification``, the changes from ``models.identification``."""
from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l

import adapters
import models
import rules
from adapters.identification import WebhookRefused
from blueprints import (audit, clients_only, get_scoped_or_404, page_of, poll, render, see_other,
                        signed_in_user, staff_required)
from blueprints import uploading
from blueprints.extensions import csrf
from blueprints.queues import register_queue
from forms.identification import DecisionForm, InPersonForm, StartForm, VideoForm
from models import identification as M
from models.applications import Application
from models.identification import Identification
from models.scoping import staff_scope
from rules import identification as R

bp = Blueprint("identification", __name__)
PERMISSION = "services"


def provider():
    return adapters.of(current_app).identification


def links():
    """The paths the identification messages carry (``models.identification.Links``)."""
    return M.Links(invitation=lambda token: url_for("identification.invitation", token=token),
                   cabinet=lambda application_id: url_for("identification.show", application_id=application_id))


# --- The client's side ---------------------------------------------------------------------------

def _application(application_id):
    application = get_scoped_or_404(Application, application_id, PERMISSION)
    if application.is_draft:
        abort(404)
    return application


@bp.route("/applications/<int:application_id>/identification")
@clients_only()
def show(application_id):
    """Who identifies for the application, each one's state and next step; the signed-in
    person's own start button."""
    return _show(application_id)


@bp.route("/applications/<int:application_id>/identification/status")
@clients_only()
@poll
def status(application_id):
    """The list again (htmx asks while a provider's result is awaited; a poll is no activity);
    without htmx, the page."""
    return _show(application_id)


def _show(application_id):
    application = _application(application_id)
    rows = M.of_application(application.id)
    return render("identification/show.html", "identification/_list.html", application=application, rows=rows,
                  form=StartForm(), me=signed_in_user().id, available=provider().available,
                  waiting_for_provider=any(r.status == R.STARTED for r in rows), poll_seconds=R.POLL_SECONDS)


@bp.route("/applications/<int:application_id>/identification/<int:identification_id>/start", methods=["POST"])
@clients_only()
def start(application_id, identification_id):
    """Start (again) at the provider: the signed-in person's own identification only."""
    application = _application(application_id)
    row = Identification.get_or_none(Identification.id == identification_id,
                                     Identification.application == application.id)
    if row is None or row.user_id != signed_in_user().id:
        abort(404)
    back = url_for("identification.show", application_id=application.id)
    return _start(row, back)


def _start(row, back):
    form = StartForm()
    if not form.validate_on_submit() or not provider().available:
        abort(400)
    with models.action():
        target = row.start(provider(), back)
    if target is None:
        flash(_("This identification cannot be started now."), "error")
        return redirect(back, code=303)
    return redirect(target, code=303)


@bp.route("/identification/invitation/<token>")
def invitation(token):
    """An invited representative's page (no account needed): what it is for, and the start."""
    row = _invited_or_404(token)
    application = Application.get_by_id(row.application_id)
    return render("identification/invitation.html", row=row, application=application,
                  company=models.Client.get_by_id(row.client_id), form=StartForm(),
                  live=row.invitation_live(), available=provider().available, token=token)


@bp.route("/identification/invitation/<token>", methods=["POST"])
def invitation_start(token):
    row = _invited_or_404(token)
    if not row.invitation_live():
        flash(_("This link can no longer be used. Ask the company or us for a new one."), "error")
        return see_other("identification.invitation", token=token)
    return _start(row, url_for("identification.invitation", token=token))


def _invited_or_404(token):
    row = Identification.by_token(token)
    if row is None:
        abort(404)
    return row


# --- The provider's webhook ------------------------------------------------------------------------

@bp.route("/identification/webhook", methods=["POST"])
@csrf.exempt
def webhook():
    """The provider's result: HMAC-SHA256 of the raw body checked in constant time, fresh,
    each event once (a replay changes nothing), for a session we started."""
    result, status = handle_webhook(request.get_data(cache=False), request.headers)
    return {"result": result}, status


# The webhook's answers: HTTP status per outcome of models.identification.record_result.
WEBHOOK_STATUS = {M.APPLIED: 200, M.DUPLICATE: 200, M.ALREADY_DECIDED: 200, M.UNKNOWN_SESSION: 404,
                  M.UNKNOWN_RESULT: 400}


def handle_webhook(body, headers):
    """(answer code, HTTP status) for a webhook body and its headers (the endpoint and the
    development provider share it). Refusals are audited."""
    adapter = provider()
    try:
        found = adapter.parse_webhook(body, headers)
    except WebhookRefused as refused:
        with models.action():
            audit("identification.webhook_refused", actor="identification-provider", reason=refused.code)
        return refused.code, refused.status
    with models.action():
        outcome, _row = M.record_result(found.event, found.session, found.result, found.reason,
                                        provider=adapter.name, links=links())
        if outcome == M.UNKNOWN_SESSION:
            audit("identification.webhook_unknown_session", actor="identification-provider", event=found.event[:100])
    return outcome, WEBHOOK_STATUS[outcome]


# --- Staff ---------------------------------------------------------------------------------------------

@bp.route("/staff/identifications")
@staff_required("consultant")
def queue():
    """Identifications to look at: failed, asked to repeat, or unfinished for too long."""
    pages = page_of(staff_scope(M.review_queue(), Identification, signed_in_user()), rules.QUEUE_PAGE_SIZE * 2)
    return render("identification/staff_queue.html", "identification/_staff_rows.html", pages=pages)


def _staff_one_or_404(identification_id):
    row = staff_scope(Identification.select().where(Identification.id == identification_id), Identification,
                      signed_in_user()).first()
    if row is None:
        abort(404)  # none, or another consultant's client (rules.staff)
    return row


register_queue("identifications", _l("Identifications to look at"),
               lambda user: staff_scope(M.review_queue(), Identification, user).count(), "identification.queue")


def _staff_page(row, status=200, **forms):
    forms = {"decision": DecisionForm(prefix="decision"), "in_person": InPersonForm(prefix="in_person"),
             "video": VideoForm(prefix="video"), **forms}
    application = Application.get_by_id(row.application_id)
    errors = [f for f in forms.values() if f.errors]
    return render("identification/staff_one.html", status=status, row=row, application=application,
                  client=models.Client.get_by_id(row.client_id), others=M.of_application(row.application_id),
                  forms=forms, failed=errors[0] if errors else None)


@bp.route("/staff/identifications/<int:identification_id>")
@staff_required("consultant")
def staff_one(identification_id):
    return _staff_page(_staff_one_or_404(identification_id))


@bp.route("/staff/identifications/<int:identification_id>/result", methods=["POST"])
@staff_required("consultant")
def decide(identification_id):
    """A result by hand (passed, failed, repeat) with its reason."""
    row = _staff_one_or_404(identification_id)
    form = DecisionForm(prefix="decision")
    if not form.validate_on_submit():
        return _staff_page(row, 422, decision=form)
    with models.action():
        row.decide(form.status.data, signed_in_user(), form.reason.data.strip(), links=links())
    flash(_("The result was recorded: %(status)s.", status=R.STATUS_LABELS[row.status]), "success")
    return see_other("identification.staff_one", identification_id=row.id)


@bp.route("/staff/identifications/<int:identification_id>/in-person", methods=["POST"])
@staff_required("consultant")
def in_person(identification_id):
    """The person must identify in person (told by e-mail and SMS)."""
    row = _staff_one_or_404(identification_id)
    form = InPersonForm(prefix="in_person")
    if not form.validate_on_submit():
        return _staff_page(row, 422, in_person=form)
    with models.action():
        row.require_in_person(signed_in_user(), form.reason.data.strip())
    flash(_("The person is asked to identify in person."), "success")
    return see_other("identification.staff_one", identification_id=row.id)


@bp.route("/staff/identifications/<int:identification_id>/video", methods=["POST"])
@staff_required("consultant")
def video(identification_id):
    """A video identification at the agreed time, inside working hours."""
    row = _staff_one_or_404(identification_id)
    form = VideoForm(prefix="video")
    if not form.validate_on_submit():
        return _staff_page(row, 422, video=form)
    with models.action():
        found = row.ask_for_video(signed_in_user(), form.when_utc, form.reason.data.strip(), links=links())
    flash(_("The video identification is agreed; the person is told."), "success")
    return see_other("identification.staff_one", identification_id=found.id)


@bp.route("/staff/identifications/<int:identification_id>/<any(document_photo, selfie):which>")
@staff_required("consultant")
def staff_file(identification_id, which):
    """The provider's photo (staff reading it is recorded)."""
    row = _staff_one_or_404(identification_id)
    file_id = getattr(row, f"{which}_id")
    if file_id is None:
        abort(404)
    with models.action():
        audit("identification.photo_viewed", user=signed_in_user(), identification=row.id, file=file_id)
    return uploading.send_stored(models.StoredFile.get_by_id(file_id))
