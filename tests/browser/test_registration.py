"""Registration end to end in Chromium, with JavaScript on and off (the same pages: they load
no script)."""
from playwright.sync_api import expect

from .helpers import fill_client_step, fill_confirm_step, fill_contact_step, screenshot


def test_natural_person_registers_and_lands_on_dashboard(page, live_server, person, js):
    documents, scripts = [], []
    page.on("request", lambda r: r.resource_type == "document" and documents.append(r.url))
    page.on("request", lambda r: r.resource_type == "script" and scripts.append(r.url))
    page.goto("/register")
    expect(page.locator("html")).to_have_attribute("lang", "lv")
    expect(page.locator(".steps [aria-current=step]")).to_contain_text("1")
    registration_title = page.title()

    # Registration needs no JavaScript, so it loads none (a first visit stays a few KB): each
    # step is a form posted and a page loaded, with JavaScript on as well as off.
    fill_client_step(page)
    expect(page.locator(".steps [aria-current=step]")).to_contain_text("2")
    assert any(url.endswith("/register/contact") for url in documents), documents
    screenshot(page, f"register-2-contact-{'js' if js else 'nojs'}")

    fill_contact_step(page, person)
    expect(page.locator(".steps [aria-current=step]")).to_contain_text("3")
    assert any(url.endswith("/register/confirm") for url in documents), documents
    screenshot(page, f"register-3-confirm-{'js' if js else 'nojs'}")
    assert scripts == [], f"registration loaded scripts: {scripts}"

    fill_confirm_step(page, live_server, person)
    assert page.url.endswith("/dashboard")
    expect(page.locator("header form[action$='/logout']")).to_be_visible()
    if js:
        assert any("htmx" in url for url in scripts), "signed in, the pages are htmx's again"
        # No console errors and no Content-Security-Policy violations on the whole flow.
        assert page.console_errors == [], page.console_errors
        assert page.evaluate("() => window.__cspViolations") == []
    assert page.title() != registration_title
    screenshot(page, f"register-4-dashboard-{'js' if js else 'nojs'}")
    user = live_server.user(person.email)
    assert user.phone == person.e164
    # Reload keeps the signed-in dashboard: the pushed URL is a real page.
    page.reload()
    expect(page.locator(".details")).to_contain_text(person.email)
