"""A company's users in the browser (issue 13), with JavaScript on and off: the main user invites a
colleague from the users page, the colleague opens the e-mailed link, signs in, accepts, and sees
only what was granted; the main user revokes, and the colleague's next click in their open session
no longer reaches the company."""
import re

from playwright.sync_api import expect

import models
import rules
from models.company import Invitation
from models.documents import Document

from .helpers import Axe, screenshot, sign_in, submit

LINK = re.compile(r"http://portal\.test(/invitations/[A-Za-z0-9_\-]+)")


def _company(live, email, phone):
    """Alfa SIA with its main user (made directly: becoming main user is another part of the issue)."""
    with live.app.app_context(), models.db.connection_context():
        user = models.User.create(email=email, phone=phone, full_name="Anna Galvenā",
                                  password_hash=models.hash_password("Zilais-Kalns7!"))
        company = models.Client.create(kind=rules.LEGAL, name="Alfa SIA")
        models.Membership.grant(user, company, rules.MAIN)
        return user.id, company.id


def test_invite_accept_see_only_what_was_granted_then_revoke(browser, page, live_server, person, js):
    mode = "js" if js else "nojs"
    n = person.phone[-6:]
    main_email = f"galvenais{n}@example.lv"
    main_id, company = _company(live_server, main_email, f"+3712{n}9"[:12])
    live_server.create_user(person)  # the colleague has an account (their private one) already

    # The main user: dashboard → users page → invite, with "see documents" and "messages" only.
    sign_in(page, main_email)
    page.locator(f"a[href$='/companies/{company}/users']").click()
    page.wait_for_url(f"**/companies/{company}/users")
    expect(page.locator("#responsibility")).to_be_visible()
    page.locator(f"a[href$='/companies/{company}/invitations/new']").click()
    page.wait_for_url("**/invitations/new")
    submit(page, "#email")  # nothing typed: a message by the field and in the summary
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#email-error")).to_be_visible()
    page.fill("#full_name", "Ilze Kolēģe")
    page.fill("#email", person.email)
    page.uncheck("#can_submit")
    page.check("#scope-1")  # only their own items
    submit(page, "#email")
    page.wait_for_url(f"**/companies/{company}/users")
    expect(page.locator("#company-invitations")).to_contain_text(person.email)
    screenshot(page, f"company-users-invited-{mode}")

    # The colleague, in a browser of their own: the link, sign in, come back, accept.
    text = live_server.emails(person.email)[-1]
    path = LINK.search(text).group(1)
    colleague_context = browser.new_context(base_url=live_server.url, java_script_enabled=js,
                                            viewport={"width": 360, "height": 800})
    colleague = colleague_context.new_page()
    try:
        colleague.goto(path)
        colleague.wait_for_url("**/invitations")
        expect(colleague.locator("#invitation")).to_contain_text("Alfa SIA")
        colleague.locator("#invitation a[href^='/login']").click()
        colleague.wait_for_url(re.compile(r".*/login\?next=.*invitations$"))
        colleague.fill("#identifier", person.email)
        colleague.fill("#password", "Zilais-Kalns7!")
        submit(colleague, "#identifier")
        colleague.wait_for_url("**/invitations")
        colleague.locator("#invitation form button[type=submit]").click()
        colleague.wait_for_url("**/dashboard")
        expect(colleague.locator(f"#account-{company}")).to_be_visible()
        assert colleague.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")

        # Only what was granted: their own document, not the main user's; no new documents.
        user = live_server.user(person.email)
        with live_server.app.app_context(), models.db.connection_context():
            own = Document.create(client=company, created_by=user.id, doc_type="company_documents")
            others = Document.create(client=company, created_by=main_id, doc_type="company_documents")
        colleague.goto("/documents")
        expect(colleague.locator(f"#document-{own.id}-row")).to_be_visible()
        expect(colleague.locator(f"#document-{others.id}-row")).to_have_count(0)
        expect(colleague.locator("[name=doc_type]")).to_have_count(0)  # no right to submit: no new-document form
        assert colleague.goto(f"/documents/{others.id}").status == 404
        colleague.goto("/documents")
        screenshot(colleague, f"company-colleague-documents-{mode}")

        # The main user revokes.
        page.reload()
        member_link = page.locator("#company-users tr", has_text=person.email).locator("a")
        member_link.click()
        page.wait_for_url(re.compile(r".*/users/\d+$"))
        page.check("#confirm")
        submit(page, "#confirm")
        page.wait_for_url(f"**/companies/{company}/users")
        expect(page.locator("#company-users")).not_to_contain_text(person.email)

        # The colleague's next click, in the session still open, no longer reaches the company.
        with colleague.expect_response(re.compile(rf".*/documents/{own.id}$")) as answer:
            colleague.locator(f"#document-{own.id}-title").click()
        assert answer.value.status == 404
        # With htmx too the 404 page shows (a boosted link answered 404 loads as a whole page).
        colleague.wait_for_url(re.compile(rf".*/documents/{own.id}$"))
        expect(colleague.locator("#document-" + str(own.id) + "-title")).to_have_count(0)
        expect(colleague.locator("main h1")).to_be_visible()
        colleague.goto("/dashboard")
        expect(colleague.locator(f"#account-{company}")).to_have_count(0)
        screenshot(colleague, f"company-colleague-revoked-{mode}")
    finally:
        colleague_context.close()
    if js:
        errors = [e for e in page.console_errors if "status of 422" not in e]
        assert errors == [], errors
        assert page.evaluate("() => window.__cspViolations") == []


def test_company_pages_have_no_axe_violations(axe_page, live_server, person):
    n = person.phone[-6:]
    main_email = f"galvenais.axe{n}@example.lv"
    main_id, company = _company(live_server, main_email, f"+3712{n}8"[:12])
    with live_server.app.app_context(), models.db.connection_context():
        colleague = models.User.create(email=person.email, phone=person.e164, full_name="Ilze Kolēģe",
                                       password_hash="x")
        member = models.Membership.grant(colleague, models.Client.get_by_id(company), rules.COLLEAGUE)
        _row, token = Invitation.issue(models.Client.get_by_id(company), models.User.get_by_id(main_id),
                                       {"documents"}, True, email=f"jauns{n}@example.lv",
                                       link=lambda t: f"/invitations/{t}")
        models.AuditLog.record("company.invitation_sent", user=models.User.get_by_id(main_id), client=company,
                               invited=f"jauns{n}@example.lv", rights=["documents"], own_items_only=True)
    axe = Axe(axe_page)
    page = axe.page
    page.goto(f"/invitations/{token}")
    axe.check("company-invitation-signed-out")
    sign_in(page, main_email)
    for name, path in (("company-users", f"/companies/{company}/users"),
                       ("company-member", f"/companies/{company}/users/{member.id}"),
                       ("company-history", f"/companies/{company}/history"),
                       ("company-invite", f"/companies/{company}/invitations/new")):
        page.goto(path)
        axe.check(name)
    submit(page, "#email")
    expect(page.locator("#error-summary")).to_be_visible()
    axe.check("company-invite-errors")
    page.goto(f"/companies/{company}/users/{member.id}")
    submit(page, "#confirm")
    expect(page.locator("#error-summary")).to_be_visible()
    axe.check("company-revoke-errors")
    page.goto(f"/invitations/{token}")
    axe.check("company-invitation-signed-in")
    axe.assert_clean()
