"""The clients for staff (issue 15): the list with search, each client's 360° page, and the
consultant each client is assigned to (STF-11, STF-13).

A consultant lists and opens only the clients assigned to them (``models.scoping.staff_clients``,
the rule in ``rules.staff``); any other client is a 404. Supervisors and administrators see every
client and choose consultants, one client at a time on its page or several ticked on the list;
each change is one audit row about that client.
"""
from flask import Blueprint, abort, flash, request
from flask_babel import gettext as _

import models
import rules
from blueprints import audit, keyset_page, render_form, see_other, signed_in_user, staff_required
from forms.staff import NOBODY, ConsultantForm
from models import staff as backoffice
from models.paging import Keyset
from models.scoping import get_staff_client
from rules import audit as audit_words, onboarding, staff as staff_rules

bp = Blueprint("clients", __name__, url_prefix="/staff/clients")

CLIENT_ORDER = Keyset(models.Client.id)
SEARCH_MAX = 200
UNASSIGNED = "none"


def _search_text():
    value = request.args.get("q", "").strip()
    return value if len(value) <= SEARCH_MAX and "\x00" not in value else ""


def _consultant_filter(staff):
    """``?consultant=``: "none" (nobody assigned) or a consultant's id; supervisors only."""
    if not staff_rules.may_assign(staff.staff_role):
        return ""
    value = request.args.get("consultant", "")
    if value == UNASSIGNED:
        return value
    number = rules.bounded_int(value, None, low=1)
    return str(number) if number else ""


def _list(form=None):
    staff = signed_in_user()
    search, consultant = _search_text(), _consultant_filter(staff)
    query = backoffice.find_clients(staff, search)
    if consultant == UNASSIGNED:
        query = query.where(models.Client.consultant.is_null())
    elif consultant:
        query = query.where(models.Client.consultant == int(consultant))
    pages = keyset_page(query, CLIENT_ORDER, rules.LIST_PAGE_SIZE, endpoint=None)
    may_assign = staff_rules.may_assign(staff.staff_role)
    consultants = list(backoffice.consultants()) if may_assign else []
    if may_assign and form is None:
        form = ConsultantForm(formdata=None).with_consultants(consultants)
    return render_form("clients/index.html", "clients/_rows.html", form=form, pages=pages, search=search,
                       consultant=consultant, consultants=consultants, may_assign=may_assign,
                       names=backoffice.consultant_names(pages["rows"]), UNASSIGNED=UNASSIGNED)


@bp.route("")
@staff_required()
def index():
    """The clients the viewer reaches, newest first, a page at a time by key; search by name,
    registration number, a user's e-mail or a personal code."""
    return _list()


def _chosen_consultant(form):
    """The consultant the form names (None: nobody), or False when it names no active consultant."""
    if form.consultant.data == NOBODY:
        return None
    chosen = models.User.get_or_none(models.User.id == rules.bounded_int(form.consultant.data, 0))
    return chosen if chosen is not None and chosen.staff_role == "consultant" else False


def _assign(client_ids, form):
    """Assign in one transaction, with an audit row per client whose consultant changed."""
    staff = signed_in_user()
    consultant = _chosen_consultant(form)
    if consultant is False:
        form.consultant.errors.append(_("Choose a consultant."))
        return None
    with models.action():
        changed = backoffice.assign_consultant(client_ids, consultant, staff)
        for client in changed:
            audit("client.consultant_assigned", user=staff, actor="staff", client=client.id,
                  consultant=consultant.id if consultant else "", previous=client.consultant_id or "")
    return changed


@bp.route("/consultant", methods=["POST"])
@staff_required("supervisor")
def assign_bulk():
    """The ticked clients get the chosen consultant (or nobody)."""
    form = ConsultantForm().with_consultants(backoffice.consultants())
    form.bulk = True
    if form.validate_on_submit():
        changed = _assign(form.chosen_client_ids(), form)
        if changed is not None:
            flash(_("The consultant was changed for %(count)d client(s).", count=len(changed)), "success")
            return see_other("clients.index", **{k: v for k, v in request.args.items() if k in ("q", "consultant")})
    return _list(form)


def _client_or_404(client_id):
    found = get_staff_client(signed_in_user(), client_id)
    if found is None:
        abort(404)
    return found


def _show(client, form=None):
    staff = signed_in_user()
    may_assign = staff_rules.may_assign(staff.staff_role)
    if may_assign and form is None:
        form = ConsultantForm(formdata=None).with_consultants(backoffice.consultants())
        form.consultant.data = str(client.consultant_id or NOBODY)
    return render_form("clients/show.html", form=form, client=client, may_assign=may_assign,
                       action_label=audit_words.action_label, onboarding=onboarding,
                       **backoffice.client_overview(client, staff))


@bp.route("/<int:client_id>")
@staff_required()
def show(client_id):
    """A client at a glance: profile, users, applications, documents, messages, invoices and
    history, a few rows of each with links to the staff pages."""
    return _show(_client_or_404(client_id))


@bp.route("/<int:client_id>/consultant", methods=["POST"])
@staff_required("supervisor")
def assign(client_id):
    """Choose this client's consultant (or nobody)."""
    client = _client_or_404(client_id)
    form = ConsultantForm().with_consultants(backoffice.consultants())
    if form.validate_on_submit():
        changed = _assign([client.id], form)
        if changed is not None:
            flash(_("The consultant was changed.") if changed else _("Nothing changed."), "success")
            return see_other("clients.show", client_id=client.id)
    return _show(client, form)
