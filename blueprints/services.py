"""The client's services (FIN-5, FIN-6; issue 15; seeds 000, 002, 003; DESIGN capability 6).

The client (membership right "services"): ``/services`` lists what the acting account holds —
permits, loans, guarantees, connections — with their status; ``/services/<id>`` shows one, a
loan's schedule of instalments, and the requests made about it with their status; a user who
may also submit documents sends a new request there (a document of the type "service_request",
which then moves through the documents workflow). Everything is reached through
``get_scoped_or_404`` / ``scoped``: another client's service is a 404, and a colleague limited to
own items reaches only the services assigned to them (``models.services.Service.OWNER_FIELD``).

Staff (``/staff/services``): pick a client, list their services, add or change one. Like
finance, for supervisors and administrators until clients are assigned to consultants (the
client 360 view of the back office will link here).
"""
from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from peewee import IntegrityError

import models
import rules
from blueprints import (HEADER_PARTS, acting_membership, audit, clients_only, get_scoped_or_404, keyset_page,
                        memberships, render, render_form, scoped, see_other, signed_in_user, staff_required)
from blueprints.finance import local_today
from forms.services import ServiceForm, ServiceRequestForm
from models.documents import TransitionRefused
from models.services import LIST_ORDER, Service, ServiceRequest
from rules import documents as D, services as S

bp = Blueprint("services", __name__)

SERVICES_STAFF_ROLE = "supervisor"  # consultants once clients are assigned to them
CLIENT_MATCHES = 20  # clients the staff picker shows for a search


@bp.context_processor
def _service_words():
    return {"S": S, "D": D}


def _services_link():
    """The header's services link, when the acting account has the right "services"."""
    if not current_user or not current_user.is_authenticated:
        return {"services_link": None}
    if current_user.is_staff:
        allowed = current_user.has_staff_role(SERVICES_STAFF_ROLE)
        return {"services_link": url_for("services.staff_index") if allowed else None}
    membership = acting_membership()
    return {"services_link": url_for("services.index") if membership and membership.allows("services") else None}


HEADER_PARTS.append(_services_link)


# --- The client's pages ----------------------------------------------------------------------

@bp.route("/services")
@clients_only("services.staff_index")
def index():
    """The acting account's services, newest first, a page at a time."""
    active = acting_membership("services")
    query = scoped(Service, "services", client_id=active.client_id)
    pages = keyset_page(query, LIST_ORDER, rules.LIST_PAGE_SIZE)
    return render("services/index.html", "services/_list.html", pages=pages, today=local_today(),
                  own_items_only=active.own_items_only)


def _may_request(service):
    """The signed-in client may send a request about ``service`` (which they reach already): their
    membership of its client lets them submit documents, and the service has not ended."""
    allowed = any(m.client_id == service.client_id and m.allows("submit") for m in memberships())
    return allowed and S.may_request(service.status)


def _request_form(service):
    form = ServiceRequestForm()
    form.kind.choices = [("", _("Choose…"))] + S.request_kinds(service.category)
    return form


@bp.route("/services/<int:service_id>")
@clients_only("services.staff_edit")
def show(service_id):
    """One service: its details, a loan's schedule, the requests about it and their status."""
    service = get_scoped_or_404(Service, service_id, "services")
    form = _request_form(service) if _may_request(service) else None
    return _show(service, form)


def _show(service, form, status=200):
    return render("services/show.html", "services/_requests.html", status=status, service=service,
                  schedule=service.schedule(), requests=service.requests(), today=local_today(), form=form)


@bp.route("/services/<int:service_id>/requests", methods=["POST"])
@clients_only()
def send_request(service_id):
    """Send a request about a service: a "service_request" document, submitted at once (status
    "In processing"), linked to the service. 404 unless the user reaches the service and may
    submit documents for the account."""
    service = get_scoped_or_404(Service, service_id, "services")
    if not _may_request(service):
        abort(404)
    form = _request_form(service)
    if form.validate_on_submit():
        user = signed_in_user()
        try:
            with models.action():
                made = ServiceRequest.submit(service, form.kind.data, form.details.data.strip(), user)
                audit("service.request_sent", user=user, client=service.client_id, service=service.id,
                      document=made.document_id)
        except TransitionRefused as refused:
            form.form_errors.append(refused.message)
        else:
            flash(_("Your request was sent (document Nr. %(number)d). We will let you know when it has "
                    "been processed.", number=made.document_id), "success")
            return see_other("services.show", service_id=service.id)
    return _show(service, form, status=422)


# --- Staff -----------------------------------------------------------------------------------------

def _clients_matching(text):
    """Clients a staff member looks for: by number, or by a part of the name (at most
    ``CLIENT_MATCHES``)."""
    text = (text or "").strip()[:100]
    if not text:
        return []
    number = rules.bounded_int(text, low=1)
    condition = models.Client.name.contains(text)
    if number is not None:
        condition |= models.Client.id == number
    return list(models.Client.select().where(condition).order_by(models.Client.name, models.Client.id)
                .limit(CLIENT_MATCHES))


@bp.route("/staff/services")
@staff_required(SERVICES_STAFF_ROLE)
def staff_index():
    """Pick a client (by number or name); their services, or everyone's newest first."""
    client_id = rules.bounded_int(request.args.get("client"), low=1)
    chosen = models.Client.get_or_none(models.Client.id == client_id) if client_id else None
    query = Service.select(Service, models.Client).join(models.Client)
    if chosen is not None:
        query = query.where(Service.client == chosen.id)
    pages = keyset_page(query, LIST_ORDER, rules.LIST_PAGE_SIZE)
    search = (request.args.get("q") or "").strip()[:100]
    return render("services/staff_index.html", pages=pages, today=local_today(), chosen=chosen,
                  search=search, matches=_clients_matching(search))


def _members(client):
    """The client's live users as the assignee choices: (user id, name or e-mail)."""
    rows = (models.User.select(models.User).join(models.Membership)
            .where(models.Membership.client == client, models.Membership.revoked_at.is_null())
            .order_by(models.User.full_name, models.User.id))
    return [(u.id, u.full_name or u.email) for u in rows]


def _save(form, service, client):
    """Create or change the service from a valid form; False (with the message on the number)
    when the client already has a service of that kind with that number."""
    staff = signed_in_user()
    values = {"category": form.category.data, "number": form.number.data.strip(),
              "name": (form.name.data or "").strip(), "status": form.status.data,
              "valid_from": form.valid_from.data, "valid_until": form.valid_until.data,
              "amount": form.parsed_amount, "note": (form.note.data or "").strip(),
              "assignee": form.assignee.data or None}
    taken = Service.select().where(Service.client == client, Service.category == values["category"],
                                   Service.number == values["number"])
    if service is not None:
        taken = taken.where(Service.id != service.id)
    taken_message = _("This client already has a service of this kind with this number.")
    if taken.exists():
        form.number.errors = list(form.number.errors) + [taken_message]
        return None
    try:
        with models.action():
            saved = Service.save_from(service, client, staff, values, form.instalments)
            audit("service.created" if service is None else "service.changed", user=staff, actor="staff",
                  client=client.id, service=saved.id, category=saved.category)
    except IntegrityError:  # the same number saved by someone else at this very moment
        form.number.errors = list(form.number.errors) + [taken_message]
        return None
    return saved


@bp.route("/staff/services/new", methods=["GET", "POST"])
@staff_required(SERVICES_STAFF_ROLE)
def staff_new():
    """Add a service to the client named by ``?client=``."""
    client_id = rules.bounded_int(request.args.get("client"), low=1)
    client = models.Client.get_or_none(models.Client.id == client_id) if client_id else None
    if client is None:
        abort(404)
    form = ServiceForm()
    form.set_assignees(_members(client))
    if form.validate_on_submit():
        saved = _save(form, None, client)
        if saved is not None:
            flash(_("Service %(number)s added.", number=saved.number), "success")
            return see_other("services.staff_edit", service_id=saved.id)
    return render_form("services/staff_service.html", form=form, client=client, service=None, requests=[])


@bp.route("/staff/services/<int:service_id>", methods=["GET", "POST"])
@staff_required(SERVICES_STAFF_ROLE)
def staff_edit(service_id):
    """One service: change it (its schedule too), and the client's requests about it."""
    service = Service.get_or_none(Service.id == service_id)
    if service is None:
        abort(404)
    client = service.client
    if request.method == "GET":
        form = ServiceForm(formdata=None, data={
            "category": service.category, "number": service.number, "name": service.name,
            "status": service.status, "valid_from": service.valid_from, "valid_until": service.valid_until,
            "amount": format(service.amount, "f").replace(".", ",") if service.amount is not None else "",
            "schedule": S.schedule_text([(i.due_on, i.amount) for i in service.schedule()]),
            "assignee": service.assignee_id or 0, "note": service.note})
    else:
        form = ServiceForm()
    form.set_assignees(_members(client))
    if form.validate_on_submit():
        saved = _save(form, service, client)
        if saved is not None:
            flash(_("Service %(number)s saved.", number=saved.number), "success")
            return see_other("services.staff_edit", service_id=saved.id)
    return render_form("services/staff_service.html", form=form, client=client, service=service,
                       requests=service.requests())
