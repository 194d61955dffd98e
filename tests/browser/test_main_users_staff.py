"""Staff grant main-user rights after a visit (CMP-2, issue 13), with JavaScript on and off: a
supervisor finds the company by its name (htmx swaps the results in place when JavaScript is on),
grants the rights to a registered person found by e-mail with a note of what was checked, and
then takes them away again — the company's only main user only after ticking that it is left
without one."""
from playwright.sync_api import expect

import models
import rules

from .helpers import sign_in, submit


def _company(live, n):
    """Vizīte SIA with a registrant (no main user yet)."""
    with live.app.app_context(), models.db.connection_context():
        company = models.Client.create(kind=rules.LEGAL, name=f"Vizīte {n} SIA", registration_number=f"40003{n}")
        return company.id


def test_supervisor_grants_main_user_rights_after_a_visit_and_takes_them_away(page, live_server, person, js):
    n = person.phone[-6:]
    company = _company(live_server, n)
    live_server.create_user(person)  # the visitor has an account
    staff_email = f"uzraugs{n}@example.lv"
    with live_server.app.app_context(), models.db.connection_context():
        models.User.create(email=staff_email, phone=f"+3712{n}8"[:12], staff_role="supervisor",
                           password_hash=models.hash_password("Zilais-Kalns7!"))
    sign_in(page, staff_email, password="Zilais-Kalns7!")
    page.goto("/staff/main-user-requests")
    page.locator("a[href='/staff/main-users']").click()
    page.wait_for_url("**/staff/main-users")
    page.fill("#q", f"vizīte {n}")
    page.locator("form.search-form button[type=submit]").click()
    result = page.locator(f"#main-user-companies a[href='/staff/main-users/{company}']")
    expect(result).to_be_visible()
    result.click()
    page.wait_for_url(f"**/staff/main-users/{company}")
    expect(page.locator("#no-main-user")).to_be_visible()

    submit(page, "#person")  # nothing typed: messages by the fields and in the summary
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#person-error")).to_be_visible()
    page.fill("#person", person.email)
    page.fill("#note", "Pase un reģistra izziņa pārbaudīta klātienē.")
    submit(page, "#person")
    page.wait_for_url(f"**/staff/main-users/{company}")
    card = page.locator("section.card[id^='main-user-']")
    expect(card).to_contain_text(person.email)
    expect(page.locator("#no-main-user")).to_have_count(0)

    # Taking the only main user away needs the box ticked.
    note = card.locator("textarea")
    note.fill("Vairs nav valdes loceklis.")
    card.locator("button[type=submit]").click()
    expect(page.locator("section.card .field-error").first).to_be_visible()
    page.locator("section.card textarea").fill("Vairs nav valdes loceklis.")
    page.locator("section.card input[type=checkbox]").check()
    page.locator("section.card button[type=submit]").click()
    expect(page.locator("#no-main-user")).to_be_visible()
    user = live_server.user(person.email)
    with live_server.app.app_context(), models.db.connection_context():
        membership = models.Membership.get(models.Membership.user == user.id, models.Membership.client == company)
        assert (membership.role, membership.can_manage_users) == (rules.COLLEAGUE, False)
    if js:
        # the two refusals answer 422 (the form again, with its messages): nothing else failed
        assert [e for e in page.console_errors if "status of 422" not in e] == [], page.console_errors
        assert page.evaluate("() => window.__cspViolations") == []
