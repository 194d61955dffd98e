"""Two-step sign-in in a browser (issue 12), JavaScript on and off: turning it on in the settings
(the QR code as inline SVG, the key as text, the first code), the recovery codes shown once, then
signing in with the password and the app's code; "Your sessions" lists the sessions. The
enrolment page and the code step fit 320 px, and nothing breaks the CSP."""
import re
import time

import pyotp
from playwright.sync_api import expect

from rules import second_factor as R

from .helpers import Axe, sign_in, sign_out, submit


def fits(page):
    page.set_viewport_size({"width": 320, "height": 700})
    wide = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth")
    page.set_viewport_size({"width": 1100, "height": 900})
    return not wide


def test_turn_on_two_step_sign_in_and_sign_in_with_the_apps_code(page, live_server, person, js):
    live_server.create_user(person)
    sign_in(page, person.email)
    page.goto("/settings")
    page.locator("main a[href$='/settings/two-step']").click()
    page.wait_for_url("**/settings/two-step")
    page.locator("main form[action$='/two-step/start'] button").click()
    page.wait_for_url("**/settings/two-step/enrol")
    expect(page.locator(".qr svg")).to_be_visible()
    assert fits(page), "the enrolment page scrolls sideways at 320 px"
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    totp = pyotp.TOTP(secret)
    page.fill("#code", totp.at(time.time() - R.STEP_SECONDS))
    submit(page, "#code")
    expect(page.locator("#recovery-codes")).to_be_visible()
    codes = page.locator("#recovery-codes li code").all_inner_texts()
    assert len(codes) == 10
    sent = live_server.emails(person.email, count=1)  # the new-device notice of signing in aside: this one
    assert any("divpakāpju pieslēgšanās" in text and "ieslēgta" in text for text in sent)

    sign_out(page)
    sign_in(page, person.email, lands_on="**/login/code")
    assert fits(page), "the code step scrolls sideways at 320 px"
    page.fill("#code", "000000" if totp.now() != "000000" else "111111")
    submit(page, "#code")
    expect(page.locator("#code-error")).to_be_visible()
    page.fill("#code", totp.at(time.time() + R.STEP_SECONDS))
    submit(page, "#code")
    page.wait_for_url("**/dashboard")

    page.goto("/settings/sessions")
    expect(page.locator("#sessions")).to_contain_text("Šī sesija")
    if js:
        errors = [e for e in page.console_errors if "status of 422" not in e]
        assert errors == [], errors
        assert page.evaluate("() => window.__cspViolations") == []


def test_account_security_pages_have_no_axe_violations(axe_page, live_server, person):
    live_server.create_user(person)
    axe = Axe(axe_page)
    page = axe.page
    sign_in(page, person.email)
    page.goto("/settings/sessions")
    axe.check("your-sessions")
    page.goto("/settings/two-step")
    axe.check("two-step-off")
    page.locator("main form[action$='/two-step/start'] button").click()
    page.wait_for_url("**/settings/two-step/enrol")
    submit(page, "#code")
    expect(page.locator("#error-summary")).to_be_visible()
    axe.check("two-step-enrol-errors")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).now())
    submit(page, "#code")
    expect(page.locator("#recovery-codes")).to_be_visible()
    axe.check("recovery-codes")
    page.goto("/settings/two-step")
    axe.check("two-step-on")
    sign_out(page)
    sign_in(page, person.email, lands_on="**/login/code")
    submit(page, "#code")
    expect(page.locator("#error-summary")).to_be_visible()
    axe.check("second-step-errors")
    axe.assert_clean()
