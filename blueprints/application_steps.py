"""The later stages of an onboarding application, on the applications blueprint (seed 004 §6–12;
docs/requirements.md ONB-10, ONB-11, ONB-14 to ONB-16).

Staff (``/staff/applications``): the submitted applications with filters by current stage and by
service, paged by key; one application with its answers, the stage pipeline
(``rules.onboarding.stages``), the client's documents the documents stage reads, the fee invoice
(issued here, linked to the application) and the decisions per service (recorded here: one
transaction, audited, the client told by e-mail — and SMS when negative).

Client: the decisions on the application's page, each as a PDF; a service added later (seed 004
§12): chosen on a submitted application's page, it starts a new application from the same
answers, which the client checks and submits as any other.
"""
from flask import abort, current_app, flash, request
from flask_babel import gettext as _, lazy_gettext as _l

import models
import rules
from blueprints import (acting_membership, audit, clients_only, get_scoped_or_404, keyset_page, render,
                        render_form, see_other, signed_in_user, staff_required)
from blueprints.applications import PERMISSION, _stored_form, bp
from blueprints.documents.pdf import new_pdf
from blueprints.finance import FINANCE_STAFF_ROLE, local_today
from blueprints.queues import register_queue
from forms.applications import summary
from forms.decisions import AddServiceForm, DecisionForm, FeeInvoiceForm
from models.applications import Application, ApplicationRefused
from models.decisions import (FINISHED, ApplicationDecision, DecisionRefused, add_service, decisions_of,
                              earlier_stages_open, fee_invoices, issue_fee, newest_documents, record_decision,
                              refresh_stage, services_to_add)
from models.paging import Keyset
from models.scoping import staff_scope
from rules import decisions as DR
from rules import documents as D
from rules import finance as F
from rules import onboarding as O

STAFF_ROLE = "consultant"  # their assigned clients' applications (rules.staff); supervisors see all
LIST_ORDER = Keyset(Application.id)
# The stages a submitted application can be at (the list's filter), and "finished".
STAGE_FILTERS = tuple(code for code in O.STAGE_ORDER if code != O.INITIAL) + (FINISHED,)


@bp.app_context_processor
def _decision_words():
    return {"DR": DR, "F": F, "FINISHED": FINISHED}


def stage_filter_label(code):
    return _("Finished") if code == FINISHED else O.STAGE_LABELS[code]


# --- Staff: the list -----------------------------------------------------------------------------

@bp.route("/staff/applications")
@staff_required(STAFF_ROLE)
def staff_index():
    """Submitted applications, newest first, filtered by current stage (``?stage=``) and by
    service (``?service=``); a draft is still the client's own and is not listed."""
    stage = request.args.get("stage", "")
    stage = stage if stage in STAGE_FILTERS else ""
    service = request.args.get("service", "")
    service = service if service in O.SERVICE_LABELS else ""
    query = staff_scope(Application.select(Application, models.Client).join(models.Client)
                        .where(Application.status == O.SUBMITTED), Application, signed_in_user())
    if stage:
        query = query.where(Application.stage == stage)
    if service:
        # ``services`` is a JSON list of codes; a code in quotes names exactly that service.
        query = query.where(Application.services.contains(f'"{service}"'))
    pages = keyset_page(query, LIST_ORDER, rules.LIST_PAGE_SIZE)
    return render("applications/staff_index.html", "applications/_staff_rows.html", pages=pages,
                  stage=stage, service=service, stages=[(c, stage_filter_label(c)) for c in STAGE_FILTERS],
                  services=list(O.SERVICE_LABELS.items()))


def _in_progress(user):
    """Submitted applications of the staff member's clients that are not finished (the queue's count)."""
    return staff_scope(Application.select().where(Application.status == O.SUBMITTED, Application.stage != FINISHED),
                       Application, user).count()


register_queue("applications", _l("Applications in progress"), _in_progress, "applications.staff_index")


# --- Staff: one application ------------------------------------------------------------------------

def _staff_application(application_id):
    found = staff_scope(Application.select().where(Application.id == rules.bounded_int(application_id, 0)),
                        Application, signed_in_user()).first()
    if found is None or found.is_draft:
        abort(404)  # a draft is the client's own until submitted
    refresh_stage(found)
    return found


def _staff_context(application, decision_form=None, fee_form=None):
    decisions = decisions_of(application)
    decided = {(d.service, d.question) for d in decisions}
    has_fee = bool(O.FEE_SERVICES & set(application.services))
    may_issue = has_fee and signed_in_user().has_staff_role(FINANCE_STAFF_ROLE)
    sections = summary(_stored_form(application))
    sections[0] = {**sections[0], "title": _("The client's answers")}  # not "Your answers", as the client reads
    return {"application": application, "sections": sections,
            "documents": newest_documents(application.client_id, DR.required_documents(application.kind)),
            "required_documents": DR.required_documents(application.kind), "D": D,
            "invoices": fee_invoices(application), "today": local_today(), "decisions": decisions,
            "earlier_open": earlier_stages_open(application),
            "decision_form": decision_form or DecisionForm(formdata=None).set_services(application.services, decided),
            "fee_form": (fee_form or FeeInvoiceForm(formdata=None)) if may_issue else None,
            "has_fee": has_fee}


@bp.route("/staff/applications/<int:application_id>")
@staff_required(STAFF_ROLE)
def staff_show(application_id):
    """An application for staff: the answers, the stages, documents, fee invoice, decisions."""
    application = _staff_application(application_id)
    return render("applications/staff_show.html", "applications/_staff_progress.html",
                  **_staff_context(application))


@bp.route("/staff/applications/<int:application_id>/decisions", methods=["POST"])
@staff_required(STAFF_ROLE)
def staff_decide(application_id):
    """Record one decision (seed 004 §9–11). Without JavaScript 303 to the application; with
    htmx the stages-and-decisions fragment; a refused one comes back with 422 and the message."""
    application = _staff_application(application_id)
    decided = {(d.service, d.question) for d in decisions_of(application)}
    form = DecisionForm().set_services(application.services, decided)
    if form.validate_on_submit():
        try:
            record_decision(application, form.service, form.code, signed_in_user(), reason=form.reason.data,
                            earlier_checked=form.earlier_checked.data, ip=request.remote_addr or "",
                            user_agent=request.headers.get("User-Agent", ""))
        except DecisionRefused as refused:
            getattr(form, refused.field or "decision").errors.append(refused.message)
        else:
            flash(_("The decision is recorded and the client is told."), "success")
            return see_other("applications.staff_show", application_id=application.id)
    application = _staff_application(application_id)
    return render("applications/staff_show.html", "applications/_staff_progress.html", status=422,
                  **_staff_context(application, decision_form=form))


@bp.route("/staff/applications/<int:application_id>/fee", methods=["POST"])
@staff_required(FINANCE_STAFF_ROLE)
def staff_issue_fee(application_id):
    """Issue the commission fee's invoice of the application (stage 4, seed 004 §7)."""
    application = _staff_application(application_id)
    if not O.FEE_SERVICES & set(application.services):
        abort(404)
    form = FeeInvoiceForm()
    if form.validate_on_submit():
        staff = signed_in_user()
        with models.action():
            invoice = issue_fee(application, staff, form.amount.amount, form.due_on.data,
                                form.description.data.strip(), issued_on=local_today())
            audit("invoice.issued", user=staff, actor="staff", invoice=invoice.id, number=invoice.number,
                  client=application.client_id, amount=str(invoice.amount), application=application.id)
        flash(_("Invoice %(number)s issued.", number=invoice.number), "success")
        return see_other("applications.staff_show", application_id=application.id, _anchor="fee")
    return render_form("applications/staff_show.html", form=form, **_staff_context(application, fee_form=form))


@bp.route("/staff/applications/<int:application_id>/decisions/<int:decision_id>.pdf")
@staff_required(STAFF_ROLE)
def staff_decision_pdf(application_id, decision_id):
    application = _staff_application(application_id)
    return _decision_response(application, decision_id)


# --- The client ------------------------------------------------------------------------------------

@bp.route("/applications/<int:application_id>/decisions/<int:decision_id>.pdf")
@clients_only()
def decision_pdf(application_id, decision_id):
    """One decision as a PDF, in the visitor's language."""
    application = get_scoped_or_404(Application, application_id, PERMISSION)
    return _decision_response(application, decision_id)


def _decision_response(application, decision_id):
    decision = ApplicationDecision.get_or_none(ApplicationDecision.id == rules.bounded_int(decision_id, 0),
                                               ApplicationDecision.application == application.id)
    if decision is None:
        abort(404)
    response = current_app.response_class(_decision_pdf(application, decision), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (f'attachment; filename="application-{application.id}-'
                                               f'decision-{decision.id}.pdf"')
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _decision_pdf(application, decision):
    pdf, family, text = new_pdf(_("Decision on application Nr. %(id)d", id=application.id))
    when = current_app.jinja_env.filters["datetime"](decision.decided_at)

    def line(value, size=10, height=6):
        pdf.set_font(family, size=size)
        pdf.multi_cell(0, height, text(value), new_x="LMARGIN", new_y="NEXT")

    line(_("Decision on application Nr. %(id)d", id=application.id), size=15, height=8)
    line(_("Decided: %(when)s", when=when))
    line(_("Client") + ": " + (application.client.name or _("Private account")))
    line(_("Service") + ": " + str(decision.service_label))
    pdf.ln(3)
    line(str(decision.told), size=12, height=7)
    if not decision.positive:
        line(_("For more information contact your personal manager or call %(phone)s.",
               phone=current_app.config.get("SUPPORT_PHONE") or "+371 67 772 999"))
    return bytes(pdf.output())


@bp.route("/applications/<int:application_id>/services", methods=["POST"])
@clients_only()
def add_service_route(application_id):
    """Seed 004 §12: add a service to a submitted application's answers; the new application is
    checked ("check your answers", or the form when the service asks more) and then submitted."""
    application = get_scoped_or_404(Application, application_id, PERMISSION)
    form = AddServiceForm().set_services(services_to_add(application))
    if form.validate_on_submit():
        try:
            added = add_service(application, form.service.data, signed_in_user(), ip=request.remote_addr or "",
                                user_agent=request.headers.get("User-Agent", ""))
        except ApplicationRefused as refused:
            form.service.errors.append(refused.message)
        else:
            return see_other("applications.check", application_id=added.id)
    return render("applications/show.html", status=422, **client_context(application, add_form=form))


def client_context(application, add_form=None):
    """What the client's application page shows of the later stages (the view hands it over, so the
    template runs no queries): decisions, fee invoices, the documents stage, services to add."""
    if not application.is_draft:
        refresh_stage(application)
    offered = services_to_add(application)
    membership = acting_membership()
    return {"application": application,
            "sections": summary(_stored_form(application)) if not application.is_draft else None,
            "decisions": decisions_of(application), "invoices": fee_invoices(application),
            "today": local_today(),
            "documents": newest_documents(application.client_id, DR.required_documents(application.kind)),
            "required_documents": DR.required_documents(application.kind), "D": D,
            "has_fee": bool(O.FEE_SERVICES & set(application.services)),
            "may_start_documents": bool(membership and membership.allows("documents") and membership.allows("submit")),
            "add_form": add_form or (AddServiceForm(formdata=None).set_services(offered) if offered else None)}
