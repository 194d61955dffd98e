"""The client's services in the browser (issue 15), with JavaScript on and off: a colleague limited
to own items finds the service assigned to them on the dashboard, opens it, sends a request about
it (first empty: the messages by the field and in the summary), and sees the request with its
status; the main user reads a loan's schedule on a 320 px screen, its rows stacked."""
from datetime import date, timedelta
from decimal import Decimal

from playwright.sync_api import expect

import models
import rules
from models.services import Service
from rules import services as S

from .helpers import screenshot, sign_in, submit


def _company(live, n):
    """Alfa SIA: Anna its main user, Ilze a colleague limited to own items (with the right to see
    services); a loan of the company's, and a connection assigned to Ilze."""
    with live.app.app_context(), models.db.connection_context():
        def user(email, phone, name):
            return models.User.create(email=email, phone=phone, full_name=name,
                                      password_hash=models.hash_password("Zilais-Kalns7!"))
        anna = user(f"anna.serv{n}@example.lv", f"+37121{n}"[:12].ljust(12, "1"), "Anna Galvenā")
        ilze = user(f"ilze.serv{n}@example.lv", f"+37122{n}"[:12].ljust(12, "2"), "Ilze Kolēģe")
        company = models.Client.create(kind=rules.LEGAL, name=f"Alfa SIA {n}")
        models.Membership.grant(anna, company, rules.MAIN)
        models.Membership.grant(ilze, company, rules.COLLEAGUE, services=True)
        today = date.today()
        with models.action():
            loan = Service.save_from(None, company, None, {
                "category": S.LOAN, "number": f"A-{n}", "name": "Apgrozāmo līdzekļu aizdevums",
                "amount": Decimal("12000.00"), "valid_from": today, "valid_until": today + timedelta(days=400)},
                [(today + timedelta(days=30 * k), Decimal("1000.00")) for k in range(1, 13)])
            connection = Service.save_from(None, company, None, {
                "category": S.CONNECTION, "number": f"+371 2000 {n}", "name": "Biznesa 20 GB", "assignee": ilze.id},
                [])
        return anna.email, ilze.email, loan.id, connection.id


def test_a_colleague_sends_a_request_about_their_service_and_sees_its_status(page, live_server, person, js):
    mode = "js" if js else "nojs"
    n = person.phone[-6:]
    _anna, ilze, loan, connection = _company(live_server, n)

    sign_in(page, ilze)
    block = page.locator("#services")
    expect(block.locator(f"#dash-service-{connection}")).to_be_visible()
    expect(block.locator(f"#dash-service-{loan}")).to_have_count(0)  # the company's, not assigned to her
    block.locator(f"a[href$='/services/{connection}']").click()
    page.wait_for_url(f"**/services/{connection}")
    expect(page.locator("h1")).to_contain_text(f"+371 2000 {n}")

    if js:  # a mark on this very page: still there after the sending means htmx swapped the section in place
        page.evaluate("() => { window.__samePage = true; }")
    submit(page, "#details")  # nothing chosen, nothing written
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#kind-error")).to_be_visible()
    expect(page.locator("#details-error")).to_be_visible()
    page.select_option("#kind", S.CHANGE_PLAN)
    page.fill("#details", "Lūdzu, mainiet plānu uz neierobežotu no nākamā mēneša.")
    submit(page, "#details")
    row = page.locator("#service-requests tbody tr").first
    expect(row).to_contain_text("Mainīt tarifu plānu")
    expect(row.locator("[data-status]")).to_have_text("Apstrādē")
    expect(page.locator("#flashes")).to_contain_text("pieprasījums nosūtīts")
    expect(page.locator("#error-summary")).to_have_count(0)
    assert page.url.endswith(f"/services/{connection}")
    if js:
        assert page.evaluate("() => window.__samePage === true")
    screenshot(page, f"service-request-{mode}")

    # The request is her document too, in the documents workflow.
    row.locator("a").click()
    page.wait_for_url("**/documents/*")
    expect(page.locator("#document-status")).to_have_text("Apstrādē")

    with live_server.app.app_context(), models.db.connection_context():
        assert models.ServiceRequest.select().where(models.ServiceRequest.service == connection).count() == 1
    errors = [e for e in page.console_errors if "status of 422" not in e]
    assert errors == [], errors
    if js:
        assert page.evaluate("() => window.__cspViolations") == []


def test_a_loans_schedule_stacks_on_a_320_px_screen(browser, live_server, person, js):
    n = person.phone[-6:]
    anna, _ilze, loan, _connection = _company(live_server, n)
    context = browser.new_context(base_url=live_server.url, viewport={"width": 320, "height": 700},
                                  java_script_enabled=js)
    page = context.new_page()
    sign_in(page, anna)
    page.goto("/services")
    expect(page.locator(f"#service-{loan}-row")).to_be_visible()
    page.locator(f"#service-{loan}-row a").click()
    page.wait_for_url(f"**/services/{loan}")
    cells = page.locator("#schedule tbody tr").first.locator("td")
    expect(cells).to_have_count(4)
    boxes = [cells.nth(i).bounding_box() for i in range(4)]
    assert all(b["y"] < c["y"] for b, c in zip(boxes, boxes[1:], strict=False)), boxes  # stacked
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    expect(page.locator("#schedule tbody tr")).to_have_count(12)
    screenshot(page, f"service-loan-320-{'js' if js else 'nojs'}")
    context.close()
