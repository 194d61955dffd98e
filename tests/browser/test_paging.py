"""Paging in the browser: a thread's earlier messages in place (JavaScript on) or on a page
of their own that links back to the newest (off); the documents list's older and newer
pages; axe-core on paged pages. Rows are made in bulk with benchmarks/data.py."""
import re
from datetime import timedelta

from playwright.sync_api import expect

import models
from benchmarks import data
from rules import LIST_PAGE_SIZE, THREAD_PAGE_SIZE

from .helpers import Axe, sign_in


def seeded(live_server, person, documents=0, messages=0):
    """The person's client with ``documents`` documents and a thread of ``messages`` messages
    (returns the thread's id and its message ids, oldest first)."""
    live_server.create_user(person)
    with live_server.app.app_context(), models.db.connection_context():
        user = models.User.get(models.User.email == person.email)
        client = models.Membership.get(models.Membership.user == user).client
        start = models.utcnow() - timedelta(days=10)
        with models.db.atomic():
            data.documents(client, user, documents, start)
            thread = data.long_thread(client, user, user, messages, start) if messages else None
        if thread is None:
            return None, []
        return thread.id, [m.id for m in models.messages.Message.select(models.messages.Message.id)
                           .where(models.messages.Message.thread == thread).order_by(models.messages.Message.id)]


def message_ids(page, thread_id):
    return [int(x) for x in page.locator("li.message").evaluate_all("els => els.map(e => e.id.split('-')[1])")]


def test_earlier_messages_load_in_place_or_on_their_own_page(page, live_server, person, js):
    thread_id, oldest_first = seeded(live_server, person, messages=2 * THREAD_PAGE_SIZE + 5)
    sign_in(page, person.email)
    page.goto(f"/messages/{thread_id}")
    assert message_ids(page, thread_id) == oldest_first[-THREAD_PAGE_SIZE:]
    earlier = page.locator(f"#thread-{thread_id}-earlier a")
    if js:
        page.evaluate("() => { window.__sameDocument = true; }")
        earlier.click()
        expect(page.locator("li.message")).to_have_count(2 * THREAD_PAGE_SIZE)
        assert message_ids(page, thread_id) == oldest_first[-2 * THREAD_PAGE_SIZE:]  # older ones above
        expect(page.locator("h1")).to_have_count(1)  # the messages came, not a page inside the page
        expect(page.locator("#reply-form")).to_have_count(1)
        page.locator(f"#thread-{thread_id}-earlier a").click()
        expect(page.locator("li.message")).to_have_count(len(oldest_first))
        assert message_ids(page, thread_id) == oldest_first
        expect(page.locator(f"#thread-{thread_id}-earlier")).to_have_count(0)  # nothing earlier
        assert page.url.endswith(f"/messages/{thread_id}")  # the same page, still polling
        assert page.evaluate("() => window.__sameDocument") is True
        expect(page.locator(f"#thread-{thread_id}-poll")).to_have_count(1)
        assert page.console_errors == [], page.console_errors
        assert page.evaluate("() => window.__cspViolations") == []
    else:
        earlier.click()
        page.wait_for_url(re.compile(rf".*/messages/{thread_id}\?before=\d+$"))
        assert message_ids(page, thread_id) == oldest_first[-2 * THREAD_PAGE_SIZE:-THREAD_PAGE_SIZE]
        page.locator(f"main a[href='/messages/{thread_id}']").click()  # back to the newest
        page.wait_for_url(re.compile(rf".*/messages/{thread_id}$"))
        assert message_ids(page, thread_id) == oldest_first[-THREAD_PAGE_SIZE:]


def test_documents_list_pages_older_and_newer(page, live_server, person, js):
    seeded(live_server, person, documents=LIST_PAGE_SIZE + 4)
    sign_in(page, person.email)
    page.goto("/documents")
    rows = page.locator("#documents-rows tr")
    expect(rows).to_have_count(LIST_PAGE_SIZE)
    first = rows.first.get_attribute("id")
    if js:
        page.evaluate("() => { window.__sameDocument = true; }")
    page.locator("#documents-pager a[rel='next']").click()
    page.wait_for_url(re.compile(r".*/documents\?before=\d+$"))
    expect(rows).to_have_count(4)
    page.locator("#documents-pager a[rel='prev']").click()
    page.wait_for_url(re.compile(r".*/documents(\?after=\d+)?$"))
    expect(rows).to_have_count(LIST_PAGE_SIZE)
    expect(rows.first).to_have_attribute("id", first)
    if js:
        assert page.evaluate("() => window.__sameDocument") is True  # swapped by htmx, no page load
        assert page.console_errors == [], page.console_errors
        assert page.evaluate("() => window.__cspViolations") == []


def test_paged_pages_have_no_axe_violations(axe_page, live_server, person):
    thread_id, _ids = seeded(live_server, person, documents=LIST_PAGE_SIZE + 1, messages=THREAD_PAGE_SIZE + 5)
    axe = Axe(axe_page)
    page = axe.page
    sign_in(page, person.email)
    page.goto("/documents")
    axe.check("documents-paged")
    page.goto(f"/messages/{thread_id}")
    axe.check("thread-paged")
    page.locator(f"#thread-{thread_id}-earlier a").click()
    expect(page.locator("li.message")).to_have_count(THREAD_PAGE_SIZE + 5)
    axe.check("thread-earlier-loaded")
    axe.assert_clean()
