"""A power of attorney for a company the person does not act for yet (issue 13), with JavaScript on
and off: the person sends it from the dashboard by the company's registration number; a supervisor
verifies it, reading it as granting documents and messages; the person then acts for the company
as a colleague with those rights, and the company's main user is told."""
from datetime import date, timedelta

from playwright.sync_api import expect

import models
import rules
from fixtures_files import pdf  # tests/fixtures_files.py

from .helpers import sign_in, sign_out, submit


def test_a_power_of_attorney_for_a_company_gives_a_newcomer_the_rights_staff_set(page, live_server, person, js,
                                                                                  tmp_path):
    n = person.phone[-6:]
    number = f"40103{n}"
    with live_server.app.app_context(), models.db.connection_context():
        main = models.User.create(email=f"galvenais{n}@example.lv", phone=f"+3712{n}7"[:12],
                                  password_hash=models.hash_password("Zilais-Kalns7!"))
        company = models.Client.create(kind=rules.LEGAL, name=f"Pilnvaru {n} SIA", registration_number=number)
        models.Membership.grant(main, company, rules.MAIN)
        models.User.create(email=f"uzraugs{n}@example.lv", phone=f"+3712{n}8"[:12], staff_role="supervisor",
                           password_hash=models.hash_password("Zilais-Kalns7!"))
    live_server.create_user(person)
    signed = tmp_path / "pilnvara.pdf"
    signed.write_bytes(pdf())

    sign_in(page, person.email)
    page.locator("#power-of-attorney-links a[href='/power-of-attorney']").click()
    page.wait_for_url("**/power-of-attorney")
    page.fill("#registration_number", "40003999999")  # no such company
    page.set_input_files("#files", str(signed))
    page.check("#can_finance")
    submit(page, "#registration_number")
    expect(page.locator("#registration_number-error")).to_be_visible()
    page.fill("#registration_number", number)
    page.set_input_files("#files", str(signed))
    if not page.locator("#can_finance").is_checked():
        page.check("#can_finance")
    submit(page, "#registration_number")
    expect(page.locator("#powers-of-attorney")).to_contain_text(f"Pilnvaru {n} SIA")
    sign_out(page)

    sign_in(page, f"uzraugs{n}@example.lv", password="Zilais-Kalns7!")
    page.goto("/staff/powers-of-attorney")
    page.locator("#powers-of-attorney-queue tr[id^='power-of-attorney-'] a").first.click()
    expect(page.locator("#power-of-attorney-member")).to_be_visible()
    page.check("#decision-0")
    page.uncheck("#can_finance")
    page.check("#can_documents")
    page.check("#can_messages")
    today = date.today()
    page.fill("#valid_from", today.isoformat())
    page.fill("#valid_until", (today + timedelta(days=90)).isoformat())
    submit(page, "#note")
    page.wait_for_url("**/staff/powers-of-attorney")
    sign_out(page)

    user = live_server.user(person.email)
    with live_server.app.app_context(), models.db.connection_context():
        m = models.Membership.get(models.Membership.user == user.id, models.Membership.client == company.id)
        assert (m.role, m.can_documents, m.can_messages, m.can_finance, m.revoked_at) == (
            rules.COLLEAGUE, True, True, False, None)
    assert f"Pilnvaru {n} SIA" in live_server.emails(f"galvenais{n}@example.lv")[-1]
    sign_in(page, person.email)
    expect(page.locator("main")).to_contain_text(f"Pilnvaru {n} SIA")
    if js:
        assert [e for e in page.console_errors if "status of 422" not in e] == [], page.console_errors
        assert page.evaluate("() => window.__cspViolations") == []
