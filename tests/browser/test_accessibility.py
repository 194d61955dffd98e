"""axe-core on every page of registration, sign-in and recovery, with and without errors.

JavaScript is on (axe needs it) and the CSP is bypassed only so that the axe
script can be injected; the pages themselves are the ones users get. Each
test collects every violation on its pages and fails once, listing them all.
Every page checked is also screenshotted to test-artifacts/axe-<name>.png.
"""
import pytest
from playwright.sync_api import expect

from conftest import PASSWORD  # tests/conftest.py

from .helpers import (Axe, enter_recovery_code, fill_client_step, fill_contact_step, request_recovery,
                      sign_in, submit)


@pytest.fixture
def axe(axe_page):
    return Axe(axe_page)


@pytest.mark.parametrize("path, name", [
    ("/", "start"), ("/login", "login"), ("/register", "register-1-client"),
    ("/password/reset", "reset-request"), ("/legal/privacy", "privacy"), ("/legal/terms", "terms"),
    ("/no-such-page", "not-found"),
])
def test_public_page_has_no_axe_violations(axe, live_server, path, name):
    response = axe.page.goto(path)
    assert response.status == (404 if name == "not-found" else 200)
    axe.check(name)
    axe.assert_clean()


def test_forms_with_errors_have_no_axe_violations(axe, live_server):
    page = axe.page
    for path, field, name in [("/login", "#identifier", "login-errors"),
                              ("/register", "#accept_terms", "register-1-client-errors"),
                              ("/password/reset", "#identifier", "reset-request-errors")]:
        page.goto(path)
        submit(page, field)
        expect(page.locator("#error-summary")).to_be_visible()
        axe.check(name)
    axe.assert_clean()


def test_registration_steps_and_signed_in_pages_have_no_axe_violations(axe, live_server, person):
    page = axe.page
    page.goto("/register")
    fill_client_step(page)
    axe.check("register-2-contact")
    submit(page, "#confirm")
    expect(page.locator("#error-summary")).to_be_visible()
    axe.check("register-2-contact-errors")
    fill_contact_step(page, person)
    axe.check("register-3-confirm")
    submit(page, "#sms_code")
    expect(page.locator("#error-summary")).to_be_visible()
    axe.check("register-3-confirm-errors")
    page.fill("#email_code", live_server.email_code(person.email))
    page.fill("#sms_code", live_server.sms_code(person.e164))
    submit(page, "#sms_code")
    page.wait_for_url("**/dashboard")
    expect(page.locator(".details")).to_contain_text(person.email)
    axe.check("dashboard")

    page.goto("/settings")
    axe.check("settings")
    page.uncheck("#notify_email")
    page.uncheck("#notify_sms")
    submit(page, "#full_name")
    expect(page.locator("#error-summary")).to_be_visible()
    axe.check("settings-errors")

    page.goto("/password/change")
    axe.check("change-password")
    submit(page, "#current_password")
    expect(page.locator("#error-summary")).to_be_visible()
    axe.check("change-password-errors")
    axe.assert_clean()


def test_recovery_pages_have_no_axe_violations(axe, live_server, person):
    page = axe.page
    live_server.create_user(person)
    request_recovery(page, person.email)
    axe.check("reset-code")
    submit(page, "#code")
    expect(page.locator("#error-summary")).to_be_visible()
    axe.check("reset-code-errors")
    enter_recovery_code(page, live_server.email_code(person.email))
    axe.check("reset-sent")
    temporary = live_server.email_password(person.email, 2)
    sign_in(page, person.email, temporary, lands_on="**/password/change")
    axe.check("change-password-forced")
    submit(page, "#current_password")
    expect(page.locator("#error-summary")).to_be_visible()
    axe.check("change-password-forced-errors")
    axe.assert_clean()


def test_staff_pages_have_no_axe_violations(axe, live_server, person):
    page = axe.page
    live_server.create_user(person, staff_role="admin", full_name="Anna Administratore")
    sign_in(page, person.email, PASSWORD, lands_on="**/dashboard")
    axe.check("dashboard-staff")
    for path, name in [("/staff", "staff"), ("/staff/outbox", "staff-outbox"),
                       ("/staff/audit", "staff-audit")]:
        assert page.goto(path).status == 200
        axe.check(name)
    axe.assert_clean()
