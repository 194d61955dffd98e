"""The onboarding application in the browser, JavaScript on and off (issue 14): a company's
registrant starts an application for a settlement account, adds a second representative and
two owners ("add another": in place with htmx, by a plain submit without), saves, comes back
from the dashboard, continues to "check your answers" and submits; the dashboard's task list
then shows photo identification as the current step. With JavaScript, adding an entry keeps
the page (no reload) and what was typed. axe-core checks the form and the check page."""
import re

from playwright.sync_api import expect

import models
from models.applications import Application
from rules import onboarding as O

from .helpers import Axe, screenshot, sign_in


def fill_person(page, prefix, name, birth, citizenship, email=None, represents=False, share=None,
                residence=None):
    page.fill(f"#{prefix}-full_name", name)
    page.fill(f"#{prefix}-birth_date", birth)
    page.select_option(f"#{prefix}-citizenship", citizenship)
    if residence:
        page.select_option(f"#{prefix}-residence", residence)
    if email:
        page.fill(f"#{prefix}-position", "Valdes loceklis")
        page.select_option(f"#{prefix}-representation_type", "alone")
        page.fill(f"#{prefix}-email", email)
    if represents:
        page.check(f"#{prefix}-represents")
    if share:
        page.fill(f"#{prefix}-share", share)


def add_another(page, group, js):
    """"Add another": with htmx the group swaps in place, else the whole form comes back."""
    page.click(f"#add-{group}")
    if not js:
        page.wait_for_load_state()


def test_company_application_with_two_representatives_and_two_owners(page, live_server, person, js,
                                                                     axe_page):
    live_server.create_user(person, full_name="Anna Liepa", kind="legal", role="registrant")
    sign_in(page, person.email)

    page.click("#start-application-link")
    page.wait_for_url(re.compile(r".*/applications(#.*)?$"))
    page.check("input[name=services][value=L_ACCOUNT]")
    page.click("#start-application")
    page.wait_for_url(re.compile(r".*/applications/\d+/edit$"))
    edit_url = page.url
    if js:  # marks this page and one of its fields: a reload or a whole-body swap would lose them
        page.evaluate("() => { window.__stillTheSamePage = true;"
                      " document.querySelector('#company_name').__kept = true; }")

    page.fill("#company_name", "Zaļā Ēka SIA")
    page.fill("#registration_number", "40003000000")
    page.fill("#registration_date", "15.03.2012")
    page.select_option("#industry", "ict")
    page.select_option("#language", "lv")
    page.select_option("#employees", "10-49")
    fill_person(page, "representatives-0", "Jānis Bērziņš", "02.03.1980", "EE", email="janis@example.lv",
                represents=True)
    add_another(page, "representatives", js)
    expect(page.locator("#representatives-1-full_name")).to_be_visible()
    expect(page.locator("#representatives-0-full_name")).to_have_value("Jānis Bērziņš")
    fill_person(page, "representatives-1", "Līga Ozola", "04.05.1985", "LT", email="liga@example.lv")
    add_another(page, "owners_natural", js)
    fill_person(page, "owners_natural-0", "Pēteris Kalns", "06.07.1970", "DE", share="60", residence="DE")
    add_another(page, "owners_natural", js)
    fill_person(page, "owners_natural-1", "Ilze Kalna", "08.09.1972", "DE", share="40", residence="DE")
    expect(page.locator("#company_name")).to_have_value("Zaļā Ēka SIA")
    if js:
        assert page.evaluate("() => window.__stillTheSamePage") is True
        # only the group was swapped: the company's field is the very element it was
        assert page.evaluate("() => document.querySelector('#company_name').__kept") is True
    page.fill("#submitter-full_name", "Anna Liepa")
    page.fill("#submitter-birth_date", "01.01.1990")
    page.select_option("#submitter-role", "board_member")
    screenshot(page, f"application-form-{'js' if js else 'nojs'}")

    page.click("#save-application")
    page.wait_for_url(edit_url)
    expect(page.locator(".flash--success")).to_be_visible()

    # Come back later from the dashboard: what was typed is there.
    page.goto("/dashboard")
    expect(page.locator("#stage-initial [data-stage-status]")).to_have_attribute("data-stage-status", O.IN_PROGRESS)
    page.click("#continue-application")
    page.wait_for_url(edit_url)
    expect(page.locator("#representatives-1-full_name")).to_have_value("Līga Ozola")
    expect(page.locator("#owners_natural-1-share")).to_have_value("40")

    # A wrong share is shown beside the field and in the summary.
    page.fill("#owners_natural-1-share", "140")
    page.click("#check-application")
    expect(page.locator("#error-summary a[href='#owners_natural-1-share']")).to_be_visible()
    page.fill("#owners_natural-1-share", "40")
    page.click("#check-application")
    page.wait_for_url("**/check")
    expect(page.locator("main")).to_contain_text("Līga Ozola")
    expect(page.locator("main")).to_contain_text("Pēteris Kalns")
    page.click("#submit-application")
    page.wait_for_url(re.compile(r".*/applications/\d+$"))
    expect(page.locator("#stage-photo_id")).to_have_attribute("aria-current", "step")

    with live_server.app.app_context(), models.db.connection_context():
        application = Application.get(Application.id == int(edit_url.split("/")[-2]))
        assert application.status == O.SUBMITTED
        assert [r["full_name"] for r in application.data["representatives"]] == ["Jānis Bērziņš", "Līga Ozola"]
        assert [o["share"] for o in application.data["owners_natural"]] == ["60", "40"]
    # The form with errors answers 422 on purpose; Chromium logs that as a failed load.
    assert [e for e in page.console_errors if "status of 422" not in e] == []
    if js:
        assert page.evaluate("() => window.__cspViolations") == []

    # axe-core on the pages a person meets (a tab with JavaScript, where axe can be injected).
    if js:
        axe = Axe(axe_page)
        sign_in(axe_page, person.email)
        axe_page.goto(page.url)
        axe.check("application-submitted")
        axe_page.goto("/dashboard")
        axe.check("dashboard-with-application")
        axe_page.goto("/applications")
        axe_page.check("input[name=services][value=L_ACCOUNT]")
        axe_page.click("#start-application")
        axe_page.wait_for_url(re.compile(r".*/applications/\d+/edit$"))
        axe_page.click("#check-application")  # empty: every message shown
        expect(axe_page.locator("#error-summary")).to_be_visible()
        axe.check("application-form-with-errors")
        assert not axe.violations, axe.report()
