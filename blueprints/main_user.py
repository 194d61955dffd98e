"""Becoming a company's main user (CMP-2, CMP-3, STF-7; issue 13, seed 000): remotely, when the person signed in with
e-identity and the company-register data shows them signing for the company alone; or by
uploading a signed authorisation that staff (supervisors and above) verify in their queue.

Who may ask: whoever acts for a company without main-user rights — its registrant, or a
colleague (``rules.register.may_ask_for_main_user``) — and, by e-identity, anyone the register
shows signing alone for a company, even one the portal does not know yet: that company becomes a
client, named as the register names it (``models.register.become_main_user``).
"""
from flask import Blueprint, abort, flash, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l

import models
import rules
import uploads
from blueprints import (audit, clients_only, memberships, page_of, render, see_other, signed_in_user,
                        staff_required, trusted_session, uploading)
from blueprints.queues import client_filter, register_queue
from forms.main_user import (AuthorisationForm, BecomeMainUserForm, GrantAfterVisitForm, MainUserDecisionForm,
                             RemoveMainUserForm)
from models.register import (MainUserRequest, Refused, become_main_user, companies_of, find_companies, find_person,
                             grant_after_visit, main_users_of, remove_main_user, standing, waiting_count)
from rules import company as C
from rules import register as R

bp = Blueprint("main_user", __name__)


def _asking_membership_or_404(client_id):
    """The signed-in user's live membership of a company they may ask main-user rights of
    (one this session may act for), else 404: another company looks like a missing page."""
    membership = next((m for m in memberships() if m.client_id == client_id), None)
    if membership is None or not R.may_ask_for_main_user(membership.role, membership.client.is_legal):
        abort(404)
    return membership


def _has_identity(user):
    return models.DigitalIdentity.select().where(models.DigitalIdentity.user == user).exists()


def _trusted(user):
    """This session signed in with e-identity, as the person linked to the account."""
    return trusted_session() and _has_identity(user)


def dashboard_context():
    """What the dashboard shows of main-user rights: the companies the user registered (what
    happens next), and (in an e-identity session) the companies the register shows them
    representing."""
    user = signed_in_user()
    if user.is_staff:
        return {}
    # The registrant is told what happens next; a colleague (whose company has a main user) is
    # not nagged, and reaches the page from the register list when the register shows them.
    asking = [m for m in memberships() if m.role == rules.REGISTRANT]
    # A colleague may widen their access with a power of attorney (blueprints/power_of_attorney.py).
    attorney = [m for m in memberships() if m.role == rules.COLLEAGUE and m.client.is_legal]
    return {"asking_memberships": asking, "attorney_memberships": attorney,
            "register_companies": companies_of(user, memberships=memberships()) if _trusted(user) else []}


def _show(membership, eid_form=None, upload_form=None, outcome=None, status=200):
    user = signed_in_user()
    trusted = _trusted(user)
    client = membership.client
    if outcome is None and trusted and client.registration_number:
        outcome, _rows = standing(user, client.registration_number)
    latest = (MainUserRequest.select().where(MainUserRequest.user == user, MainUserRequest.client == client)
              .order_by(MainUserRequest.id.desc()).first())
    return render("main_user/show.html", status=status, membership=membership, client=client, trusted=trusted,
                  outcome=outcome, latest=latest, eid_form=eid_form or BecomeMainUserForm(),
                  upload_form=upload_form or AuthorisationForm(), policy=R.AUTHORISATION_POLICY,
                  here=url_for("main_user.show", client_id=client.id))


@bp.route("/companies/<int:client_id>/main-user")
@clients_only()
def show(client_id):
    """What happens next for a company without a main user: confirm by e-identity against the
    register, or upload a signed authorisation; and the state of a request sent."""
    return _show(_asking_membership_or_404(client_id))


def _became_main(membership):
    session["client_id"] = membership.client_id
    flash(_("You are now the main user of %(company)s: you can give your colleagues access.",
            company=membership.client.name), "success")
    return see_other("main.dashboard")


@bp.route("/companies/<int:client_id>/main-user/eid", methods=["POST"])
@clients_only()
def confirm_by_eid(client_id):
    """Become the main user by e-identity: the register must show this person signing alone."""
    membership = _asking_membership_or_404(client_id)
    user = signed_in_user()
    form = BecomeMainUserForm()
    if not _trusted(user):
        flash(_("Sign in with e-identity first: then we can check the company register."), "error")
        return see_other("main_user.show", client_id=client_id)
    if not form.validate_on_submit():
        return _show(membership, eid_form=form, status=422)
    number = membership.client.registration_number or R.registration_number(form.registration_number.data or "")
    if not number:
        form.registration_number.errors.append(_("Enter the company's registration number: 11 digits."))
        return _show(membership, eid_form=form, status=422)
    try:
        with models.action():
            became = become_main_user(user, number, membership)
            audit("main_user.confirmed_by_register", user=user, client=membership.client_id,
                  registration_number=number)
    except Refused as refusal:
        with models.action():
            audit("main_user.register_refused", user=user, client=membership.client_id,
                  registration_number=number, outcome=refusal.outcome)
        return _show(membership, eid_form=form, outcome=refusal.outcome, status=422)
    return _became_main(became)


@bp.route("/main-user/register/<number>", methods=["POST"])
@clients_only()
def become(number):
    """Become the main user of a company the register shows this person signing alone for,
    from the dashboard's list (the company made a client when the portal does not know it)."""
    number = R.registration_number(number)
    user = signed_in_user()
    if number is None or not _trusted(user):
        abort(404)
    form = BecomeMainUserForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with models.action():
            became = become_main_user(user, number)
            audit("main_user.confirmed_by_register", user=user, client=became.client_id, registration_number=number)
    except Refused as refusal:
        with models.action():
            audit("main_user.register_refused", user=user, registration_number=number, outcome=refusal.outcome)
        flash(R.OUTCOMES[refusal.outcome], "error")
        return see_other("main.dashboard")
    return _became_main(models.Membership.select(models.Membership, models.Client).join(models.Client)
                        .where(models.Membership.id == became.id).get())


@bp.route("/companies/<int:client_id>/main-user/authorisation", methods=["POST"])
@clients_only()
@uploading.accepts_uploads(R.AUTHORISATION_POLICY)
def upload(client_id):
    """Ask staff for main-user rights with a signed authorisation (one waiting request at a time)."""
    membership = _asking_membership_or_404(client_id)
    user = signed_in_user()
    form = AuthorisationForm()
    if MainUserRequest.waiting_one(user, membership.client):
        flash(_("Your request is already waiting for our staff."), "info")
        return see_other("main_user.show", client_id=client_id)
    if form.validate_on_submit():
        files = [f for f in (form.files.data or []) if f is not None and getattr(f, "filename", None)]
        if not files:
            form.files.errors = [_("Choose the file of the signed authorisation.")]
        else:
            try:
                with uploads.atomic():
                    [stored] = uploads.store_files(files, R.AUTHORISATION_POLICY, user, membership.client)
                    request_row = MainUserRequest.create(client=membership.client, user=user, stored_file=stored)
                    audit("main_user.requested", user=user, client=membership.client_id, request=request_row.id)
            except uploads.UploadRefused as refusal:
                form.files.errors = list(form.files.errors) + refusal.messages
            else:
                flash(_("Thank you: our staff will verify the authorisation and we will let you know."), "success")
                return see_other("main_user.show", client_id=client_id)
    return _show(membership, upload_form=form, status=422 if request.method == "POST" else 200)


# --- Staff: the queue of requests ---------------------------------------------------------------

register_queue("main_user_requests", _l("Main-user requests"), lambda user: waiting_count(),
               "main_user.queue", role="supervisor")


@bp.route("/staff/main-user-requests")
@staff_required("supervisor")
def queue():
    """Requests for main-user rights waiting for a decision, oldest first."""
    query, client_id = MainUserRequest.queue(), client_filter()
    if client_id:
        query = query.where(MainUserRequest.client == client_id)
    pages = page_of(query, rules.QUEUE_PAGE_SIZE * 2)
    return render("main_user/staff_queue.html", "main_user/_staff_rows.html", pages=pages, client_id=client_id)


def _request_or_404(request_id):
    found = (MainUserRequest.select(MainUserRequest, models.Client).join(models.Client)
             .where(MainUserRequest.id == request_id).first())
    if found is None:
        abort(404)
    return found


def _staff_page(found, form, status=200):
    number = found.client.registration_number
    outcome, rows = standing(found.user, number) if number else (None, [])
    return render("main_user/staff_request.html", status=status, found=found, form=form, outcome=outcome,
                  register_rows=rows, stored=models.StoredFile.get_by_id(found.stored_file_id))


@bp.route("/staff/main-user-requests/<int:request_id>")
@staff_required("supervisor")
def staff_request(request_id):
    """One request: who asks for which company, the authorisation, what the register shows."""
    return _staff_page(_request_or_404(request_id), MainUserDecisionForm())


@bp.route("/staff/main-user-requests/<int:request_id>/file")
@staff_required("supervisor")
def staff_file(request_id):
    """The signed authorisation (staff reading a client's file is recorded, as for documents)."""
    found = _request_or_404(request_id)
    with models.action():
        audit("main_user.file_downloaded", user=signed_in_user(), request=found.id, file=found.stored_file_id)
    return uploading.send_stored(models.StoredFile.get_by_id(found.stored_file_id))


@bp.route("/staff/main-user-requests/<int:request_id>", methods=["POST"])
@staff_required("supervisor")
def decide(request_id):
    """Grant or refuse, with a note the client reads; the client is told by e-mail (and SMS)."""
    found = _request_or_404(request_id)
    form = MainUserDecisionForm()
    if not form.validate_on_submit():
        return _staff_page(found, form, 422)
    grant, note = form.decision.data == "grant", (form.note.data or "").strip()
    staff = signed_in_user()
    with models.action():
        done = found.decide(grant, staff, note)
        if done:
            audit("main_user.granted" if grant else "main_user.refused", user=staff, actor="staff",
                  request=found.id, client=found.client_id, client_user=found.user_id)
    if not done:
        flash(_("Someone has already decided about this request, or the person no longer acts for the company."),
              "error")
    else:
        flash(_("Main-user rights granted.") if grant else _("The request was refused."), "success")
    return see_other("main_user.queue")




# --- Staff: main-user rights after a visit, and taking them away (CMP-2, STF-7) ----------------

@bp.route("/staff/main-users")
@staff_required("supervisor")
def staff_companies():
    """Find a company client by registration number or name, to grant (or take away) main-user
    rights after the person's visit; the queue of requests links here."""
    text = request.args.get("q", "").strip()
    text = text if len(text) <= 200 and "\x00" not in text else ""
    found = find_companies(text) if text else []
    return render("main_user/staff_companies.html", "main_user/_staff_companies.html", q=text, found=found)


def _company_or_404(client_id):
    client = models.Client.get_or_none(models.Client.id == client_id)
    if client is None or not client.is_legal:
        abort(404)
    return client


def _removal_form(membership, submitted=False):
    """Each main user's removal form on the page has its own field names (and ids)."""
    prefix = f"main-user-{membership.id}"
    return RemoveMainUserForm(prefix=prefix) if submitted else RemoveMainUserForm(formdata=None, prefix=prefix)


def _company_page(client, grant_form=None, removal=None, status=200):
    """``removal``: (membership id, its submitted form with errors)."""
    mains = main_users_of(client.id)
    forms = {m.id: removal[1] if removal and removal[0] == m.id else _removal_form(m) for m in mains}
    waiting = list(MainUserRequest.select(MainUserRequest, models.User).join(models.User)
                   .where(MainUserRequest.client == client.id, MainUserRequest.status == R.WAITING)
                   .order_by(MainUserRequest.created_at))
    return render("main_user/staff_company.html", status=status, client=client, mains=mains,
                  removal_forms=forms, grant_form=grant_form or GrantAfterVisitForm(), waiting=waiting)


@bp.route("/staff/main-users/<int:client_id>")
@staff_required("supervisor")
def staff_company(client_id):
    """One company's main users (each with "take the rights away"), its waiting requests, and
    the form to grant main-user rights to a person after a visit."""
    return _company_page(_company_or_404(client_id))


@bp.route("/staff/main-users/<int:client_id>", methods=["POST"])
@staff_required("supervisor")
def grant_at_visit(client_id):
    """Grant main-user rights to a registered person found by e-mail or personal code, with a
    note of what was checked; audited, and the person told by e-mail."""
    client = _company_or_404(client_id)
    form = GrantAfterVisitForm()
    if not form.validate_on_submit():
        return _company_page(client, grant_form=form, status=422)
    person, outcome = find_person(form.person.data)
    if person is None:
        form.person.errors = [*form.person.errors, R.PERSON_MESSAGES[outcome]]
        return _company_page(client, grant_form=form, status=422)
    note = form.note.data.strip()
    staff = signed_in_user()
    with models.action():
        grant_after_visit(person, client, note)
        audit("main_user.granted_at_visit", user=staff, actor="staff", client=client.id, client_user=person.id,
              note=note)
    flash(_("%(person)s is now a main user of %(company)s.", person=person.display_name,
            company=client.name or client.registration_number or ""), "success")
    return see_other("main_user.staff_company", client_id=client.id)


@bp.route("/staff/main-users/<int:client_id>/<int:membership_id>/remove", methods=["POST"])
@staff_required("supervisor")
def remove(client_id, membership_id):
    """Take main-user rights away (the person becomes a colleague with the other rights); the
    last main user only when staff tick that the company is left without one."""
    client = _company_or_404(client_id)
    membership = next((m for m in main_users_of(client.id) if m.id == membership_id), None)
    if membership is None:
        abort(404)
    form = _removal_form(membership, submitted=True)
    if not form.validate_on_submit():
        return _company_page(client, removal=(membership.id, form), status=422)
    note = form.note.data.strip()
    with models.action():
        refused = remove_main_user(membership, note, last_confirmed=form.last_confirmed.data)
        if not refused:
            audit("main_user.removed", user=signed_in_user(), actor="staff", client=client.id,
                  client_user=membership.user_id, note=note, last=form.last_confirmed.data)
    if refused == C.LAST_MAIN_USER:
        form.last_confirmed.errors = [*form.last_confirmed.errors, C.REFUSAL_MESSAGES[C.LAST_MAIN_USER],
                                      _("Tick the box if the company really is to be left without one.")]
        return _company_page(client, removal=(membership.id, form), status=422)
    if refused:
        abort(404)
    flash(_("Main-user rights taken away: %(person)s is now a colleague.", person=membership.user.display_name),
          "success")
    return see_other("main_user.staff_company", client_id=client.id)
