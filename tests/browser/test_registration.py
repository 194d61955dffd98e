"""Registration end to end in Chromium, with JavaScript (HTMX) on and off."""
from playwright.sync_api import expect

from .helpers import fill_client_step, fill_confirm_step, fill_contact_step, screenshot

MARK_PAGE = """() => {
  window.__samePage = true;
  document.querySelector('header.site-header').__samePage = true;
  window.__firstStep = document.getElementById('registration-step');
}"""
PAGE_KEPT = "() => window.__samePage === true"
HEADER_KEPT = "() => document.querySelector('header.site-header').__samePage === true"
STEP_SWAPPED = ("() => !document.contains(window.__firstStep)"
                " && document.getElementById('registration-step') !== null")


def test_natural_person_registers_and_lands_on_dashboard(page, live_server, person, js):
    documents = []
    page.on("request", lambda r: r.resource_type == "document" and documents.append(r.url))
    page.goto("/register")
    expect(page.locator("html")).to_have_attribute("lang", "lv")
    expect(page.locator(".steps [aria-current=step]")).to_contain_text("1")
    registration_title = page.title()
    if js:
        page.evaluate(MARK_PAGE)
        documents.clear()

    fill_client_step(page)
    expect(page.locator(".steps [aria-current=step]")).to_contain_text("2")
    if js:
        # HTMX replaced only the step: same window, same header, new step section,
        # and the address is /register/contact through history.pushState.
        assert page.evaluate(PAGE_KEPT), "the page reloaded instead of swapping the step"
        assert page.evaluate(HEADER_KEPT), "the header was replaced, not only the step"
        assert page.evaluate(STEP_SWAPPED), "the step section was not swapped"
        assert page.evaluate("() => history.length") >= 2
        assert documents == [], f"full page loads during the HTMX steps: {documents}"
    else:
        # Without JavaScript the form posts and the browser follows the 303: a page load.
        assert any(url.endswith("/register/contact") for url in documents), documents
    screenshot(page, f"register-2-contact-{'js' if js else 'nojs'}")

    fill_contact_step(page, person)
    expect(page.locator(".steps [aria-current=step]")).to_contain_text("3")
    if js:
        assert page.evaluate(PAGE_KEPT) and page.evaluate(HEADER_KEPT)
        assert documents == [], f"full page loads during the HTMX steps: {documents}"
    screenshot(page, f"register-3-confirm-{'js' if js else 'nojs'}")

    fill_confirm_step(page, live_server, person)
    assert page.url.endswith("/dashboard")
    expect(page.locator("header form[action$='/logout']")).to_be_visible()
    if js:
        # HX-Location brings the dashboard in without a reload, with its own title.
        assert page.evaluate(PAGE_KEPT), "the page reloaded on the way to the dashboard"
        assert documents == [], f"full page loads: {documents}"
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
