"""The later stages of onboarding applications (issues 14, 15; seed 004 §6–12): the staff list and
page of applications, decisions per service (stage 6) with the client's notices and PDFs, the
commission fee's invoice (stage 4), the documents stage read from the client's documents (stage 3),
a service added later (§12), and the save-and-return reminders of unfinished drafts
(docs/requirements.md ONB-10, ONB-11, ONB-14 to ONB-17, FIN-1)."""
import re
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest

import models
from conftest import assign_clients, create_user, login, post_form
from models.applications import Application
from models.decisions import ApplicationDecision, refresh_stage, remind_drafts
from models.documents import Document
from models.finance import Invoice
from rules import LEGAL, NATURAL
from rules import decisions as DR
from rules import documents as D
from rules import onboarding as O

ANNA, CONSULTANT, SUPERVISOR, OTHER = ("anna@example.lv", "konsultante@example.lv", "vaditaja@example.lv",
                                       "cits@example.lv")
PERSON = {"full_name": "Anna Bērziņa", "personal_code": "010101-10006", "birth_date": "01.01.1901",
          "residence_permit": False, "language": "lv"}


# --- The rules ------------------------------------------------------------------------------------

# Seed 004 §9–11, restated per service: what stage 6 may decide.
SEED_DECISIONS = {
    "N_NEW": {"open_account", "not_open_account"},
    "L_ACCOUNT": {"open_account", "not_open_account"},
    "L_SAFEGUARD": {"open_account", "not_open_account"},
    "L_ACQUIRING": {"start_cooperation", "refuse_cooperation"},
    "L_RENEWAL": {"approve_renewal", "refuse_renewal"},
    "L_ECOM": {"approve_renewal", "refuse_renewal"},
    "N_EXTRA": {"issue_card", "refuse_card", "activate_user", "not_activate_user"},
}


@pytest.mark.parametrize("service", sorted(SEED_DECISIONS))
def test_each_service_is_decided_as_the_seed_says(service):
    assert {d.code for d in DR.choices_for(service)} == SEED_DECISIONS[service]
    assert all(DR.allowed([service], service, code) for code in SEED_DECISIONS[service])
    others = set(DR.DECISIONS) - SEED_DECISIONS[service]
    assert not any(DR.allowed([service], service, code) for code in others)


def test_a_negative_decision_needs_a_reason_and_a_positive_one_none():
    assert DR.reason_problem("not_open_account", "  ") is not None
    assert DR.reason_problem("not_open_account", "AML risk") is None
    assert DR.reason_problem("open_account", "") is None
    assert DR.reason_problem("refuse_card", "x" * (DR.REASON_MAX + 1)) is not None


def test_fee_stage_from_the_invoices():
    assert DR.fee_status([]) is None
    assert DR.fee_status([(Decimal("100"), Decimal("0"))]) == O.ACTION_NEEDED
    assert DR.fee_status([(Decimal("100"), Decimal("40"))]) == O.IN_PROGRESS
    assert DR.fee_status([(Decimal("100"), Decimal("100"))]) == O.DONE


def test_documents_stage_from_the_newest_required_documents():
    assert DR.documents_status(NATURAL, {}) == O.ACTION_NEEDED
    assert DR.documents_status(NATURAL, {"client_questionnaire": (D.PROCESSING, False)}) == O.IN_PROGRESS
    assert DR.documents_status(NATURAL, {"client_questionnaire": (D.INFO_NEEDED, False)}) == O.ACTION_NEEDED
    assert DR.documents_status(NATURAL, {"client_questionnaire": (D.SIGNED, False)}) == O.DONE
    half = {"company_questionnaire": (D.SIGNED, False), "company_documents": (D.PROCESSING, False)}
    assert DR.documents_status(LEGAL, half) == O.IN_PROGRESS


def test_a_stage_done_out_of_turn_shows_done_and_the_rest_still_waits():
    stages = O.stages(NATURAL, ["N_NEW"])
    shown = dict((s.code, st) for s, st in O.stage_statuses(stages, O.SUBMITTED, True, {"fee": "done"}))
    assert shown["fee"] == "done" and shown["documents"] == "cannot_start"
    assert shown["outcome"] == "cannot_start"


# --- Set-up ---------------------------------------------------------------------------------------

@pytest.fixture
def people(app):
    anna = create_user(app, ANNA, "+37121111111")
    consultant = create_user(app, CONSULTANT, "+37121111112", staff_role="consultant")
    supervisor = create_user(app, SUPERVISOR, "+37121111113", staff_role="supervisor")
    other = create_user(app, OTHER, "+37121111114")
    return {"anna": anna, "consultant": consultant, "supervisor": supervisor, "other": other}


def submitted(app, user, services=("N_NEW",), data=None, **extra):
    with app.app_context(), models.db.connection_context():
        client = models.Membership.get(models.Membership.user == user.id).client
        application = Application.create(client=client, created_by=user.id, kind=client.kind, services=list(services),
                                         data=data or PERSON, status="submitted", submitted_at=models.utcnow(),
                                         **extra)
        refresh_stage(application)
        return application


def signed_in(app, email):
    if email == CONSULTANT:
        assign_clients(app, CONSULTANT)  # a consultant works on the clients assigned to them (rules.staff)
    browser = app.test_client()
    assert login(browser, email).status_code in (302, 303)
    return browser


def decide(browser, application, service, code, reason="", checked=True, **kwargs):
    data = {"decision": f"{service}:{code}", "reason": reason}
    if checked:
        data["earlier_checked"] = "y"
    return post_form(browser, f"/staff/applications/{application.id}/decisions", data,
                     page=f"/staff/applications/{application.id}", **kwargs)


# --- Staff pages --------------------------------------------------------------------------------

def test_a_consultant_sees_only_their_clients_applications(app, db, people):
    """The consultant rule (STF-11): an application of a client assigned to another consultant
    is neither listed nor reachable (404 on the page, the decision and the PDF)."""
    application = submitted(app, people["anna"], ["N_NEW"])
    create_user(app, "citi@example.lv", "+37121111119", staff_role="consultant")
    other = app.test_client()
    assert login(other, "citi@example.lv").status_code in (302, 303)
    assert f'id="staff-application-{application.id}"' not in other.get("/staff/applications").get_data(as_text=True)
    assert other.get(f"/staff/applications/{application.id}").status_code == 404
    assert decide(other, application, "N_NEW", "open_account").status_code == 404
    mine = signed_in(app, CONSULTANT)
    assert f'id="staff-application-{application.id}"' in mine.get("/staff/applications").get_data(as_text=True)
    assert mine.get(f"/staff/applications/{application.id}").status_code == 200


def test_staff_list_filters_by_stage_and_service_and_leaves_drafts_out(app, db, people):
    new = submitted(app, people["anna"], ["N_NEW"])
    extra = submitted(app, people["anna"], ["N_EXTRA"])
    with app.app_context():
        draft = Application.create(client=new.client_id, created_by=people["anna"].id, kind=NATURAL,
                                   services=["N_NEW"], data=PERSON)
        ApplicationDecision.create(application=extra, service="N_EXTRA", question="card", code="issue_card",
                                   positive=True)
        refresh_stage(Application.get_by_id(extra.id))
    staff = signed_in(app, CONSULTANT)

    def listed(query=""):
        page = staff.get("/staff/applications" + query)
        assert page.status_code == 200
        return set(map(int, re.findall(r'id="staff-application-(\d+)"', page.get_data(as_text=True))))

    assert listed() == {new.id, extra.id}  # not the draft
    assert listed("?service=N_EXTRA") == {extra.id}
    assert listed("?service=N_NEW") == {new.id}
    assert listed("?stage=photo_id") == {new.id}
    assert listed("?stage=finished") == {extra.id}
    assert listed("?stage=nonsense&service=bogus") == {new.id, extra.id}
    fragment = staff.get("/staff/applications?service=N_EXTRA", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True) and f"staff-application-{extra.id}" in fragment.get_data(
        as_text=True)
    assert staff.get(f"/staff/applications/{draft.id}").status_code == 404


def test_clients_never_reach_the_staff_application_pages(app, db, people):
    application = submitted(app, people["anna"])
    anna = signed_in(app, ANNA)
    assert anna.get("/staff/applications").status_code == 404
    assert anna.get(f"/staff/applications/{application.id}").status_code == 404


def test_staff_page_shows_answers_stages_documents_and_the_decision_form(app, db, people):
    application = submitted(app, people["anna"])
    page = signed_in(app, CONSULTANT).get(f"/staff/applications/{application.id}").get_data(as_text=True)
    assert "Anna Bērziņa" in page and 'id="stage-photo_id"' in page
    assert "Klienta atbildes" in page and "Jūsu atbildes" not in page
    assert 'id="required-' not in page and "client_questionnaire" not in page  # staff see names, not codes
    assert 'name="decision"' in page and "N_NEW:open_account" in page and "N_EXTRA" not in page


# --- Decisions ------------------------------------------------------------------------------------

@pytest.mark.postgres
def test_a_negative_decision_is_one_transaction_with_audit_email_and_sms(app, db, people):
    application = submitted(app, people["anna"])
    staff = signed_in(app, CONSULTANT)
    r = decide(staff, application, "N_NEW", "not_open_account", reason="Risk assessment")
    assert r.status_code == 303, r.get_data(as_text=True)
    with app.app_context():
        row = ApplicationDecision.get(ApplicationDecision.application == application.id)
        assert (row.code, row.positive, row.reason, row.decided_by_id) == (
            "not_open_account", False, "Risk assessment", people["consultant"].id)
        audit = models.AuditLog.get(models.AuditLog.action == "application.decision")
        assert audit.details["application"] == application.id and audit.details["decision"] == "not_open_account"
        sent = {(n.channel, n.recipient) for n in models.Notification.select().where(
            models.Notification.template == "application_decision")}
        assert sent == {("email", ANNA), ("sms", "+37121111111")}
        assert Application.get_by_id(application.id).stage == "finished"
    # The same question again is refused, with the reason next to the field.
    again = decide(staff, application, "N_NEW", "open_account")
    assert again.status_code == 422
    with app.app_context():
        assert ApplicationDecision.select().count() == 1


def test_a_positive_decision_goes_by_email_only(app, db, people):
    application = submitted(app, people["anna"])
    r = decide(signed_in(app, CONSULTANT), application, "N_NEW", "open_account")
    assert r.status_code == 303
    with app.app_context():
        channels = [n.channel for n in models.Notification.select().where(
            models.Notification.template == "application_decision")]
    assert channels == ["email"]


def test_refused_decisions_say_why_next_to_the_field(app, db, people):
    application = submitted(app, people["anna"])
    staff = signed_in(app, CONSULTANT)
    no_reason = decide(staff, application, "N_NEW", "not_open_account", reason=" ")
    assert no_reason.status_code == 422
    page = no_reason.get_data(as_text=True)
    assert 'id="reason-error"' in page and 'href="#reason"' in page
    unchecked = decide(staff, application, "N_NEW", "open_account", checked=False)
    assert unchecked.status_code == 422 and 'id="earlier_checked-error"' in unchecked.get_data(as_text=True)
    wrong_service = decide(staff, application, "N_EXTRA", "issue_card")
    assert wrong_service.status_code == 422
    with app.app_context():
        assert not ApplicationDecision.select().exists()
        assert not models.Notification.select().where(models.Notification.template == "application_decision").exists()


def test_with_htmx_the_decision_answers_with_the_progress_fragment(app, db, people):
    application = submitted(app, people["anna"])
    r = decide(signed_in(app, CONSULTANT), application, "N_NEW", "open_account",
               headers={"HX-Request": "true"}, follow_redirects=True)
    body = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<div id="application-progress">') and 'data-stage-status="done"' in body


def test_client_sees_the_decision_in_the_cabinet_and_downloads_it(app, db, people):
    application = submitted(app, people["anna"])
    decide(signed_in(app, CONSULTANT), application, "N_NEW", "not_open_account", reason="Internal reason")
    with app.app_context():
        decision = ApplicationDecision.get()
    anna = signed_in(app, ANNA)
    page = anna.get(f"/applications/{application.id}").get_data(as_text=True)
    assert 'data-decision="not_open_account"' in page and "Internal reason" not in page
    dashboard = anna.get("/dashboard").get_data(as_text=True)
    assert 'data-decision="not_open_account"' in dashboard
    pdf = anna.get(f"/applications/{application.id}/decisions/{decision.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    staff_pdf = signed_in(app, CONSULTANT).get(f"/staff/applications/{application.id}/decisions/{decision.id}.pdf")
    assert staff_pdf.status_code == 200
    stranger = signed_in(app, OTHER)
    assert stranger.get(f"/applications/{application.id}/decisions/{decision.id}.pdf").status_code == 404


def test_the_decision_pdf_carries_the_latvian_text(app, db, people):
    from test_finance import pdf_text
    application = submitted(app, people["anna"])
    decide(signed_in(app, CONSULTANT), application, "N_NEW", "open_account")
    with app.app_context():
        decision = ApplicationDecision.get()
    pdf = signed_in(app, ANNA).get(f"/applications/{application.id}/decisions/{decision.id}.pdf")
    assert "Konts tiks atvērts" in pdf_text(pdf.data)


# --- The commission fee ---------------------------------------------------------------------------

def test_the_fee_invoice_is_issued_from_the_application_and_paid_in_parts(app, db, people):
    # Seed 004 §7: the invoice comes once the person is identified and the documents are signed.
    application = submitted(app, people["anna"], progress={"photo_id": "done"})
    with app.app_context():
        Document.create(client=application.client_id, created_by=people["anna"].id,
                        doc_type="client_questionnaire", status=D.SIGNED)
    create_user(app, "citi@example.lv", "+37121111119", staff_role="consultant")
    consultant = signed_in(app, "citi@example.lv")
    form = {"amount": "150,00", "due_on": (date.today() + timedelta(days=14)).isoformat(),
            "description": "Komisijas maksa"}
    refused = post_form(consultant, f"/staff/applications/{application.id}/fee", form,
                        page=f"/staff/applications/{application.id}")
    assert refused.status_code == 404  # not this consultant's client (rules.staff)
    supervisor = signed_in(app, SUPERVISOR)
    r = post_form(supervisor, f"/staff/applications/{application.id}/fee", form,
                  page=f"/staff/applications/{application.id}")
    assert r.status_code == 303, r.get_data(as_text=True)

    def fee_status():
        with app.app_context():
            fresh = Application.get_by_id(application.id)
            return dict((s.code, st) for s, st in fresh.stage_statuses)["fee"]

    with app.app_context():
        invoice = Invoice.get(Invoice.application == application.id)
        assert invoice.purpose == "commission_fee" and invoice.client_id == application.client_id
    assert fee_status() == O.ACTION_NEEDED
    with app.app_context(), models.action():
        invoice.record_payment(Decimal("50.00"), date.today())
    assert fee_status() == O.IN_PROGRESS
    with app.app_context(), models.action():
        Invoice.get_by_id(invoice.id).record_payment(Decimal("100.00"), date.today())
    assert fee_status() == O.DONE
    with app.app_context():
        assert Application.get_by_id(application.id).stage == "outcome"  # the payment moved it on
    page = signed_in(app, ANNA).get(f"/applications/{application.id}").get_data(as_text=True)
    assert f"/finance/invoices/{invoice.id}" in page
    staff_page = supervisor.get(f"/staff/finance/invoices/{invoice.id}").get_data(as_text=True)
    assert f'href="/staff/applications/{application.id}" id="invoice-application"' in staff_page


def test_no_fee_invoice_for_an_application_without_a_fee(app, db, people):
    application = submitted(app, people["anna"], ["N_EXTRA"])
    r = post_form(signed_in(app, SUPERVISOR), f"/staff/applications/{application.id}/fee",
                  {"amount": "1", "due_on": date.today().isoformat(), "description": "x"}, page="/staff/applications")
    assert r.status_code == 404


def test_a_fee_form_with_errors_comes_back_with_422(app, db, people):
    application = submitted(app, people["anna"])
    r = post_form(signed_in(app, SUPERVISOR), f"/staff/applications/{application.id}/fee",
                  {"amount": "abc", "due_on": "", "description": ""}, page=f"/staff/applications/{application.id}")
    assert r.status_code == 422 and 'id="amount-error"' in r.get_data(as_text=True)
    with app.app_context():
        assert not Invoice.select().exists()


# --- Documents and signing -----------------------------------------------------------------------

def test_documents_stage_is_done_when_the_required_documents_are_signed(app, db, people):
    application = submitted(app, people["anna"])
    with app.app_context():
        document = Document.create(client=application.client_id, created_by=people["anna"].id,
                                   doc_type="client_questionnaire", status=D.PROCESSING)

        def stage():
            return dict((s.code, st) for s, st in Application.get_by_id(application.id).stage_statuses)["documents"]
        assert stage() == O.CANNOT_START  # photo identification first
        Application.update(progress={"photo_id": "done"}).where(Application.id == application.id).execute()
        assert stage() == O.IN_PROGRESS
        Document.update(status=D.SIGNED).where(Document.id == document.id).execute()
        assert stage() == O.DONE
        assert refresh_stage(Application.get_by_id(application.id)) == "fee"


# --- A service added later (seed 004 §12) -----------------------------------------------------------

def test_a_service_is_added_to_a_submitted_application_and_starts_its_own_stages(app, db, people):
    application = submitted(app, people["anna"], ["N_NEW"])
    anna = signed_in(app, ANNA)
    page = anna.get(f"/applications/{application.id}").get_data(as_text=True)
    assert 'id="add-service"' in page and 'value="N_EXTRA"' in page and 'value="N_NEW"' not in page
    refused = post_form(anna, f"/applications/{application.id}/services", {"service": "N_NEW"},
                        page=f"/applications/{application.id}")
    assert refused.status_code == 422 and 'id="service-error"' in refused.get_data(as_text=True)
    r = post_form(anna, f"/applications/{application.id}/services", {"service": "N_EXTRA"},
                  page=f"/applications/{application.id}")
    assert r.status_code == 303
    with app.app_context():
        added = Application.get(Application.parent == application.id)
        assert added.services == ["N_EXTRA"] and added.is_draft and added.data["full_name"] == "Anna Bērziņa"
        assert [s.code for s in added.stages][-1] == "outcome" and "fee" not in [s.code for s in added.stages]
        assert models.AuditLog.select().where(models.AuditLog.action == "application.add_service").exists()
    assert r.headers["Location"].endswith(f"/applications/{added.id}/check")
    # N_EXTRA asks for the linked client and an ID copy: the check sends the client to the form.
    check = anna.get(r.headers["Location"])
    assert check.status_code in (302, 303) and f"/applications/{added.id}/edit" in check.headers["Location"]
    again = anna.get(f"/applications/{application.id}").get_data(as_text=True)
    assert 'id="add-service"' not in again  # nothing left to add


def test_another_clients_application_gets_no_service_added(app, db, people):
    application = submitted(app, people["anna"])
    stranger = signed_in(app, OTHER)
    r = post_form(stranger, f"/applications/{application.id}/services", {"service": "N_EXTRA"}, page="/applications")
    assert r.status_code == 404


# --- Save and return -------------------------------------------------------------------------------

def _draft(app, user, days_ago):
    with app.app_context(), models.db.connection_context():
        client = models.Membership.get(models.Membership.user == user.id).client
        then = models.utcnow() - timedelta(days=days_ago)
        return Application.create(client=client, created_by=user.id, kind=client.kind, services=["N_NEW"],
                                  data={"full_name": "Anna"}, created_at=then, updated_at=then)


def _reminders(app):
    with app.app_context(), models.db.connection_context():
        return sorted((n.channel, n.recipient) for n in models.Notification.select().where(
            models.Notification.template == "application_reminder"))


def test_a_draft_left_for_three_days_is_reminded_once_per_quiet_spell(app, db, people):
    old = _draft(app, people["anna"], 4)
    _draft(app, people["anna"], 1)  # too fresh
    with app.app_context():
        assert remind_drafts(timedelta(days=3)) == 1
        assert remind_drafts(timedelta(days=3)) == 0
    assert _reminders(app) == [("email", ANNA), ("sms", "+37121111111")]
    with app.app_context():
        # Changed again, then left as long again: one more reminder.
        edited = models.utcnow() + timedelta(minutes=1)
        Application.update(updated_at=edited).where(Application.id == old.id).execute()
        remind_drafts(timedelta(days=3), now=edited + timedelta(days=2))
        assert Application.get_by_id(old.id).reminded_at < edited  # not yet: quiet for two days only
        later = edited + timedelta(days=3, minutes=1)
        remind_drafts(timedelta(days=3), now=later)
        assert Application.get_by_id(old.id).reminded_at == later
        assert remind_drafts(timedelta(days=3), now=later) == 0


def test_the_reminder_goes_by_sms_only_to_those_who_chose_it_and_links_back(app, db, people):
    with app.app_context():
        models.User.update(notify_sms=False).where(models.User.id == people["anna"].id).execute()
    draft = _draft(app, people["anna"], 5)
    from tasks.applications import remind_unfinished_applications
    with app.app_context():
        assert remind_unfinished_applications() == 1
        row = models.Notification.get(models.Notification.template == "application_reminder")
        assert row.opened_params()["path"] == f"/applications/{draft.id}/edit"
    assert _reminders(app) == [("email", ANNA)]


@pytest.mark.postgres
def test_reminder_runs_at_the_same_time_send_one_reminder(app, db, people):
    _draft(app, people["anna"], 4)
    results, barrier = [], threading.Barrier(4)

    def run():
        with app.app_context():
            barrier.wait()
            try:
                results.append(remind_drafts(timedelta(days=3)))
            finally:
                models.db.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 1
    assert _reminders(app) == [("email", ANNA), ("sms", "+37121111111")]


def test_the_reminder_job_is_scheduled_hourly():
    import tasks.schedule
    source = open(tasks.schedule.__file__, encoding="utf-8").read()
    assert "cron.register(remind_unfinished_applications, QUEUE, interval=3600)" in source


HOSTILE = ["", "x" * 5000, "N_NEW:", ":open_account", "N_NEW:open_account:x", "L_ACCOUNT:open_account", "\x00",
           "9" * 40, "-1", "<script>", "N_NEW:not_open_account", "2026-02-30", "1e309"]


def test_hostile_input_to_the_later_stages_never_answers_500(app, db, people):
    application = submitted(app, people["anna"])
    staff, anna = signed_in(app, SUPERVISOR), signed_in(app, ANNA)
    for value in HOSTILE:
        for browser, url, data in (
                (staff, f"/staff/applications/{application.id}/decisions",
                 {"decision": value, "reason": value, "earlier_checked": value}),
                (staff, f"/staff/applications/{application.id}/fee",
                 {"amount": value, "due_on": value, "description": value}),
                (anna, f"/applications/{application.id}/services", {"service": value})):
            r = post_form(browser, url, data, page=f"/applications/{application.id}" if browser is anna
                          else f"/staff/applications/{application.id}")
            assert r.status_code < 500, (url, value)
        for url in (f"/staff/applications?stage={value}&service={value}&before={value}",
                    f"/staff/applications/{application.id}/decisions/{value or 0}.pdf"):
            assert staff.get(url).status_code < 500, url
    for url in ("/staff/applications/99999999999999999999", f"/applications/{application.id}/decisions/1.pdf"):
        assert staff.get(url).status_code == 404 or anna.get(url).status_code == 404


def test_the_client_starts_a_required_document_from_the_application_page(app, db, people):
    application = submitted(app, people["anna"])
    anna = signed_in(app, ANNA)
    page = anna.get(f"/applications/{application.id}").get_data(as_text=True)
    assert 'id="start-client_questionnaire"' in page and 'value="client_questionnaire"' in page
    r = post_form(anna, "/documents", {"doc_type": "client_questionnaire"}, page=f"/applications/{application.id}")
    assert r.status_code == 303
    with app.app_context():
        document = Document.get(Document.client == application.client_id)
        assert document.doc_type == "client_questionnaire"
    again = anna.get(f"/applications/{application.id}").get_data(as_text=True)
    assert 'id="start-client_questionnaire"' not in again and f"/documents/{document.id}" in again


@pytest.mark.postgres
def test_migration_020_makes_the_decisions_table_and_the_new_columns(app):
    with app.app_context(), models.db.connection_context():
        for model in (ApplicationDecision, Application, Invoice):
            table = model._meta.table_name
            columns = {c.name for c in models.db.get_columns(table)}
            assert columns == {f.column_name for f in model._meta.sorted_fields}, table
        unique = {tuple(i.columns) for i in models.db.get_indexes("application_decision") if i.unique}
        assert ("application_id", "service", "question") in unique


def test_staff_list_pages_by_key_and_keeps_its_filters(app, db, people):
    ids = [submitted(app, people["anna"], ["N_NEW"]).id for _ in range(25)]
    submitted(app, people["anna"], ["N_EXTRA"])
    staff = signed_in(app, CONSULTANT)
    first = staff.get("/staff/applications?service=N_NEW").get_data(as_text=True)
    shown = [int(i) for i in re.findall(r'id="staff-application-(\d+)"', first)]
    assert shown == sorted(ids, reverse=True)[:20]
    older = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "service=N_NEW" in older
    rest = staff.get(older).get_data(as_text=True)
    assert [int(i) for i in re.findall(r'id="staff-application-(\d+)"', rest)] == sorted(ids, reverse=True)[20:]
