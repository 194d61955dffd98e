"""Decisions in the browser, JavaScript on and off (issues 14 and 15; seed 004 §9): a consultant
opens the applications list, filters it, opens a submitted application and records that the
account will not be opened, with a reason; with htmx the stages and decisions swap in place (the
page stays), without it the page comes back. The client then sees the decision on the dashboard
and on the application's page, and gets it by e-mail and SMS."""
import re

from playwright.sync_api import expect

import models
from models.applications import Application
from models.decisions import refresh_stage

from .conftest import Person, _new_context
from .helpers import sign_in
from conftest import assign_clients  # tests/conftest.py

ANSWERS = {"full_name": "Ilze Kalniņa", "personal_code": "010101-10006", "birth_date": "01.01.1901",
           "residence_permit": False, "language": "lv"}


def _submitted(live_server, person):
    user = live_server.create_user(person, full_name="Ilze Kalniņa")
    with live_server.app.app_context(), models.db.connection_context():
        client = models.Membership.get(models.Membership.user == user.id).client
        application = Application.create(client=client, created_by=user.id, kind=client.kind, services=["N_NEW"],
                                         data=ANSWERS, status="submitted", submitted_at=models.utcnow())
        refresh_stage(application)
        return application


def test_consultant_records_a_decision_and_the_client_sees_it(page, browser, live_server, person, js):
    application = _submitted(live_server, person)
    consultant = Person(email=f"konsultants.{person.phone}@example.lv", phone="29" + person.phone[2:])
    live_server.create_user(consultant, staff_role="consultant")
    assign_clients(live_server.app, consultant.email, of=person.email)  # issue 15: the consultant's client

    sign_in(page, consultant.email)
    page.goto("/staff/applications")
    page.select_option("#service", "N_NEW")
    page.locator("form.search-form button[type=submit]").click()
    row = page.locator(f"#staff-application-{application.id}")
    expect(row).to_be_visible()
    expect(page.locator("#service")).to_have_value("N_NEW")
    row.get_by_role("link").click()
    page.wait_for_url(f"**/staff/applications/{application.id}")
    expect(page.locator("h1")).to_contain_text(str(application.id))
    if js:  # a page load would lose the first mark, a whole-body swap (hx-boost) the second
        page.evaluate("() => { window.__samePage = true; document.querySelector('h1').__kept = true; }")

    # Sent without a reason first: the message stands next to the field.
    page.select_option("#decision", "N_NEW:not_open_account")
    page.locator("#application-progress form button[type=submit]").click()
    expect(page.locator("#reason-error")).to_be_visible()
    expect(page.locator("#error-summary")).to_be_visible()

    page.select_option("#decision", "N_NEW:not_open_account")
    page.fill("#reason", "Nepietiekama informācija par līdzekļu izcelsmi")
    page.locator("#application-progress form button[type=submit]").click()
    decision = page.locator("#staff-decisions tbody tr")
    expect(decision).to_have_count(1)
    expect(decision).to_contain_text("Nepietiekama informācija")
    expect(page.locator("#stage-outcome [data-stage-status]")).to_have_attribute("data-stage-status", "done")
    expect(page.locator("#application-progress form")).to_have_count(0)  # nothing left to decide
    if js:
        assert page.evaluate("() => window.__samePage === true"), "the decision reloaded the whole page"
        assert page.evaluate("() => document.querySelector('h1').__kept === true"), "more than the fragment swapped"
        assert page.evaluate("() => window.__cspViolations") == []
    assert [e for e in page.console_errors if "status of 422" not in e] == []  # the refused first try

    # The client: the dashboard and the application's page show it; e-mail and SMS arrived.
    context = _new_context(browser, live_server, java_script_enabled=js)
    try:
        client = context.new_page()
        sign_in(client, person.email)
        shown = client.locator("#decisions [data-decision=not_open_account]")
        expect(shown).to_be_visible()
        expect(client.locator("#decisions")).to_contain_text("Konts netiks atvērts")
        expect(client.locator("#decisions")).not_to_contain_text("līdzekļu izcelsmi")  # the reason is ours
        client.goto(f"/applications/{application.id}")
        expect(client.locator("#decisions")).to_contain_text("Konts netiks atvērts")
        pdf = client.locator("#decisions a[download]")
        expect(pdf).to_have_attribute("href", re.compile(rf"/applications/{application.id}/decisions/\d+\.pdf$"))
    finally:
        context.close()
    assert any("Konts netiks atvērts" in body for body in live_server.emails(person.email))
    assert any("Konts netiks atvērts" in text for text in live_server.texts(person.e164))
