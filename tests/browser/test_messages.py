"""Messages in the browser: writing with an attachment, a staff reply arriving in an open
thread without a reload (JavaScript on) or on reload (off), and axe-core on every page."""
import re

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD, assign_clients  # tests/conftest.py

from .conftest import Person
from .helpers import Axe, screenshot, sign_in, submit


@pytest.fixture(autouse=True)
def _uploads_in_tmp(live_server, tmp_path):
    live_server.app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    live_server.app.extensions.pop("storage", None)


def colleague_of(person, prefix):
    """Other contact details derived from the test's person (unique in the run as well)."""
    return Person(email=f"{prefix}.{person.email}", phone=f"{prefix}{person.phone[2:]}")


def staff_member(live_server, person, role="consultant", name="Ilze Konsultante", prefix="27"):
    staff = colleague_of(person, prefix)
    live_server.create_user(staff, staff_role=role, full_name=name)
    assign_clients(live_server.app, staff.email, of=person.email)  # issue 15: the consultant's client
    return staff


def write_message(page, tmp_path, text, attach=True):
    """From the dashboard: "Uzrakstīt ziņojumu", text (and a file), "Nosūtīt"."""
    page.goto("/dashboard")
    page.locator("main a[href='/messages/new']").click()
    page.wait_for_url("**/messages/new")
    page.fill("#subject", "Konta izraksts")
    page.fill("#body", text)
    if attach:
        attachment = tmp_path / "izraksts.txt"
        attachment.write_text("Konta izraksts par oktobri.\n" * 50, encoding="utf-8")
        page.set_input_files("#files", str(attachment))
    submit(page, "#body")
    page.wait_for_url(re.compile(r".*/messages/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def staff_context(browser, live_server, js=True):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=js,
                                  viewport={"width": 1100, "height": 900})
    context.set_default_timeout(10_000)
    return context


def test_client_writes_a_message_with_an_attachment(page, live_server, person, js, tmp_path):
    live_server.create_user(person)
    sign_in(page, person.email)
    thread_id = write_message(page, tmp_path, "Lūdzu, skatiet pielikumu: https://example.lv/izraksts")
    messages = page.locator(f"#thread-{thread_id}-messages")
    expect(messages).to_contain_text("Lūdzu, skatiet pielikumu")
    expect(messages.locator("a[rel='nofollow noopener']")).to_have_attribute("href", "https://example.lv/izraksts")
    download_link = messages.locator(f"a[href^='/messages/{thread_id}/files/']")
    expect(download_link).to_have_text("izraksts.txt")
    with page.expect_download() as download:
        download_link.click()
    assert download.value.suggested_filename == "izraksts.txt"
    screenshot(page, f"messages-thread-client-{'js' if js else 'nojs'}")
    page.goto("/messages")
    expect(page.locator(f"#thread-{thread_id}-row")).to_contain_text("Konta izraksts")
    if js:
        assert page.console_errors == [], page.console_errors
        assert page.evaluate("() => window.__cspViolations") == []


def test_a_staff_reply_reaches_the_open_thread(browser, page, live_server, person, js, tmp_path):
    """With JavaScript the reply appears by polling, without a reload; without it, on reload."""
    live_server.create_user(person)
    staff = staff_member(live_server, person)
    sign_in(page, person.email)
    thread_id = write_message(page, tmp_path, "Kad tiks atvērts konts?", attach=False)
    if js:
        page.evaluate("() => { window.__sameDocument = true; }")

    context = staff_context(browser, live_server)
    staff_page = context.new_page()
    sign_in(staff_page, staff.email, PASSWORD)
    staff_page.goto("/staff/messages")
    staff_page.locator(f"#queue-{thread_id} a").click()
    staff_page.wait_for_url(f"**/staff/messages/{thread_id}")
    staff_page.fill("#body", "Konts tiks atvērts rīt.")
    submit(staff_page, "#body")
    staff_page.wait_for_url(f"**/staff/messages/{thread_id}")
    expect(staff_page.locator(".flash--success")).to_be_visible()
    screenshot(staff_page, "messages-thread-staff")
    context.close()

    reply = page.locator(f"#thread-{thread_id}-messages .message--staff")
    if js:
        expect(reply).to_contain_text("Konts tiks atvērts rīt.", timeout=15_000)
        assert page.evaluate("() => window.__sameDocument") is True  # no reload happened
        assert page.console_errors == [], page.console_errors
        assert page.evaluate("() => window.__cspViolations") == []
    else:
        expect(reply).to_have_count(0)
        page.reload()
        expect(reply).to_contain_text("Konts tiks atvērts rīt.")
    expect(reply).to_contain_text("Ilze Konsultante")
    expect(page.locator("#rating")).to_be_visible()
    screenshot(page, f"messages-thread-answered-{'js' if js else 'nojs'}")


def test_message_pages_have_no_axe_violations(browser, axe_page, live_server, person, tmp_path):
    axe = Axe(axe_page)
    page = axe.page
    live_server.create_user(person)
    sign_in(page, person.email)
    page.goto("/messages")
    axe.check("messages-empty")
    page.goto("/messages/new")
    axe.check("messages-new")
    submit(page, "#body")
    expect(page.locator("#error-summary")).to_be_visible()
    axe.check("messages-new-errors")
    thread_id = write_message(page, tmp_path, "Sveiki! Jautājums par līgumu.")
    axe.check("messages-thread")
    page.goto("/messages")
    axe.check("messages-list")

    staff = staff_member(live_server, person, role="supervisor", name="Vita Vadītāja", prefix="28")
    context = browser.new_context(base_url=live_server.url, bypass_csp=True,
                                  viewport={"width": 1100, "height": 900})
    staff_axe = Axe(context.new_page())
    staff_page = staff_axe.page
    sign_in(staff_page, staff.email, PASSWORD)
    staff_page.goto("/staff/messages")
    staff_axe.check("staff-messages-queue")
    staff_page.goto(f"/staff/messages/{thread_id}")
    staff_axe.check("staff-messages-thread")
    staff_page.fill("#reason", "")
    submit(staff_page, "#reason")
    expect(staff_page.locator("#error-summary")).to_be_visible()
    staff_axe.check("staff-messages-delay-errors")
    staff_page.fill("#body", "Līgums ir nosūtīts.")
    submit(staff_page, "#body")
    staff_page.wait_for_url(f"**/staff/messages/{thread_id}")

    page.goto(f"/messages/{thread_id}")
    expect(page.locator("#rating")).to_be_visible()
    axe.check("messages-thread-answered")
    page.check("#score-0")
    page.fill("#comment", "Paldies, ātri.")
    submit(page, "#comment")
    expect(page.locator(".flash--success")).to_be_visible()
    axe.check("messages-thread-rated")

    staff_page.goto("/staff/messages/ratings")
    staff_axe.check("staff-messages-ratings")
    context.close()
    axe.assert_clean()
    staff_axe.assert_clean()


@pytest.mark.parametrize("js", [True], ids=["js"])
def test_polling_pauses_while_the_tab_is_hidden_and_resumes_at_once(page, live_server, person, js, tmp_path):
    live_server.create_user(person)
    sign_in(page, person.email)
    thread_id = write_message(page, tmp_path, "Vai polling apstājas?", attach=False)
    polls = []
    page.on("request", lambda r: polls.append(r.url) if f"/messages/{thread_id}/poll" in r.url else None)
    page.wait_for_timeout(3500)
    assert polls, "no poll while the tab was visible"
    page.evaluate("() => Object.defineProperty(document, 'hidden', {value: true, configurable: true})")
    polls.clear()
    page.wait_for_timeout(7000)  # two intervals
    assert polls == []
    page.evaluate("() => { Object.defineProperty(document, 'hidden', {value: false, configurable: true});"
                  " document.dispatchEvent(new Event('visibilitychange')); }")
    page.wait_for_timeout(500)
    assert len(polls) == 1  # asked at once on return, not after the next interval
    assert page.console_errors == [], page.console_errors
