"""What a person does in the browser, and how the tests read messages and run axe.

Elements are found by id, name or role, never by English text: the interface
is Latvian by default. The header holds submit buttons of its own (language,
sign-out), so a form is submitted through the button of the form holding a field.
"""
import re
from pathlib import Path

from playwright.sync_api import expect

from conftest import PASSWORD  # tests/conftest.py

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ARTIFACTS = ROOT / "test-artifacts"
AXE = HERE / "vendor" / "axe-4.14.1.min.js"
NEW_PASSWORD = "Sarkanais-Kalns8?"


# --- Messages --------------------------------------------------------------------------

def last_code(text):
    match = re.search(r"\b(\d{6})\b", text)
    assert match, f"no 6-digit code in: {text!r}"
    return match.group(1)


def temporary_password(text):
    """The temporary password in an e-mail or SMS, on a line of its own ("KPRT-mdbz-4729")."""
    match = re.search(r"^\s*([A-Z]{4}-[a-z]{4}-[2-9]{4})\s*$", text, re.M)
    assert match, f"no temporary password in: {text!r}"
    return match.group(1)


# --- Acting in the page ---------------------------------------------------------------

def submit(page, field):
    """Press the submit button of the form that holds the field (a CSS selector)."""
    page.locator(f"main form:has({field}) button[type=submit]").first.click()


def fill_client_step(page, client_type="natural"):
    page.check("#client_type-0" if client_type == "natural" else "#client_type-1")
    if client_type == "natural":
        page.select_option("#citizenship", "LV")
    else:
        page.select_option("#country", "LV")
    page.check("#accept_privacy")
    page.check("#accept_terms")
    submit(page, "#accept_terms")
    page.wait_for_url("**/register/contact")
    expect(page.locator("#email")).to_be_visible()


def fill_contact_step(page, person, password=PASSWORD):
    page.fill("#email", person.email)
    page.select_option("#phone_region", "LV")
    page.fill("#phone", person.phone)
    page.fill("#password", password)
    page.fill("#confirm", password)
    submit(page, "#confirm")
    page.wait_for_url("**/register/confirm")
    expect(page.locator("#email_code")).to_be_visible()


def complete_button(page):
    """The confirm step's "Pabeigt reģistrāciju" button."""
    button = page.locator("main form:has(#sms_code) button[type=submit]")
    expect(button).to_have_text(re.compile(r"^\s*(Pabeigt reģistrāciju|Complete registration)\s*$"))
    return button


def fill_confirm_step(page, live, person):
    page.fill("#email_code", live.email_code(person.email))
    page.fill("#sms_code", live.sms_code(person.e164))
    complete_button(page).click()
    page.wait_for_url("**/dashboard")
    expect(page.locator(".details")).to_contain_text(person.email)


def sign_in(page, identifier, password=PASSWORD, lands_on="**/dashboard"):
    page.goto("/login")
    page.fill("#identifier", identifier)
    page.fill("#password", password)
    submit(page, "#identifier")
    page.wait_for_url(lands_on)


def sign_out(page):
    page.locator("header form[action$='/logout'] button[type=submit]").click()
    page.wait_for_url("**/login")
    expect(page.locator("#identifier")).to_be_visible()


def request_recovery(page, identifier):
    page.goto("/password/reset")
    page.fill("#identifier", identifier)
    submit(page, "#identifier")
    page.wait_for_url("**/password/reset/code")
    expect(page.locator("#code")).to_be_visible()


def enter_recovery_code(page, code):
    page.fill("#code", code)
    submit(page, "#code")
    expect(page.locator("#reset-sent")).to_be_visible()


def change_forced_password(page, temporary, new=NEW_PASSWORD):
    expect(page.locator("#current_password")).to_be_visible()
    page.fill("#current_password", temporary)
    page.fill("#password", new)
    page.fill("#confirm", new)
    submit(page, "#current_password")
    page.wait_for_url("**/dashboard")


def screenshot(page, name):
    # caret="initial": hiding the caret makes Playwright write style="" on inputs, which
    # HTMX's attribute settling then copies, and the portal's CSP rightly refuses.
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, caret="initial")


# --- axe-core ------------------------------------------------------------------------

class Axe:
    """Runs axe-core on pages and collects every violation, to fail once with all of them."""

    def __init__(self, page):
        self.page = page
        self.checked = []
        self.violations = []

    def check(self, name):
        """Run axe on the page as it is now (after any HTMX swap) and screenshot it."""
        page = self.page
        page.wait_for_load_state()
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']}))"
                               ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
                               " nodes: v.nodes.map(n => n.target.join(' ') + ' — ' +"
                               " (n.failureSummary || '').replace(/\\n/g, ' '))}))")
        self.checked.append(name)
        for violation in result:
            self.violations.append((name, page.url, violation))
        screenshot(page, f"axe-{name}")

    def report(self):
        lines = []
        for name, url, v in self.violations:
            lines.append(f"[{name}] {url}: {v['id']} ({v['impact']}): {v['help']}")
            lines.extend(f"      {node}" for node in v["nodes"][:5])
        return "\n".join(lines)

    def assert_clean(self):
        assert self.checked, "axe checked no page"
        assert not self.violations, "axe-core found violations:\n" + self.report()
