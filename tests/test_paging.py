"""Paging (issue 10): every list a page at a time, newest first, by key — "older" / "newer"
links that work without JavaScript and with htmx, a thread's earlier messages loaded in
place, cursors that are not cursors taken as the first page, the documents list's poll
about the page on screen, and a page's SQL statements that do not grow with the rows.

Rows are made in bulk with ``benchmarks/data.py`` (the benchmark's generator)."""
import re
from contextlib import contextmanager
from datetime import timedelta

import pytest

import models
from benchmarks import data
from conftest import create_user, login, post_form
from models.documents import Document
from models.messages import Message, Thread, ThreadRating, ThreadRead
from models.paging import Keyset
from rules import LIST_PAGE_SIZE, QUEUE_PAGE_SIZE, THREAD_PAGE_SIZE
from rules import documents as R

CLIENT = "anna@example.lv"
STAFF = "ilze@example.lv"
HX = {"HX-Request": "true"}


@pytest.fixture
def people(app):
    create_user(app, email=CLIENT, full_name="Anna Liepa")
    create_user(app, email=STAFF, phone="+37123333333", staff_role="supervisor", full_name="Ilze Konsultante")


@contextmanager
def domain(app):
    with app.app_context(), models.db.connection_context():
        yield


def seed(app, documents=0, threads=0, messages=0):
    """Anna's client gets ``documents`` documents, ``threads`` threads (with answers and
    ratings) and, with ``messages``, one more thread of that many; returns its id."""
    with domain(app):
        user = models.User.get(models.User.email == CLIENT)
        staff = models.User.get(models.User.email == STAFF)
        client = models.Membership.get(models.Membership.user == user).client
        start = models.utcnow() - timedelta(days=30)
        with models.db.atomic():
            if documents:
                data.documents(client, user, documents, start)
            if threads:
                data.threads(client, user, staff, threads, start)
            if messages:
                return data.long_thread(client, user, staff, messages, start + timedelta(days=1)).id


def text(response):
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def ids(html, pattern):
    return [int(x) for x in re.findall(pattern, html)]


def link(html, rel):
    """The href of the link with this rel ("next": older, "prev": newer), or None."""
    match = re.search(rf'<a href="([^"]+)" rel="{rel}"', html)
    return match.group(1).replace("&amp;", "&") if match else None


DOCUMENT_ROW = r'id="document-(\d+)-row"'
THREAD_ROW = r'id="thread-(\d+)-row"'
MESSAGE = r'<li class="message[^"]*" id="message-(\d+)"'


# --- The lists, page by page ------------------------------------------------------------

@pytest.mark.postgres
def test_documents_list_shows_a_page_with_older_and_newer_links(client, app, db, people):
    seed(app, documents=2 * LIST_PAGE_SIZE + 5)
    newest_first = [d.id for d in Document.select(Document.id).order_by(Document.id.desc())]
    login(client, CLIENT)
    first = text(client.get("/documents"))
    assert ids(first, DOCUMENT_ROW) == newest_first[:LIST_PAGE_SIZE]
    assert link(first, "prev") is None
    older = link(first, "next")
    assert older == f"/documents?before={newest_first[LIST_PAGE_SIZE - 1]}"

    second = text(client.get(older))  # without JavaScript: the whole page
    assert "<html" in second and ids(second, DOCUMENT_ROW) == newest_first[LIST_PAGE_SIZE:2 * LIST_PAGE_SIZE]
    assert ids(text(client.get(link(second, "prev"))), DOCUMENT_ROW) == newest_first[:LIST_PAGE_SIZE]
    last = text(client.get(link(second, "next")))
    assert ids(last, DOCUMENT_ROW) == newest_first[2 * LIST_PAGE_SIZE:] and link(last, "next") is None
    assert 'href="/documents"' in last  # back to the newest

    fragment = text(client.get(older, headers=HX))  # htmx: the list's fragment, links that swap it
    assert "<html" not in fragment and fragment.lstrip().startswith('<div id="documents-list">')
    assert ids(fragment, DOCUMENT_ROW) == newest_first[LIST_PAGE_SIZE:2 * LIST_PAGE_SIZE]
    assert f'hx-get="{link(fragment, "next")}" hx-target="#documents-list"' in fragment
    assert ids(text(client.get(link(fragment, "prev"), headers=HX)), DOCUMENT_ROW) == newest_first[:LIST_PAGE_SIZE]


@pytest.mark.postgres
def test_messages_list_pages_by_last_message_then_id_even_when_times_are_equal(client, app, db, people):
    seed(app, threads=2 * LIST_PAGE_SIZE + 3)
    with domain(app):  # half the threads at one moment: the id must order them
        same = models.utcnow() - timedelta(hours=1)
        evens = [t.id for t in Thread.select(Thread.id) if t.id % 2 == 0]
        Thread.update(last_message_at=same).where(Thread.id.in_(evens)).execute()
        expected = [t.id for t in Thread.select(Thread.id).order_by(Thread.last_message_at.desc(), Thread.id.desc())]
    login(client, CLIENT)
    seen, url, pages = [], "/messages", []
    while url:
        html = text(client.get(url))
        pages.append(html)
        seen += ids(html, THREAD_ROW)
        url = link(html, "next")
    assert seen == expected and len(pages) == 3
    assert re.search(r'href="/messages\?before=\d+_\d+" rel="next"', pages[0])

    back = text(client.get(link(pages[2], "prev"), headers=HX))  # newer, as htmx asks for it
    assert "<html" not in back and 'id="threads"' in back
    assert ids(back, THREAD_ROW) == expected[len(expected) - 3 - LIST_PAGE_SIZE:len(expected) - 3]


@pytest.mark.postgres
def test_staff_ratings_and_answered_threads_page_by_key(client, app, db, people):
    seed(app, threads=4 * QUEUE_PAGE_SIZE)  # two in three answered and rated, one in three waiting
    login(client, STAFF)
    with domain(app):
        rated = [r.thread_id for r in ThreadRating.select().order_by(ThreadRating.created_at.desc(),
                                                                     ThreadRating.id.desc())]
        answered = [t.id for t in Thread.select().where(Thread.waiting_since.is_null())
                    .order_by(Thread.last_message_at.desc(), Thread.id.desc())]
        waiting = Thread.select().where(Thread.waiting_since.is_null(False)).count()
        scores = [r.score for r in ThreadRating.select()]
    seen, url = [], "/staff/messages/ratings"
    while url:
        html = text(client.get(url))
        seen += ids(html, r'<td[^>]*><a href="/staff/messages/(\d+)"')
        assert f"Vidēji {sum(scores) / len(scores):.1f} no 5 (vērtējumu skaits: {len(scores)})" in html  # all, not a page
        url = link(html, "next")
    assert seen == rated and len(rated) > LIST_PAGE_SIZE

    queue = text(client.get("/staff/messages"))
    answered_part = queue[queue.index("<h2"):]
    assert ids(answered_part, r'href="/staff/messages/(\d+)"')[:QUEUE_PAGE_SIZE] == answered[:QUEUE_PAGE_SIZE]
    assert len(re.findall(r'<tr id="queue-\d+"', queue)) == min(waiting, QUEUE_PAGE_SIZE)
    assert "?page=2" in queue and "?before=" in queue  # the waiting threads by number, the answered by key


# --- A thread: the latest messages, earlier ones in place or by link ------------------------

@pytest.mark.postgres
def test_thread_shows_the_latest_messages_and_loads_earlier_ones_in_place(client, app, db, people):
    thread_id = seed(app, messages=2 * THREAD_PAGE_SIZE + 7)
    oldest_first = [m.id for m in Message.select(Message.id).where(Message.thread == thread_id).order_by(Message.id)]
    login(client, CLIENT)
    page = text(client.get(f"/messages/{thread_id}"))
    assert ids(page, MESSAGE) == oldest_first[-THREAD_PAGE_SIZE:]
    assert f'/messages/{thread_id}/poll?' in page  # the newest page polls
    earlier = link(page, "next")
    assert earlier == f"/messages/{thread_id}?before={oldest_first[-THREAD_PAGE_SIZE]}"
    assert f'hx-get="{earlier}" hx-target="#thread-{thread_id}-earlier" hx-swap="outerHTML"' in page

    swapped = text(client.get(earlier, headers=HX))  # htmx: the older messages and the next control
    assert "<html" not in swapped and "/poll?" not in swapped
    assert ids(swapped, MESSAGE) == oldest_first[-2 * THREAD_PAGE_SIZE:-THREAD_PAGE_SIZE]
    assert swapped.lstrip().startswith(f'<p class="earlier" id="thread-{thread_id}-earlier">')
    rest = text(client.get(link(swapped, "next"), headers=HX))
    assert ids(rest, MESSAGE) == oldest_first[:-2 * THREAD_PAGE_SIZE]
    assert f'id="thread-{thread_id}-earlier"' not in rest and link(rest, "next") is None  # nothing earlier


@pytest.mark.postgres
def test_thread_earlier_messages_without_javascript_are_a_page_that_links_back_to_the_newest(client, app, db,
                                                                                               people):
    thread_id = seed(app, messages=2 * THREAD_PAGE_SIZE + 7)
    oldest_first = [m.id for m in Message.select(Message.id).where(Message.thread == thread_id).order_by(Message.id)]
    login(client, CLIENT)
    earlier = link(text(client.get(f"/messages/{thread_id}")), "next")
    page = text(client.get(earlier))
    assert "<html" in page and "/poll?" not in page  # only the newest page polls
    assert ids(page, MESSAGE) == oldest_first[-2 * THREAD_PAGE_SIZE:-THREAD_PAGE_SIZE]
    assert f'<a href="/messages/{thread_id}">' in page  # the newest messages
    newer = text(client.get(link(page, "prev")))
    assert ids(newer, MESSAGE) == oldest_first[-THREAD_PAGE_SIZE:] and "/poll?" in newer

    login_staff = client.application.test_client()
    login(login_staff, STAFF)
    staff_page = text(login_staff.get(f"/staff/messages/{thread_id}"))
    staff_earlier = link(staff_page, "next")
    assert staff_earlier == f"/staff/messages/{thread_id}?before={oldest_first[-THREAD_PAGE_SIZE]}"
    assert ids(text(login_staff.get(staff_earlier, headers=HX)), MESSAGE) == \
        oldest_first[-2 * THREAD_PAGE_SIZE:-THREAD_PAGE_SIZE]


def test_an_earlier_page_neither_polls_nor_marks_the_thread_read(client, app, db, people):
    thread_id = seed(app, messages=THREAD_PAGE_SIZE + 5)
    oldest_first = [m.id for m in Message.select(Message.id).where(Message.thread == thread_id).order_by(Message.id)]
    ThreadRead.delete().execute()
    login(client, CLIENT)
    html = text(client.get(f"/messages/{thread_id}?before={oldest_first[10]}"))
    assert ids(html, MESSAGE) == oldest_first[:10] and "/poll?" not in html
    assert ThreadRead.select().count() == 0
    text(client.get(f"/messages/{thread_id}?before={oldest_first[-1] + 1}"))  # nothing newer: the newest page
    assert ThreadRead.get().last_read_id == oldest_first[-1]


# --- Cursors that are not cursors ------------------------------------------------------------

# Not a cursor of any list (the last two are cursors beyond every row: the first page too).
GARBAGE = ["abc", "-5", "1e309", "9" * 5000, "99999999999999999999", "_", "1.5", "0x10", "%00",
           "999999999999999999999_1", "abc_1", "1_abc", "1__2", "-1_5", "2147483647", "99999999999999999_5"]


@pytest.mark.postgres
@pytest.mark.parametrize("who, path, rows", [
    ("client", "/documents", DOCUMENT_ROW),
    ("client", "/messages", THREAD_ROW),
    ("client", "/messages/{thread}", MESSAGE),
    ("staff", "/staff/messages/{thread}", MESSAGE),
    ("staff", "/staff/messages", r'href="/staff/messages/(\d+)"'),
    ("staff", "/staff/messages/ratings", r'href="/staff/messages/(\d+)"'),
    ("staff", "/staff/documents", r'id="staff-document-(\d+)"'),
])
def test_a_cursor_that_is_garbage_or_huge_is_the_first_page(client, app, db, people, who, path, rows):
    thread_id = seed(app, documents=LIST_PAGE_SIZE + 3, threads=LIST_PAGE_SIZE + 3, messages=THREAD_PAGE_SIZE + 3)
    login(client, CLIENT if who == "client" else STAFF)
    path = path.format(thread=thread_id)
    first = ids(text(client.get(path)), rows)
    assert first
    for cursor in GARBAGE:
        for name in ("before", "after", "page"):
            response = client.get(f"{path}?{name}={cursor}")
            assert response.status_code == 200, (name, cursor, response.status_code)
            assert ids(response.get_data(as_text=True), rows) == first, (name, cursor)
        both = client.get(f"{path}?before={cursor}&after={cursor}", headers=HX)
        assert both.status_code == 200


def test_the_unread_count_of_the_header_looks_at_the_most_recently_active_threads(app, db, people):
    seed(app, threads=5)
    with domain(app):
        user = models.User.get(models.User.email == CLIENT)
        ThreadRead.delete().execute()  # nothing read: each thread has one answer unread, or none
        threads = models.scoped(Thread, user, "messages")
        newest = threads.order_by(Thread.last_message_at.desc(), Thread.id.desc()).first()
        everything = models.messages.unread_total(user, threads)
        assert everything == sum(models.messages.unread_counts(user, [t.id for t in threads]).values()) > 0
        assert models.messages.unread_total(user, threads, recent=1) == \
            models.messages.unread_counts(user, [newest.id]).get(newest.id, 0) < everything


def test_keyset_cursor_text_round_trips_and_refuses_anything_else():
    order = Keyset(Thread.last_message_at, Thread.id)
    at = models.utcnow().replace(microsecond=123456)
    row = Thread(last_message_at=at, id=42)
    assert order.parse(order.cursor(row)) == (at, 42)
    assert all(order.parse(bad) is None for bad in GARBAGE[:-2] + [None, "", "1", "1_2_3", " _ "]), \
        [bad for bad in GARBAGE[:-2] if order.parse(bad) is not None]
    assert Keyset(Document.id).parse("2147483648") is None and Keyset(Document.id).parse("17") == (17,)


# --- The documents list's poll, page by page ----------------------------------------------------

def poller(html):
    match = re.search(r'id="documents-poll" hx-get="([^"]+)"', html)
    assert match, "the page does not poll"
    return match.group(1).replace("&amp;", "&")


def change_status(app, document_id, status):
    """What staff would do meanwhile: the row's status (and its time) changes."""
    with domain(app):
        Document.update(status=status, waiting=R.waits_on_institution(status), updated_at=models.utcnow(),
                        revision=Document.revision + 1).where(Document.id == document_id).execute()


@pytest.mark.postgres
def test_poll_of_an_older_page_refreshes_a_changed_row_on_it_and_only_that_page(client, app, db, people):
    seed(app, documents=2 * LIST_PAGE_SIZE)
    newest_first = [d.id for d in Document.select(Document.id).order_by(Document.id.desc())]
    on_page_two = newest_first[LIST_PAGE_SIZE:]
    waiting = [d.id for d in Document.select().where(Document.waiting == True, Document.id.in_(on_page_two))]  # noqa: E712
    on_page_one = [d.id for d in Document.select().where(Document.waiting == True,  # noqa: E712
                                                         Document.id.in_(newest_first[:LIST_PAGE_SIZE]))]
    login(client, CLIENT)
    page = text(client.get(f"/documents?before={newest_first[LIST_PAGE_SIZE - 1]}"))
    poll = poller(page)
    assert f"before={newest_first[LIST_PAGE_SIZE - 1]}" in poll
    assert client.get(poll, headers=HX).status_code == 204

    change_status(app, on_page_one[0], R.INFO_NEEDED)  # another page's row: not this page's business
    assert client.get(poll, headers=HX).status_code == 204

    change_status(app, waiting[0], R.INFO_NEEDED)
    html = text(client.get(poll, headers=HX))
    assert f'<tr id="document-{waiting[0]}-row" hx-swap-oob="true">' in html and html.count("<tr ") == 1
    assert f"before={newest_first[LIST_PAGE_SIZE - 1]}" in poller(html)  # it keeps polling this page
    assert client.get(poller(html), headers=HX).status_code == 204


@pytest.mark.postgres
def test_a_new_document_appears_on_the_first_page_through_its_poll(client, app, db, people):
    seed(app, documents=LIST_PAGE_SIZE + 2)
    login(client, CLIENT)
    page = text(client.get("/documents"))
    poll = poller(page)
    with domain(app):
        user = models.User.get(models.User.email == CLIENT)
        added = Document.start(models.Membership.get(models.Membership.user == user).client, "loan_application", user)
        newest_first = [d.id for d in Document.select(Document.id).order_by(Document.id.desc())]
    html = text(client.get(poll, headers=HX))
    assert '<tbody id="documents-rows" hx-swap-oob="true">' in html
    assert ids(html, DOCUMENT_ROW) == newest_first[:LIST_PAGE_SIZE] and newest_first[0] == added.id
    assert '<div id="documents-pager" hx-swap-oob="true">' in html  # "older" starts after the new last row
    assert link(html, "next") == f"/documents?before={newest_first[LIST_PAGE_SIZE - 1]}"


def test_submitting_from_an_older_page_keeps_that_page(client, app, db, people):
    seed(app, documents=2 * LIST_PAGE_SIZE)
    newest_first = [d.id for d in Document.select(Document.id).order_by(Document.id.desc())]
    cursor = f"before={newest_first[LIST_PAGE_SIZE - 1]}"
    new = [d.id for d in Document.select().where(Document.status == R.NEW,
                                                 Document.id.in_(newest_first[LIST_PAGE_SIZE:]))]
    login(client, CLIENT)
    page = text(client.get(f"/documents?{cursor}"))
    assert f'hx-post="/documents/{new[0]}/submit?{cursor}"' in page
    htmx = post_form(client, f"/documents/{new[0]}/submit?{cursor}", {}, page="/documents", headers=HX)
    assert htmx.status_code == 200 and cursor in poller(htmx.get_data(as_text=True))
    plain = post_form(client, f"/documents/{new[1]}/submit?{cursor}", {}, page="/documents")
    assert plain.status_code == 303 and plain.headers["Location"].endswith(f"/documents?{cursor}")


# --- What a page costs does not grow with the list ----------------------------------------

@contextmanager
def counted():
    """Every SQL statement run meanwhile (the peewee hook of test_unchanged_poll_loads_no_rows)."""
    statements = []
    original = models.db.obj.execute_sql

    def counting(sql, *args, **kwargs):
        statements.append(sql)
        return original(sql, *args, **kwargs)
    models.db.obj.execute_sql = counting
    try:
        yield statements
    finally:
        models.db.obj.execute_sql = original


LIST_READ = re.compile(r'^SELECT .*? FROM "(document|thread|message|thread_rating)" AS', re.S)
ORDERED_WITHOUT_LIMIT = re.compile(r"ORDER BY(?!.*LIMIT)", re.S)


def statements_per_page(client, staff, thread_id):
    """{page: SQL statements it runs}; and every ordered read of rows is limited to a page
    (or to rows named by id), so no list is read whole."""
    pages = {"/documents": client, "/messages": client, f"/messages/{thread_id}": client,
             "/staff/documents": staff, "/staff/messages": staff, "/staff/messages/ratings": staff,
             f"/staff/messages/{thread_id}": staff}
    found = {}
    for path, who in pages.items():
        text(who.get(path))  # the first visit may mark the thread read: count a second one
        with counted() as statements:
            text(who.get(path))
        found[path] = len(statements)
        whole = [s for s in statements if LIST_READ.match(s) and ORDERED_WITHOUT_LIMIT.search(s) and " IN (" not in s]
        assert whole == [], (path, whole)
    page = text(client.get("/documents"))
    with counted() as statements:
        assert client.get(poller(page), headers=HX).status_code == 204
    found["poll"] = len(statements)
    return found


@pytest.mark.postgres
def test_a_list_page_runs_as_many_statements_at_3_rows_as_at_many(app, db, people):
    client, staff = app.test_client(), app.test_client()
    login(client, CLIENT)
    login(staff, STAFF)
    thread_id = seed(app, documents=3, threads=3, messages=3)  # the second document waits: the list polls
    few = statements_per_page(client, staff, thread_id)
    seed(app, documents=2 * LIST_PAGE_SIZE, threads=4 * QUEUE_PAGE_SIZE)
    with domain(app):
        user = models.User.get(models.User.email == CLIENT)
        thread = Thread.get_by_id(thread_id)
        with models.db.atomic():
            for i in range(2 * THREAD_PAGE_SIZE):
                thread.add_message(models.messages.CLIENT, author=user, body=f"Vēl {i}")
    many = statements_per_page(client, staff, thread_id)
    assert many == few


def test_the_queue_statuses_are_those_that_wait_and_sort_in_queue_order():
    """The staff queue orders by the status column (an index serves it): that is the order
    staff take documents in only while the codes sort that way."""
    assert list(R.QUEUE_STATUSES) == sorted(R.QUEUE_STATUSES)
    can_wait = {s for s in R.STATUSES for question in (False, True) for invitation in (False, True)
                if R.waits_on_institution(s, question, invitation)}
    assert can_wait == set(R.QUEUE_STATUSES)


@pytest.mark.parametrize("path", ["/staff/messages", "/staff/messages/ratings", "/staff/documents",
                                  "/staff/messages/{thread}"])
def test_query_arguments_a_pager_keeps_cannot_steer_its_links(client, app, db, people, path):
    thread_id = seed(app, threads=4 * QUEUE_PAGE_SIZE, documents=8 * QUEUE_PAGE_SIZE, messages=THREAD_PAGE_SIZE + 2)
    login(client, STAFF)
    path = path.format(thread=thread_id)
    hostile = "_external=1&_scheme=javascript&_anchor=x&_method=POST&endpoint=auth.login&thread_id=1"
    html = text(client.get(f"{path}?{hostile}"))
    older = link(html, "next")
    assert older and older.startswith(path + "?") and "javascript" not in older and "#" not in older
    kept = [pair.split("=")[0] for pair in older.split("?", 1)[1].split("&")]
    assert not [k for k in kept if k.startswith("_") or k == "endpoint"], kept
