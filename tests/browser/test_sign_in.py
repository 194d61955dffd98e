"""Signing in with e-mail or phone and password, with JavaScript on and off."""
import pytest
from playwright.sync_api import expect

from .helpers import sign_in, sign_out, submit


@pytest.mark.parametrize("by", ["email", "phone"])
def test_client_signs_in_by_email_or_phone_and_out_again(page, live_server, person, js, by):
    live_server.create_user(person)
    identifier = person.email if by == "email" else person.e164  # +3712xxxxxxx
    sign_in(page, identifier)
    expect(page.locator(".details")).to_contain_text(person.email)
    expect(page.locator("nav a[aria-current=page]")).to_have_attribute("href", "/dashboard")
    sign_out(page)
    page.goto("/dashboard")
    page.wait_for_url("**/login?next=%2Fdashboard")
    if js:
        assert page.console_errors == [], page.console_errors
        assert page.evaluate("() => window.__cspViolations") == []


def test_wrong_password_shows_the_error_summary_and_keeps_the_identifier(page, live_server, person, js):
    live_server.create_user(person)
    page.goto("/login")
    page.fill("#identifier", person.email)
    page.fill("#password", "Nepareiza-Parole1!")
    submit(page, "#identifier")
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_have_attribute("role", "alert")
    assert page.url.endswith("/login")
    expect(page.locator("#identifier")).to_have_value(person.email)
    expect(page.locator("#password")).to_have_value("")
