"""Changing the e-mail in the settings (issue 11): the new address and the password, the code from
the new address, then signing in with it. With JavaScript on (htmx swaps the steps) and off."""
from playwright.sync_api import expect

from conftest import PASSWORD  # tests/conftest.py

from .helpers import Axe, screenshot, sign_in, sign_out, submit


def test_client_changes_email_and_signs_in_with_the_new_one(page, live_server, person, js):
    live_server.create_user(person)
    new_email = "jauns." + person.email
    mode = "js" if js else "nojs"
    sign_in(page, person.email)

    page.goto("/settings")
    expect(page.locator("#contact-details")).to_contain_text(person.email)
    page.locator("#contact-details a[href$='/settings/contact/email']").click()
    page.wait_for_url("**/settings/contact/email")
    submit(page, "#email")  # nothing typed: the messages by the fields and in the summary
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#email-error")).to_be_visible()
    expect(page.locator("#password-error")).to_be_visible()
    screenshot(page, f"contact-email-errors-{mode}")

    page.fill("#email", new_email)
    page.fill("#password", "Nepareiza-Parole1!")
    submit(page, "#email")
    expect(page.locator("#email-error")).to_have_count(0)  # the new answer is in place
    expect(page.locator("#password-error")).to_be_visible()
    page.fill("#password", PASSWORD)
    submit(page, "#email")
    page.wait_for_url("**/settings/contact/confirm")
    expect(page.locator("#contact-change")).to_contain_text(new_email)
    screenshot(page, f"contact-email-code-{mode}")

    page.fill("#code", live_server.email_code(new_email))
    submit(page, "#code")
    page.wait_for_url("**/settings")
    expect(page.locator(".flash--success")).to_be_visible()
    expect(page.locator("#contact-details")).to_contain_text(new_email)
    screenshot(page, f"contact-email-changed-{mode}")
    notice = live_server.emails(person.email)[-1]
    assert "j***@example.lv" in notice

    sign_out(page)
    page.goto("/login")
    page.fill("#identifier", person.email)
    page.fill("#password", PASSWORD)
    submit(page, "#identifier")
    expect(page.locator("#error-summary")).to_be_visible()  # the old address signs in no more
    sign_in(page, new_email)
    if js:
        # The browser logs each 422 (a form with errors) as a failed load: expected here.
        errors = [e for e in page.console_errors if "status of 422" not in e]
        assert errors == [], errors
        assert page.evaluate("() => window.__cspViolations") == []


def test_contact_change_pages_have_no_axe_violations(axe_page, live_server, person):
    live_server.create_user(person)
    axe = Axe(axe_page)
    page = axe.page
    sign_in(page, person.email)
    page.goto("/settings")
    axe.check("settings-contact-details")
    page.goto("/settings/contact/phone")
    submit(page, "#phone")
    expect(page.locator("#error-summary")).to_be_visible()
    axe.check("contact-phone-errors")
    page.select_option("#phone_region", "LV")
    page.fill("#phone", "29" + person.phone[2:])
    page.fill("#password", PASSWORD)
    submit(page, "#phone")
    page.wait_for_url("**/settings/contact/confirm")
    axe.check("contact-phone-code")
    page.fill("#code", "12")
    submit(page, "#code")
    expect(page.locator("#code-error")).to_be_visible()
    axe.check("contact-phone-code-errors")
    axe.assert_clean()
