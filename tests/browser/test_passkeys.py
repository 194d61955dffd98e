"""Passkeys in a browser (issue 12): Chromium's virtual authenticator (WebAuthn over the DevTools
protocol: CTAP2, internal transport, resident keys, user verification) registers a passkey in the
settings, then signs in with the password and the passkey, and with the passkey alone; static/passkeys.js does the ceremonies
under the CSP. With JavaScript off the passkey button never shows, and the page says why.

WebAuthn refuses an IP address as the relying party's id, so these tabs reach the live portal as
``localhost`` and the portal is told that this is its RP id and origin for the test."""
import secrets
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

import models

from .conftest import CSP_RECORDER
from .helpers import Axe, sign_in, sign_out


@pytest.fixture
def localhost(live_server):
    """The live portal's address as localhost, and its WebAuthn settings to match."""
    port = urlsplit(live_server.url).port
    url = f"http://localhost:{port}"
    config = live_server.app.config
    saved = config.get("WEBAUTHN_RP_ID"), config.get("WEBAUTHN_ORIGIN")
    config["WEBAUTHN_RP_ID"], config["WEBAUTHN_ORIGIN"] = "localhost", url
    yield url
    config["WEBAUTHN_RP_ID"], config["WEBAUTHN_ORIGIN"] = saved


def _tab(browser, url, js):
    context = browser.new_context(base_url=url, viewport={"width": 1100, "height": 900}, java_script_enabled=js)
    context.set_default_timeout(15_000)
    if js:
        context.add_init_script(CSP_RECORDER)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(f"uncaught: {e}"))
    return context, page


def test_register_a_passkey_then_sign_in_with_password_and_passkey(browser, live_server, localhost, person):
    live_server.create_user(person)
    context, page = _tab(browser, localhost, js=True)
    try:
        cdp = context.new_cdp_session(page)
        cdp.send("WebAuthn.enable")
        authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
            "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True}})
        sign_in(page, person.email)
        page.goto("/settings")
        page.locator("main a[href$='/settings/passkeys']").click()
        page.wait_for_url("**/settings/passkeys")
        expect(page.locator("#add-passkey")).to_be_visible()
        expect(page.locator("[data-passkey-missing]")).to_be_hidden()
        page.fill("#add-passkey-name", "Virtuālā atslēga")
        page.locator("#add-passkey button[type=submit]").click()
        expect(page.locator("#passkeys li.card h3")).to_have_text("Virtuālā atslēga")
        credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator["authenticatorId"]})
        assert len(credentials["credentials"]) == 1 and credentials["credentials"][0]["isResidentCredential"]
        user = live_server.user(person.email)
        with live_server.app.app_context(), models.db.connection_context():
            assert models.Passkey.select().where(models.Passkey.user == user.id).count() == 1

        sign_out(page)
        sign_in(page, person.email, lands_on="**/login/code")
        expect(page.locator("#code")).to_have_count(0)  # no authenticator app: the passkey alone
        page.locator("#second-step-passkey button[type=submit]").click()
        page.wait_for_url("**/dashboard")
        with live_server.app.app_context(), models.db.connection_context():
            used = models.Passkey.get(models.Passkey.user == user.id)
            assert used.last_used_at is not None and used.sign_count >= 1

        # The passkey alone, from the sign-in page: the authenticator finds it (a resident key).
        sign_out(page)
        page.locator("main a[href$='/login/passkey/any']").click()
        page.locator("#passkey-sign-in button[type=submit]").click()
        page.wait_for_url("**/dashboard")
        page.goto("/settings/sessions")
        expect(page.locator("#sessions")).to_contain_text("ar piekļuves atslēgu")
        assert page.console_errors == [], page.console_errors
        assert page.evaluate("() => window.__cspViolations") == []
    finally:
        context.close()


def test_without_javascript_the_passkey_button_stays_hidden_and_the_page_says_why(browser, live_server, localhost,
                                                                                   person):
    live_server.create_user(person)
    user = live_server.user(person.email)
    with live_server.app.app_context(), models.db.connection_context():
        models.Passkey.create(user=user.id, name="Tālrunis", credential_id=secrets.token_urlsafe(16), public_key="AAAA")
    context, page = _tab(browser, localhost, js=False)
    try:
        sign_in(page, person.email, lands_on="**/login/code")
        expect(page.locator("#second-step-passkey")).to_be_hidden()
        expect(page.locator("[data-passkey-missing]")).to_be_visible()
        page.goto("/login/passkey/any")
        expect(page.locator("#passkey-sign-in")).to_be_hidden()
        expect(page.locator("[data-passkey-missing]")).to_be_visible()
        page.goto("/settings/passkeys")  # not signed in: the second step was not passed
        page.wait_for_url("**/login**")
    finally:
        context.close()


def test_the_passkey_pages_have_no_axe_violations(axe_page, live_server, person):
    """The settings page, the sign-in page's button, the second step and the step-up with a passkey,
    as a browser with JavaScript (and passkeys) shows them."""
    live_server.create_user(person)
    user = live_server.user(person.email)
    axe = Axe(axe_page)
    page = axe.page
    page.goto("/login/passkey/any")
    axe.check("sign-in-with-passkey")
    sign_in(page, person.email)
    page.goto("/settings/passkeys")
    expect(page.locator("#add-passkey")).to_be_visible()
    axe.check("passkeys-none")
    with live_server.app.app_context(), models.db.connection_context():
        models.Passkey.create(user=user.id, name="Tālrunis", credential_id=secrets.token_urlsafe(16), public_key="AAAA")
    page.goto("/settings/passkeys")
    axe.check("passkeys-one")
    page.goto("/signin/confirm")
    expect(page.locator("#stepup-passkey")).to_be_visible()
    axe.check("step-up-with-passkey")
    sign_out(page)
    sign_in(page, person.email, lands_on="**/login/code")
    expect(page.locator("#second-step-passkey")).to_be_visible()
    axe.check("second-step-passkey")
    axe.assert_clean()
