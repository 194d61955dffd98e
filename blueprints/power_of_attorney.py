"""Powers of attorney (issue 13, seed 003, CMP-9): a person uploads a signed power of attorney for a
company they act for (``/companies/<id>/power-of-attorney``) or for one they do not act for yet, by
its registration number (``/power-of-attorney``), with the rights it grants; staff (supervisors and
above) verify it in their queue, setting its validity and the rights it really grants, or refuse it
with a note; the person is told. The access it gave ends by itself when it expires
(``models.expire_powers_of_attorney``). The decisions about newcomers and revoked memberships are
in ``models/power_of_attorney.py``."""
from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l

import models
import rules
import uploads
from blueprints import audit, clients_only, memberships, page_of, render, see_other, signed_in_user, staff_required
from blueprints import uploading
from blueprints.queues import client_filter, register_queue
from forms.power_of_attorney import PowerOfAttorneyByNumberForm, PowerOfAttorneyDecisionForm, PowerOfAttorneyForm
from models.power_of_attorney import PowerOfAttorney, company_by_number
from rules import register as R

bp = Blueprint("power_of_attorney", __name__)
POLICY = R.AUTHORISATION_POLICY  # one signed document, as the main-user authorisation


def _membership_or_404(client_id):
    """The signed-in user's live membership of a company (one this session may act for), else 404."""
    membership = next((m for m in memberships() if m.client_id == client_id), None)
    if membership is None or not membership.client.is_legal:
        abort(404)
    return membership


def _show(membership, form=None, status=200):
    user = signed_in_user()
    mine = list(PowerOfAttorney.select().where(PowerOfAttorney.user == user,
                                                PowerOfAttorney.client == membership.client_id)
                .order_by(PowerOfAttorney.id.desc()).limit(20))
    return render("power_of_attorney/show.html", status=status, membership=membership, client=membership.client,
                  form=form or PowerOfAttorneyForm(), mine=mine, policy=POLICY,
                  here=url_for("power_of_attorney.show", client_id=membership.client_id))


@bp.route("/companies/<int:client_id>/power-of-attorney")
@clients_only()
def show(client_id):
    """The person's powers of attorney for the company, and the form to send one."""
    return _show(_membership_or_404(client_id))


@bp.route("/companies/<int:client_id>/power-of-attorney", methods=["POST"])
@clients_only()
@uploading.accepts_uploads(POLICY)
def upload(client_id):
    """Send a signed power of attorney with the rights it grants (one waiting at a time)."""
    membership = _membership_or_404(client_id)
    user = signed_in_user()
    form = PowerOfAttorneyForm()
    if PowerOfAttorney.waiting_one(user, membership.client):
        flash(_("Your power of attorney is already waiting for our staff."), "info")
        return see_other("power_of_attorney.show", client_id=client_id)
    if form.validate_on_submit():
        files = [f for f in (form.files.data or []) if f is not None and getattr(f, "filename", None)]
        if not files:
            form.files.errors = [_("Choose the file of the signed power of attorney.")]
        else:
            try:
                with uploads.atomic():
                    [stored] = uploads.store_files(files, POLICY, user, membership.client)
                    row = PowerOfAttorney.create(client=membership.client, user=user, stored_file=stored,
                                                 rights=",".join(form.rights))
                    audit("power_of_attorney.uploaded", user=user, client=client_id, power_of_attorney=row.id)
            except uploads.UploadRefused as refusal:
                form.files.errors = list(form.files.errors) + refusal.messages
            else:
                flash(_("Thank you: our staff will verify the power of attorney and we will let you know."),
                      "success")
                return see_other("power_of_attorney.show", client_id=client_id)
    return _show(membership, form=form, status=422 if request.method == "POST" else 200)


# --- For a company the person does not act for yet ------------------------------------------------

class _NoSuchCompany(Exception):
    """No client and no register row has the number: nothing is stored."""


class _AlreadyWaiting(Exception):
    """The person's power of attorney for the company is waiting already: nothing is stored."""


def _show_mine(form=None, status=200):
    user = signed_in_user()
    mine = list(PowerOfAttorney.select(PowerOfAttorney, models.Client).join(models.Client)
                .where(PowerOfAttorney.user == user).order_by(PowerOfAttorney.id.desc()).limit(20))
    return render("power_of_attorney/index.html", status=status, form=form or PowerOfAttorneyByNumberForm(),
                  mine=mine, policy=POLICY)


@bp.route("/power-of-attorney")
@clients_only()
def index():
    """The person's powers of attorney for every company, and the form to send one for a company
    named by its registration number (one they do not act for yet, or any)."""
    return _show_mine()


@bp.route("/power-of-attorney", methods=["POST"])
@clients_only()
@uploading.accepts_uploads(POLICY)
def upload_by_number():
    """Send a signed power of attorney for a company found by its registration number (among the
    clients, or in the company-register data: see ``company_by_number``); one waiting per company."""
    user = signed_in_user()
    form = PowerOfAttorneyByNumberForm()
    if form.validate_on_submit():
        files = [f for f in (form.files.data or []) if f is not None and getattr(f, "filename", None)]
        if not files:
            form.files.errors = [_("Choose the file of the signed power of attorney.")]
            return _show_mine(form, 422)
        number = R.registration_number(form.registration_number.data)
        try:
            with uploads.atomic():
                company = company_by_number(number)
                if company is None:
                    raise _NoSuchCompany
                if PowerOfAttorney.waiting_one(user, company):
                    raise _AlreadyWaiting
                [stored] = uploads.store_files(files, POLICY, user, company)
                row = PowerOfAttorney.create(client=company, user=user, stored_file=stored,
                                             rights=",".join(form.rights))
                audit("power_of_attorney.uploaded", user=user, client=company.id, power_of_attorney=row.id,
                      registration_number=number)
        except _NoSuchCompany:
            form.registration_number.errors = [_("We find no company with this registration number among our "
                                                 "clients or in the company register data we hold.")]
        except _AlreadyWaiting:
            flash(_("Your power of attorney is already waiting for our staff."), "info")
            return see_other("power_of_attorney.index")
        except uploads.UploadRefused as refusal:
            form.files.errors = list(form.files.errors) + refusal.messages
        else:
            flash(_("Thank you: our staff will verify the power of attorney and we will let you know."), "success")
            return see_other("power_of_attorney.index")
    return _show_mine(form, 422 if request.method == "POST" else 200)


# --- Staff: the queue ---------------------------------------------------------------------------

register_queue("powers_of_attorney", _l("Powers of attorney to verify"),
               lambda user: PowerOfAttorney.queue().count(), "power_of_attorney.queue", role="supervisor")


@bp.route("/staff/powers-of-attorney")
@staff_required("supervisor")
def queue():
    """Powers of attorney waiting to be verified, oldest first."""
    query, client_id = PowerOfAttorney.queue(), client_filter()
    if client_id:
        query = query.where(PowerOfAttorney.client == client_id)
    pages = page_of(query, rules.QUEUE_PAGE_SIZE * 2)
    return render("power_of_attorney/staff_queue.html", "power_of_attorney/_staff_rows.html", pages=pages,
                  client_id=client_id)


def _one_or_404(poa_id):
    found = (PowerOfAttorney.select(PowerOfAttorney, models.Client).join(models.Client)
             .where(PowerOfAttorney.id == poa_id).first())
    if found is None:
        abort(404)
    return found


def _staff_page(found, form, status=200):
    member = models.Membership.get_or_none(models.Membership.user == found.user_id,
                                           models.Membership.client == found.client_id)
    return render("power_of_attorney/staff_one.html", status=status, found=found, form=form, member=member,
                  stored=models.StoredFile.get_by_id(found.stored_file_id))


@bp.route("/staff/powers-of-attorney/<int:poa_id>")
@staff_required("supervisor")
def staff_one(poa_id):
    """One power of attorney: who, for which company, what it grants, the file."""
    found = _one_or_404(poa_id)
    return _staff_page(found, PowerOfAttorneyDecisionForm.for_request(found))


@bp.route("/staff/powers-of-attorney/<int:poa_id>/file")
@staff_required("supervisor")
def staff_file(poa_id):
    """The signed power of attorney (staff reading a client's file is recorded)."""
    found = _one_or_404(poa_id)
    with models.action():
        audit("power_of_attorney.file_downloaded", user=signed_in_user(), power_of_attorney=found.id,
              file=found.stored_file_id)
    return uploading.send_stored(models.StoredFile.get_by_id(found.stored_file_id))


@bp.route("/staff/powers-of-attorney/<int:poa_id>", methods=["POST"])
@staff_required("supervisor")
def decide(poa_id):
    """Verify (with its validity: the rights are granted) or refuse with a note; the person is told."""
    found = _one_or_404(poa_id)
    form = PowerOfAttorneyDecisionForm()
    revoked = found.revoked_membership()
    if not (form.is_submitted() and form.validate(revoked=revoked is not None)):
        return _staff_page(found, form, 422)
    verify, note = form.decision.data == "verify", (form.note.data or "").strip()
    staff = signed_in_user()
    with models.action():
        done = found.decide(verify, staff, note, form.valid_from.data, form.valid_until.data,
                            rights=form.rights if verify else None)
        if done:
            extra = {"rights": form.rights, "revoked_before": True} if verify and revoked else (
                {"rights": form.rights} if verify else {})
            audit("power_of_attorney.verified" if verify else "power_of_attorney.refused", user=staff,
                  actor="staff", power_of_attorney=found.id, client=found.client_id, client_user=found.user_id,
                  **extra)
    if not done:
        flash(_("Someone has already decided about this power of attorney."), "error")
    else:
        flash(_("The power of attorney is verified.") if verify else _("The power of attorney was refused."),
              "success")
    return see_other("power_of_attorney.queue")


