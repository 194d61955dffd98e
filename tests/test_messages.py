"""Messages (issue 4): threads, scoping, polling that costs nothing when idle, safe text,
staff replies and their e-mails, acknowledgements, delay explanations, ratings, attachments."""
import io
import re
import time
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import peewee
import pytest

from tasks import messages as messages_jobs
import models
from blueprints import messages as messages_views
from conftest import assign_clients, create_user, form_token, login, post_form, run_jobs
from models.messages import Message, Thread, ThreadRating, cached_last_message
from rules import THREAD_POLL_SECONDS
from rules.polling import POINTER_TRUST_SECONDS

STAFF_EMAIL = "konsultante@example.lv"


@pytest.fixture(autouse=True)
def _uploads_in_tmp(app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    app.extensions.pop("storage", None)


def staff_user(app, email=STAFF_EMAIL, phone="+37123333333", role="consultant", name="Ilze Konsultante"):
    return create_user(app, email=email, phone=phone, staff_role=role, full_name=name)


def write_thread(client, body="Labdien! Kad būs atbilde?", subject="Jautājums", **extra):
    r = post_form(client, "/messages/new", {"subject": subject, "body": body, **extra})
    assert r.status_code == 303, r.get_data(as_text=True)
    return int(r.headers["Location"].rsplit("/", 1)[1])


def staff_reply(app, staff_client, thread_id, body="Atbilde no mums."):
    r = post_form(staff_client, f"/staff/messages/{thread_id}", {"body": body})
    assert r.status_code == 303, r.get_data(as_text=True)


def poll_url(html):
    match = re.search(r'hx-get="(/messages/\d+/poll\?[^"]+)"', html)
    assert match, "no poller on the page"
    return match.group(1).replace("&amp;", "&")


HX = {"HX-Request": "true"}


@pytest.fixture
def two_sides(app):
    """A signed-in client (Anna) and a signed-in consultant, each with their own test client."""
    create_user(app)
    staff_user(app)
    assign_clients(app, STAFF_EMAIL)
    client_side, staff_side = app.test_client(), app.test_client()
    login(client_side, "anna@example.lv")
    login(staff_side, STAFF_EMAIL)
    return client_side, staff_side


class QueryCounter:
    """Counts SQL statements and new connections of the app's database."""

    def __init__(self, monkeypatch):
        self.statements, self.connections = [], 0
        database_class = type(models.db.obj)
        original_execute, original_connect = database_class.execute_sql, database_class._connect

        def execute_sql(db_self, sql, params=None, *args, **kwargs):
            self.statements.append(sql)
            return original_execute(db_self, sql, params, *args, **kwargs)

        def connect(db_self, *args, **kwargs):
            self.connections += 1
            return original_connect(db_self, *args, **kwargs)

        monkeypatch.setattr(database_class, "execute_sql", execute_sql)
        monkeypatch.setattr(database_class, "_connect", connect)


# --- Writing and reading -----------------------------------------------------------------------

@pytest.mark.postgres
def test_client_writes_a_thread_and_sees_it_listed_and_staff_see_it_waiting(app, two_sides, db):
    client_side, staff_side = two_sides
    assert client_side.get("/messages").status_code == 200
    thread_id = write_thread(client_side)
    page = client_side.get(f"/messages/{thread_id}").get_data(as_text=True)
    assert "Kad būs atbilde?" in page and f'id="thread-{thread_id}-messages"' in page
    listing = client_side.get("/messages").get_data(as_text=True)
    assert f'href="/messages/{thread_id}"' in listing and "Jautājums" in listing
    thread = Thread.get_by_id(thread_id)
    assert thread.waiting_since and thread.due_at > thread.waiting_since and thread.ack_due_at
    queue = staff_side.get("/staff/messages").get_data(as_text=True)
    assert f'id="queue-{thread_id}"' in queue


def test_the_dashboard_offers_submitting_information_and_the_header_links_messages(app, client):
    create_user(app)
    login(client, "anna@example.lv")
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/messages/new"' in page and 'href="/messages"' in page


def test_an_empty_message_is_refused_with_the_error_summary(app, client, db):
    create_user(app)
    login(client, "anna@example.lv")
    r = post_form(client, "/messages/new", {"body": "   "})
    assert r.status_code == 422 and 'id="error-summary"' in r.get_data(as_text=True)
    assert Thread.select().count() == 0


@pytest.mark.postgres
def test_a_thread_may_be_about_an_application_or_a_document_the_user_may_see(app, client, db):
    create_user(app)
    login(client, "anna@example.lv")
    page = client.get("/messages/new?about=application&id=42").get_data(as_text=True)
    assert 'name="about_kind" type="hidden" value="application"' in page
    thread_id = write_thread(client, about_kind="application", about_id="42")
    thread = Thread.get_by_id(thread_id)
    assert (thread.about_kind, thread.about_id) == ("application", 42)
    for kind, about_id in (("invoice<script>", "1"), ("application", "x"), ("document", "4242")):
        other = Thread.get_by_id(write_thread(client, about_kind=kind, about_id=about_id))
        assert (other.about_kind, other.about_id) == (None, None)  # no such document of Anna's


@pytest.mark.postgres
def test_staff_reply_shows_the_staff_name_and_e_mails_only_a_link(app, two_sides, db, mailbox):
    client_side, staff_side = two_sides
    thread_id = write_thread(client_side)
    staff_reply(app, staff_side, thread_id, body="Slepenais atbildes teksts 12345")
    page = client_side.get(f"/messages/{thread_id}").get_data(as_text=True)
    assert "Ilze Konsultante" in page and "Slepenais atbildes teksts 12345" in page
    thread = Thread.get_by_id(thread_id)
    assert thread.waiting_since is None and thread.answered_at
    run_jobs(app)
    mails = mailbox.to("anna@example.lv")
    assert len(mails) == 1
    text = mails[0].get_body(("plain",)).get_content()
    html = mails[0].get_body(("html",)).get_content()
    assert f"http://portal.test/messages/{thread_id}" in text
    for body in (text, html, str(mails[0]["Subject"])):
        assert "Slepenais" not in body and "12345" not in body
    assert models.AuditLog.select().where(models.AuditLog.action == "message.staff_reply").count() == 1


@pytest.mark.postgres
def test_unread_counts_in_the_list_and_header_clear_when_the_thread_is_opened(app, two_sides, db):
    client_side, staff_side = two_sides
    thread_id = write_thread(client_side)
    staff_reply(app, staff_side, thread_id)
    staff_reply(app, staff_side, thread_id, body="Vēl viena atbilde.")
    listing = client_side.get("/messages").get_data(as_text=True)
    assert "thread-row--unread" in listing and re.search(r'href="/messages"[^>]*>[^<]*\(2\)</a>', listing)
    client_side.get(f"/messages/{thread_id}")
    listing = client_side.get("/messages").get_data(as_text=True)
    assert "thread-row--unread" not in listing and not re.search(r'href="/messages"[^>]*>[^<]*\(\d+\)', listing)


@pytest.mark.postgres
def test_opening_a_thread_again_writes_no_read_mark_until_there_is_something_new(app, two_sides, db, monkeypatch):
    client_side, staff_side = two_sides
    thread_id = write_thread(client_side)
    counter = QueryCounter(monkeypatch)

    def writes():
        return [s for s in counter.statements if re.match(r"\s*(INSERT|UPDATE|DELETE)", s) and "thread_read" in s]

    client_side.get(f"/messages/{thread_id}")
    assert writes() == []  # written when the message was sent: its author has read it
    staff_reply(app, staff_side, thread_id)
    counter.statements.clear()
    client_side.get(f"/messages/{thread_id}")
    assert len(writes()) == 1 and writes()[0].lstrip().startswith("UPDATE")  # the mark moves once
    for _ in range(3):
        counter.statements.clear()
        assert client_side.get(f"/messages/{thread_id}").status_code == 200
        assert writes() == []
    newest = Message.select(peewee.fn.MAX(Message.id)).scalar()
    thread = Thread.get_by_id(thread_id)
    user = models.User.get(models.User.email == "anna@example.lv")
    assert thread.mark_read(user, newest - 1) is False  # never backwards
    assert models.messages.ThreadRead.get(thread=thread, user=user).last_read_id == newest


def _header_count(page):
    found = re.search(r'href="/messages"[^>]*>[^<(]*(?:\((\d+)\))?</a>', page)
    assert found, "no messages link in the header"
    return int(found.group(1) or 0)


def _unread_queries(counter):
    return [s for s in counter.statements if 'AS "shown"' in s and '"thread_read"' in s]  # models.messages._unread


@pytest.mark.postgres
def test_the_headers_unread_count_is_kept_until_a_message_comes_or_a_thread_is_read(app, two_sides, db, monkeypatch):
    client_side, staff_side = two_sides
    thread_id = write_thread(client_side)
    other_id = write_thread(client_side, subject="Otrs")
    counter = QueryCounter(monkeypatch)
    assert _header_count(client_side.get("/dashboard").get_data(as_text=True)) == 0
    counter.statements.clear()
    for page in ("/dashboard", "/documents", "/settings"):
        assert _header_count(client_side.get(page).get_data(as_text=True)) == 0
    assert _unread_queries(counter) == []  # kept: not counted again
    staff_reply(app, staff_side, thread_id)
    staff_reply(app, staff_side, other_id)
    assert _header_count(client_side.get("/dashboard").get_data(as_text=True)) == 2  # a new message: counted
    counter.statements.clear()
    page = client_side.get(f"/messages/{thread_id}").get_data(as_text=True)  # a read mark moves: counted again
    assert _header_count(page) == 1 and len(_unread_queries(counter)) == 1
    # Not the dashboard: with unread messages it asks which threads hold them, to list them.
    assert _header_count(client_side.get("/settings").get_data(as_text=True)) == 1
    assert len(_unread_queries(counter)) == 1
    third = write_thread(client_side, subject="Trešais")
    assert _header_count(client_side.get("/dashboard").get_data(as_text=True)) == 1
    Thread.update(ack_due_at=models.utcnow() - timedelta(minutes=1)).where(Thread.id == third).execute()
    with app.app_context():  # the acknowledgement job writes a message too
        assert messages_jobs.acknowledge_thread(third) is True
    assert _header_count(client_side.get("/dashboard").get_data(as_text=True)) == 2
    with app.app_context():
        kept = [k for k in models.messages._redis().keys(f"{app.config['RQ_QUEUE']}:unread:*")]
        assert kept and all(0 < models.messages._redis().ttl(k) <= models.messages.UNREAD_KEPT_SECONDS for k in kept)


@pytest.mark.postgres
def test_without_redis_the_headers_unread_count_is_counted_each_time(app, two_sides, db, monkeypatch):
    client_side, staff_side = two_sides
    thread_id = write_thread(client_side)
    client_side.get("/dashboard")
    monkeypatch.setattr(models.runtime.runtime, "redis", None)  # every Redis call fails
    staff_reply(app, staff_side, thread_id)
    assert _header_count(client_side.get("/dashboard").get_data(as_text=True)) == 1
    client_side.get(f"/messages/{thread_id}")
    assert _header_count(client_side.get("/dashboard").get_data(as_text=True)) == 0


# --- Who sees what ------------------------------------------------------------------------------

@pytest.mark.postgres
def test_another_client_gets_404_for_the_thread_its_poll_and_its_files(app, two_sides, db):
    client_side, _staff = two_sides
    thread_id = write_thread(client_side)
    url = poll_url(client_side.get(f"/messages/{thread_id}").get_data(as_text=True))
    create_user(app, email="cits@example.lv", phone="+37122222222")
    other = app.test_client()
    login(other, "cits@example.lv")
    assert other.get(f"/messages/{thread_id}").status_code == 404
    assert other.get(url, headers=HX).status_code == 404  # Anna's own poll URL, token and all
    assert other.get(f"/messages/{thread_id}/poll?after=0&t=x", headers=HX).status_code == 404
    assert other.get(f"/messages/{thread_id}/files/1").status_code == 404
    assert f"/messages/{thread_id}" not in other.get("/messages").get_data(as_text=True)


@pytest.mark.postgres
def test_own_items_colleague_sees_only_own_threads_and_one_without_the_right_sees_none(app, db):
    main = create_user(app, email="valde@example.lv", phone="+37121111112", kind="legal", role="main")
    company = models.Membership.get(models.Membership.user == main.id).client
    colleague = models.User.create(email="kolegis@example.lv", phone="+37121111113",
                                   password_hash=models.hash_password("Zilais-Kalns7!"))
    models.Membership.grant(colleague, company, "colleague")
    outsider = models.User.create(email="bez@example.lv", phone="+37121111114",
                                  password_hash=models.hash_password("Zilais-Kalns7!"))
    models.Membership.grant(outsider, company, "colleague", messages=False)
    main_side, colleague_side, outsider_side = app.test_client(), app.test_client(), app.test_client()
    login(main_side, "valde@example.lv")
    login(colleague_side, "kolegis@example.lv")
    login(outsider_side, "bez@example.lv")
    mains = write_thread(main_side, subject="Valdes jautājums")
    own = write_thread(colleague_side, subject="Kolēģa jautājums")
    assert colleague_side.get(f"/messages/{mains}").status_code == 404
    assert colleague_side.get(f"/messages/{own}").status_code == 200
    assert main_side.get(f"/messages/{own}").status_code == 200  # the main user sees the company's
    listing = colleague_side.get("/messages").get_data(as_text=True)
    assert "Kolēģa jautājums" in listing and "Valdes jautājums" not in listing
    assert outsider_side.get(f"/messages/{own}").status_code == 404
    assert outsider_side.get("/messages/new").status_code == 404
    assert 'href="/messages"' not in outsider_side.get("/dashboard").get_data(as_text=True)


def test_clients_get_404_in_the_staff_queue_and_consultants_in_the_ratings(app, two_sides):
    client_side, staff_side = two_sides
    assert client_side.get("/staff/messages").status_code == 404
    assert client_side.get("/staff/messages/ratings").status_code == 404
    assert staff_side.get("/staff/messages/ratings").status_code == 404


# --- Polling ------------------------------------------------------------------------------------

@pytest.mark.postgres
def test_an_idle_poll_answers_204_without_any_sql_or_connection(app, two_sides, monkeypatch):
    client_side, _staff = two_sides
    thread_id = write_thread(client_side)
    url = poll_url(client_side.get(f"/messages/{thread_id}").get_data(as_text=True))
    models.db.close()
    counter = QueryCounter(monkeypatch)
    for _ in range(3):
        r = client_side.get(url, headers=HX)
        assert r.status_code == 204 and r.data == b""
    assert counter.statements == [] and counter.connections == 0


def test_a_copy_of_a_session_signed_out_here_gets_no_idle_answer_from_the_gate(app, two_sides):
    """"Sign out here" ends the session in the database and tells the poll gate at once: a copy
    of the cookie is refused on its next poll, not answered "nothing new" until its token's
    trust runs out."""
    client_side, _staff = two_sides
    thread_id = write_thread(client_side)
    url = poll_url(client_side.get(f"/messages/{thread_id}").get_data(as_text=True))
    copy = app.test_client()
    name = app.config["SESSION_COOKIE_NAME"]
    copy.set_cookie(name, client_side.get_cookie(name).value)
    assert copy.get(url, headers=HX).status_code == 204  # the gate answers the copy while the session lives
    token = form_token(client_side, "/settings")
    assert client_side.post("/logout", data={"csrf_token": token}).status_code == 303
    r = copy.get(url, headers=HX)
    assert r.status_code != 204 or r.headers.get("HX-Refresh") == "true"


@pytest.mark.postgres
def test_a_poll_after_a_new_message_returns_exactly_the_new_ones_and_moves_on(app, two_sides, db):
    client_side, staff_side = two_sides
    thread_id = write_thread(client_side)
    url = poll_url(client_side.get(f"/messages/{thread_id}").get_data(as_text=True))
    first = Message.select().where(Message.thread == thread_id).get().id
    staff_reply(app, staff_side, thread_id, body="Pirmā atbilde")
    staff_reply(app, staff_side, thread_id, body="Otrā atbilde")
    r = client_side.get(url, headers=HX)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'<li class="message [^"]*" id="message-(\d+)"', html)]
    newest = [m.id for m in Message.select().where(Message.thread == thread_id).order_by(Message.id)]
    assert ids == newest[1:] and first not in ids
    assert "Pirmā atbilde" in html and "Otrā atbilde" in html and "Labdien" not in html
    # The poller comes back out of band, asking after the newest message shown.
    assert 'hx-swap-oob="true"' in html
    next_url = poll_url(html)
    assert f"after={newest[-1]}" in next_url
    assert client_side.get(next_url, headers=HX).status_code == 204
    with app.app_context():
        assert cached_last_message(thread_id) == newest[-1]


@pytest.mark.postgres
def test_the_pointer_is_refilled_from_the_database_when_redis_lost_it(app, two_sides, db):
    client_side, _staff = two_sides
    thread_id = write_thread(client_side)
    url = poll_url(client_side.get(f"/messages/{thread_id}").get_data(as_text=True))
    with app.app_context():
        from models.messages import _pointer_key, _redis
        _redis().delete(_pointer_key(thread_id))
        r = client_side.get(url, headers=HX)
        assert r.status_code == 204
        assert cached_last_message(thread_id) == Message.select(peewee.fn.MAX(Message.id)).scalar()


class Clock:
    """The poll's clock (``blueprints.messages._now``), moved on by the test."""

    def __init__(self, monkeypatch):
        self.now = int(time.time())
        monkeypatch.setattr(messages_views, "_now", lambda: self.now)


@pytest.mark.postgres
def test_a_pointer_gone_back_in_time_hides_a_reply_only_until_the_poll_asks_the_database(
        app, two_sides, db, monkeypatch):
    client_side, staff_side = two_sides
    clock = Clock(monkeypatch)
    thread_id = write_thread(client_side)
    url = poll_url(client_side.get(f"/messages/{thread_id}").get_data(as_text=True))
    first = Message.select().where(Message.thread == thread_id).get().id
    staff_reply(app, staff_side, thread_id, body="Atbilde, ko Redis aizmirsa")
    with app.app_context():
        from models.messages import _pointer_key, _redis
        _redis().set(_pointer_key(thread_id), first, ex=600)  # Redis restored from an older snapshot
    clock.now += POINTER_TRUST_SECONDS - 1
    assert client_side.get(url, headers=HX).status_code == 204  # the pointer is still trusted: hidden
    clock.now += 1
    r = client_side.get(url, headers=HX)  # trust ran out: this poll asks the database
    assert r.status_code == 200 and "Atbilde, ko Redis aizmirsa" in r.get_data(as_text=True)
    newest = Message.select(peewee.fn.MAX(Message.id)).scalar()
    with app.app_context():
        assert cached_last_message(thread_id) == newest  # the pointer is raised again
    models.db.close()
    counter = QueryCounter(monkeypatch)
    assert client_side.get(poll_url(r.get_data(as_text=True)), headers=HX).status_code == 204
    assert counter.connections == 0  # and the next poll is idle again


def test_an_idle_thread_asks_the_database_once_per_trust_period_and_else_never(app, two_sides, monkeypatch):
    client_side, _staff = two_sides
    clock = Clock(monkeypatch)
    thread_id = write_thread(client_side)
    url = poll_url(client_side.get(f"/messages/{thread_id}").get_data(as_text=True))
    models.db.close()
    counter = QueryCounter(monkeypatch)
    polls, asked = 0, 0
    minutes = 10
    for _ in range(minutes * 60 // THREAD_POLL_SECONDS):
        clock.now += THREAD_POLL_SECONDS
        before = counter.connections
        r = client_side.get(url, headers=HX)
        polls += 1
        if counter.connections > before:
            asked += 1
            assert r.status_code == 200 and "<li" not in r.get_data(as_text=True)
            url = poll_url(r.get_data(as_text=True))  # a fresh poller, trusted again
        else:
            assert r.status_code == 204
        models.db.close()
    assert asked == minutes * 60 // POINTER_TRUST_SECONDS  # once a minute, out of 20 polls
    print(f"\n{polls} idle polls in {minutes} minutes: {asked} asked the database")


def test_a_stale_token_gets_a_fresh_poller_and_a_poll_without_htmx_goes_to_the_page(app, two_sides):
    client_side, _staff = two_sides
    thread_id = write_thread(client_side)
    url = poll_url(client_side.get(f"/messages/{thread_id}").get_data(as_text=True))
    stale = re.sub(r"t=[^&]+", "t=stale", url)
    r = client_side.get(stale, headers=HX)
    assert r.status_code == 200 and 'hx-swap-oob="true"' in r.get_data(as_text=True)
    assert "<li" not in r.get_data(as_text=True)
    r = client_side.get(url)
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/messages/{thread_id}")


def test_a_poll_after_signing_out_reloads_the_page_instead_of_swapping_the_login(app, two_sides):
    client_side, _staff = two_sides
    thread_id = write_thread(client_side)
    url = poll_url(client_side.get(f"/messages/{thread_id}").get_data(as_text=True))
    post_form(client_side, "/logout", {}, page="/dashboard")
    r = client_side.get(url, headers=HX)
    assert r.status_code == 204 and r.headers["HX-Refresh"] == "true"


def test_an_idle_session_timeout_is_not_reset_by_polls(app, two_sides):
    client_side, _staff = two_sides
    thread_id = write_thread(client_side)
    url = poll_url(client_side.get(f"/messages/{thread_id}").get_data(as_text=True))
    with client_side.session_transaction() as session:
        session["seen_at"] -= 31 * 60
    r = client_side.get(url, headers=HX)
    assert r.status_code == 204 and r.headers["HX-Refresh"] == "true"


class FlaskCalls:
    """Counts the requests that reach the Flask app behind the poll gate, and the sessions
    Flask opens (the gate answers an idle poll without either); keeps each request's WSGI
    environ as the server would see it after the answer."""

    def __init__(self, app, monkeypatch):
        self.requests = self.sessions = 0
        self.environ = None
        gate = app.wsgi_app

        def recording(environ, start_response):
            self.environ = environ
            return gate(environ, start_response)
        inner, open_session = gate.wsgi_app, app.session_interface.open_session

        def flask_app(environ, start_response):
            self.requests += 1
            return inner(environ, start_response)

        def opening(*args, **kwargs):
            self.sessions += 1
            return open_session(*args, **kwargs)

        monkeypatch.setattr(gate, "wsgi_app", flask_app)
        monkeypatch.setattr(app.session_interface, "open_session", opening)
        monkeypatch.setattr(app, "wsgi_app", recording)


def test_an_idle_poll_is_answered_in_front_of_flask_without_its_session_or_an_access_log_line(
        app, two_sides, monkeypatch):
    client_side, _staff = two_sides
    thread_id = write_thread(client_side)
    url = poll_url(client_side.get(f"/messages/{thread_id}").get_data(as_text=True))
    calls = FlaskCalls(app, monkeypatch)
    for _ in range(3):
        r = client_side.get(url, headers=HX)
        assert r.status_code == 204 and r.data == b""
        assert calls.environ.get(messages_views.QUIET) is True  # gunicorn.conf.py logs no line
    assert calls.requests == 0 and calls.sessions == 0
    client_side.get(f"/messages/{thread_id}")  # everything else is Flask's, and logged
    assert calls.requests == 1 and calls.sessions == 1 and messages_views.QUIET not in calls.environ


def test_the_gates_204_carries_the_headers_of_every_page(app, two_sides, monkeypatch):
    client_side, _staff = two_sides
    calls = FlaskCalls(app, monkeypatch)
    thread_id = write_thread(client_side)
    url = poll_url(client_side.get(f"/messages/{thread_id}").get_data(as_text=True))
    for environment in ("development", "production"):
        app.config["PORTAL_ENV"] = environment
        page, idle = client_side.get("/dashboard"), client_side.get(url, headers=HX)
        assert idle.status_code == 204 and calls.environ.get(messages_views.QUIET)
        for name in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options",
                     "Permissions-Policy", "Strict-Transport-Security", "Cache-Control"):
            assert idle.headers.get(name) == page.headers.get(name), name
        assert "HX-Request" in idle.headers["Vary"]
    assert "max-age" in idle.headers["Strict-Transport-Security"]


def test_the_gate_leaves_forged_foreign_and_stale_tokens_and_cookies_to_flask(app, two_sides, monkeypatch):
    client_side, _staff = two_sides
    clock = Clock(monkeypatch)
    create_user(app, email="cits@example.lv", phone="+37122222222")
    stranger = app.test_client()
    login(stranger, "cits@example.lv")
    thread_id = write_thread(client_side)
    other_id = write_thread(client_side, subject="Otrs")
    url = poll_url(client_side.get(f"/messages/{thread_id}").get_data(as_text=True))
    stamp = re.search(r"t=(\d+)\.", url).group(1)
    key = app.extensions["keys"].key("message-poll")
    with app.app_context():
        anna = models.User.get(models.User.email == "anna@example.lv")
    calls = FlaskCalls(app, monkeypatch)

    def reaches_flask(client, poll):
        before = calls.requests
        r = client.get(poll, headers=HX)
        assert calls.requests == before + 1, f"the gate answered {poll} ({r.status_code})"
        return r

    forged = re.sub(r"t=[^&]+", f"t={stamp}.AAAAAAAAAAAAAAAAAAAAAAAA", url)
    assert reaches_flask(client_side, forged).status_code == 200  # a fresh poller, not a 204
    signed_by_another_key = messages_views.poll_token(anna.id, anna.session_version, thread_id, int(stamp),
                                                      key=b"x" * 32)
    assert reaches_flask(client_side, re.sub(r"t=[^&]+", f"t={signed_by_another_key}", url)).status_code == 200
    other_version = messages_views.poll_token(anna.id, anna.session_version + 1, thread_id, int(stamp), key=key)
    reaches_flask(client_side, re.sub(r"t=[^&]+", f"t={other_version}", url))
    other_thread = url.replace(f"/messages/{thread_id}/", f"/messages/{other_id}/")
    reaches_flask(client_side, other_thread)  # Anna's token is for the first thread only
    assert reaches_flask(stranger, url).status_code == 404  # someone else's URL, token and all
    clock.now += POINTER_TRUST_SECONDS
    assert reaches_flask(client_side, url).status_code == 200  # the database is asked again
    clock.now -= POINTER_TRUST_SECONDS
    assert client_side.get(url, headers=HX).status_code == 204 and calls.requests == 6
    reaches_flask(client_side, url.replace("after=", "after=x"))
    cookie = client_side.get_cookie(app.config["SESSION_COOKIE_NAME"])
    tampered = app.test_client()
    tampered.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie.value[:-2] + ("AA" if cookie.value[-2:] != "AA" else "BB"))
    r = reaches_flask(tampered, url)
    assert r.status_code == 204 and r.headers["HX-Refresh"] == "true"  # Flask: not signed in, reload
    assert calls.sessions == calls.requests


# --- Safe text -----------------------------------------------------------------------------------

XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<a href=\"javascript:alert(1)\">klikšķini</a>",
    "javascript:alert(1)",
    "<svg><p><style><img src=x onerror=alert(1)>",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
    "<math><mi><mglyph><svg><mtext><textarea><path id=\"</textarea><img onerror=alert(1) src=1>\">",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "\"><svg onload=alert(1)>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "http://example.lv/\"onmouseover=\"alert(1)",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
]


class _Markup(HTMLParser):
    """Every element inside the message bodies of a page."""

    def __init__(self):
        super().__init__()
        self.depth, self.elements = 0, []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.elements.append((tag, dict(attrs)))
            self.depth += 1
        elif ("class", "message-body") in attrs:
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1


def body_markup(html):
    parser = _Markup()
    parser.feed(html)
    return parser.elements


def assert_only_safe_links(html):
    for tag, attrs in body_markup(html):
        assert tag == "a", (tag, attrs)
        assert set(attrs) <= {"href", "rel"}, attrs
        assert re.match(r"^(https?:|mailto:)", attrs["href"]), attrs
        assert attrs["rel"] == "nofollow noopener"
    main = html.lower().split("<main", 1)[1]
    for danger in ("<script>", "<img", "<svg", "<iframe", "<style", "<math", "<noscript", "<div style",
                   "href=\"javascript", "href=\"jav"):
        assert danger not in main, danger


def test_xss_payloads_never_reach_a_page_as_markup(app, two_sides):
    client_side, staff_side = two_sides
    body = "\n".join(XSS) + "\nSaite: https://example.lv/a?b=1&c=2"
    thread_id = write_thread(client_side, body=body, subject=XSS[0])
    url = poll_url(client_side.get(f"/messages/{thread_id}").get_data(as_text=True))
    staff_reply(app, staff_side, thread_id, body="\n".join(reversed(XSS)))
    pages = [client_side.get(f"/messages/{thread_id}").get_data(as_text=True),
             client_side.get(url, headers=HX).get_data(as_text=True),
             client_side.get("/messages").get_data(as_text=True),
             staff_side.get(f"/staff/messages/{thread_id}").get_data(as_text=True),
             staff_side.get("/staff/messages").get_data(as_text=True)]
    for html in pages:
        assert_only_safe_links("<main>" + html if "<main" not in html else html)
    links = [a for _tag, a in body_markup(pages[0])]
    assert {"href": "https://example.lv/a?b=1&c=2", "rel": "nofollow noopener"} in links


# --- Service promises ----------------------------------------------------------------------------

@pytest.mark.postgres
def test_an_unanswered_message_gets_one_acknowledgement_with_the_due_time(app, two_sides, db, mailbox):
    client_side, _staff = two_sides
    thread_id = write_thread(client_side)
    Thread.update(ack_due_at=models.utcnow() - timedelta(minutes=1)).where(Thread.id == thread_id).execute()
    with app.app_context():
        assert messages_jobs.acknowledge_due_threads() == 1
        assert messages_jobs.acknowledge_due_threads() == 0
        assert messages_jobs.acknowledge_thread(thread_id) is False
    system = list(Message.select().where(Message.thread == thread_id, Message.kind == "system"))
    assert len(system) == 1 and system[0].system_due_at == Thread.get_by_id(thread_id).due_at
    page = client_side.get(f"/messages/{thread_id}").get_data(as_text=True)
    assert "message--system" in page
    run_jobs(app)
    mails = mailbox.to("anna@example.lv")
    assert len(mails) == 1
    assert "Kad būs atbilde" not in mails[0].get_body(("plain",)).get_content()


@pytest.mark.postgres
def test_no_acknowledgement_before_its_time_or_after_an_answer(app, two_sides, db):
    client_side, staff_side = two_sides
    thread_id = write_thread(client_side)
    Thread.update(ack_due_at=models.utcnow() + timedelta(hours=1)).where(Thread.id == thread_id).execute()
    with app.app_context():
        assert messages_jobs.acknowledge_due_threads() == 0
    staff_reply(app, staff_side, thread_id)
    Thread.update(ack_due_at=models.utcnow() - timedelta(hours=1)).where(Thread.id == thread_id).execute()
    with app.app_context():
        assert messages_jobs.acknowledge_due_threads() == 0
    assert Message.select().where(Message.kind == "system").count() == 0


@pytest.mark.postgres
def test_the_staff_queue_puts_overdue_threads_first(app, two_sides, db):
    client_side, staff_side = two_sides
    later = write_thread(client_side, subject="Vēlāk")
    overdue = write_thread(client_side, subject="Nokavēts")
    Thread.update(due_at=models.utcnow() - timedelta(hours=2)).where(Thread.id == overdue).execute()
    Thread.update(due_at=models.utcnow() + timedelta(hours=5)).where(Thread.id == later).execute()
    queue = staff_side.get("/staff/messages").get_data(as_text=True)
    assert queue.index(f'id="queue-{overdue}"') < queue.index(f'id="queue-{later}"')
    assert re.search(rf'id="queue-{overdue}" class="overdue"', queue)


@pytest.mark.postgres
def test_staff_explain_a_delay_from_the_template_in_the_clients_language(app, two_sides, db, mailbox):
    client_side, staff_side = two_sides
    thread_id = write_thread(client_side)
    before = Thread.get_by_id(thread_id).due_at
    page = staff_side.get(f"/staff/messages/{thread_id}").get_data(as_text=True)
    assert 'id="delay-form"' in page
    r = post_form(staff_side, f"/staff/messages/{thread_id}/delay",
                  {"reason": "jāsaņem informācija no partnera.", "days": "3"},
                  page=f"/staff/messages/{thread_id}")
    assert r.status_code == 303
    thread = Thread.get_by_id(thread_id)
    assert thread.is_waiting and thread.delay_explained_at and thread.due_at > before
    notice = Message.get(Message.thread == thread_id, Message.is_delay_notice == True)  # noqa: E712
    assert "jāsaņem informācija no partnera." in notice.body
    from rules import calendar
    assert calendar.to_local(thread.due_at).strftime("%d.%m.%Y %H:%M") in notice.body
    run_jobs(app)
    assert len(mailbox.to("anna@example.lv")) == 1
    assert "partnera" not in mailbox.last_text("anna@example.lv")


# --- Feedback -----------------------------------------------------------------------------------

@pytest.mark.postgres
def test_rating_only_after_an_answer_once_and_supervisors_see_it(app, two_sides, db):
    client_side, staff_side = two_sides
    thread_id = write_thread(client_side)
    page = f"/messages/{thread_id}"
    assert post_form(client_side, f"/messages/{thread_id}/rating", {"score": "5"}, page=page).status_code == 404
    staff_reply(app, staff_side, thread_id)
    assert 'name="score"' in client_side.get(page).get_data(as_text=True)
    r = post_form(client_side, f"/messages/{thread_id}/rating", {"score": "9"}, page=page)
    assert r.status_code == 422
    r = post_form(client_side, f"/messages/{thread_id}/rating", {"score": "4", "comment": "Ātri <b>un</b> skaidri"},
                  page=page)
    assert r.status_code == 303
    post_form(client_side, f"/messages/{thread_id}/rating", {"score": "1"}, page="/messages")
    rating = ThreadRating.get()
    assert (rating.score, ThreadRating.select().count()) == (4, 1)
    staff_user(app, email="vaditaja@example.lv", phone="+37123333335", role="supervisor", name="Vadītāja")
    supervisor = app.test_client()
    login(supervisor, "vaditaja@example.lv")
    ratings = supervisor.get("/staff/messages/ratings").get_data(as_text=True)
    assert "4/5" in ratings and "Ātri &lt;b&gt;un&lt;/b&gt; skaidri" in ratings


# --- Attachments ---------------------------------------------------------------------------------

@pytest.mark.postgres
def test_attachments_are_stored_downloadable_and_staff_downloads_are_audited(app, two_sides, db):
    client_side, staff_side = two_sides
    content = "Rēķina kopija\n".encode() * 100
    r = post_form(client_side, "/messages/new", {"body": "Pielikumā rēķins.",
                                                 "files": (io.BytesIO(content), "rekins.txt")},
                  content_type="multipart/form-data")
    assert r.status_code == 303, r.get_data(as_text=True)
    thread_id = int(r.headers["Location"].rsplit("/", 1)[1])
    page = client_side.get(f"/messages/{thread_id}").get_data(as_text=True)
    link = re.search(r'href="(/messages/\d+/files/\d+)"', page).group(1)
    assert "rekins.txt" in page
    download = client_side.get(link)
    assert download.status_code == 200 and download.data == content
    assert "attachment" in download.headers["Content-Disposition"]
    assert staff_side.get(link).data == content
    audited = models.AuditLog.select().where(models.AuditLog.action == "message.attachment_downloaded")
    assert audited.count() == 1 and audited.get().actor == STAFF_EMAIL
    wrong_thread = write_thread(client_side)
    assert client_side.get(re.sub(r"/messages/\d+/", f"/messages/{wrong_thread}/", link)).status_code == 404


@pytest.mark.postgres
def test_a_refused_file_keeps_the_message_unsent_and_says_why(app, client, db):
    create_user(app)
    login(client, "anna@example.lv")
    r = post_form(client, "/messages/new", {"body": "Programma pielikumā.",
                                           "files": (io.BytesIO(b"\x7fELF" + b"\0" * 2000), "run.exe")},
                  content_type="multipart/form-data")
    assert r.status_code == 422
    assert 'id="files-error"' in r.get_data(as_text=True)
    assert Thread.select().count() == 0 and models.StoredFile.select().count() == 0


# --- "Nosūtīt" pressed twice ---------------------------------------------------------------------

BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}  # the forms are under hx-boost


def form_nonce(html):
    match = re.search(r'name="nonce" type="hidden" value="([^"]+)"', html)
    assert match, "no nonce in the form"
    return match.group(1)


def blobs(app):
    return [p for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file()]


@pytest.mark.postgres
@pytest.mark.parametrize("headers", [{}, BOOSTED], ids=["without-js", "htmx"])
def test_a_new_message_sent_twice_from_one_form_is_stored_once(app, client, db, headers):
    create_user(app)
    login(client, "anna@example.lv")
    nonce = form_nonce(client.get("/messages/new").get_data(as_text=True))
    assert nonce != form_nonce(client.get("/messages/new").get_data(as_text=True))  # one per form shown
    answers = [post_form(client, "/messages/new",
                         {"subject": "Divreiz", "body": "Nospiedu divreiz.", "nonce": nonce,
                          "files": (io.BytesIO(b"Pielikums\n" * 100), "piezime.txt")},
                         content_type="multipart/form-data", headers=headers)
               for _ in range(2)]
    assert [a.status_code for a in answers] == [303, 303]
    assert answers[0].headers["Location"] == answers[1].headers["Location"]  # both go to the one thread
    thread_id = int(answers[0].headers["Location"].rsplit("/", 1)[1])
    assert Thread.select().count() == 1 and Message.select().count() == 1
    assert models.StoredFile.select().count() == 1 and len(blobs(app)) == 1  # the second stored no file
    page = client.get(f"/messages/{thread_id}", headers=headers)
    assert page.status_code == 200 and page.get_data(as_text=True).count("Nospiedu divreiz.") == 1


@pytest.mark.postgres
@pytest.mark.parametrize("headers", [{}, BOOSTED], ids=["without-js", "htmx"])
def test_a_reply_sent_twice_from_one_form_is_stored_once_by_client_and_staff(app, two_sides, db, headers):
    client_side, staff_side = two_sides
    thread_id = write_thread(client_side)
    for side, url in ((client_side, f"/messages/{thread_id}"), (staff_side, f"/staff/messages/{thread_id}")):
        nonce = form_nonce(side.get(url).get_data(as_text=True))
        answers = [post_form(side, url, {"body": f"Atbilde no {url}", "nonce": nonce}, headers=headers)
                   for _ in range(2)]
        assert [a.status_code for a in answers] == [303, 303]
        assert {a.headers["Location"] for a in answers} == {url}
        assert Message.select().where(Message.body == f"Atbilde no {url}").count() == 1
    assert Message.select().where(Message.thread == thread_id).count() == 3
    assert models.AuditLog.select().where(models.AuditLog.action == "message.staff_reply").count() == 1
    replies = models.Notification.select().where(models.Notification.template != "new_device_sign_in")
    assert replies.count() == 1  # one "reply waiting" e-mail, not two (the sign-ins' notices aside)


@pytest.mark.postgres
def test_a_second_click_racing_the_first_stores_nothing_and_answers_as_sent(app, client, db, monkeypatch):
    create_user(app)
    login(client, "anna@example.lv")
    data = {"body": "Ātrs dubultklikšķis.", "nonce": "racing-form",
            "files": (io.BytesIO(b"Pielikums\n" * 100), "piezime.txt")}
    first = post_form(client, "/messages/new", dict(data), content_type="multipart/form-data")
    # The second request looked before the first committed: it found nothing, and writes.
    monkeypatch.setattr(Message, "sent_with", _not_found_at_first(Message.sent_with))
    second = post_form(client, "/messages/new", dict(data, files=(io.BytesIO(b"Pielikums\n" * 100), "piezime.txt")),
                       content_type="multipart/form-data")
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert Thread.select().count() == 1 and Message.select().count() == 1
    assert models.StoredFile.select().count() == 1 and len(blobs(app)) == 1  # its file went with the rollback


def _not_found_at_first(sent_with):
    calls = []

    def looked_up(nonce, author):
        calls.append(nonce)
        return None if len(calls) == 1 else sent_with(nonce, author)
    return looked_up


@pytest.mark.postgres
def test_a_nonce_someone_else_used_sends_a_message_of_ones_own_not_a_500(app, two_sides, db):
    """A form's one-time value is bound to its sender: another user posting the same value
    (copied, guessed, crafted) stores their own message."""
    client_side, staff_side = two_sides
    nonce = form_nonce(client_side.get("/messages/new").get_data(as_text=True))
    assert post_form(client_side, "/messages/new", {"subject": "Pirmais", "body": "Mans.",
                                                    "nonce": nonce}).status_code == 303
    create_user(app, email="cits@example.lv", phone="+37129999999")
    other = app.test_client()
    login(other, "cits@example.lv")
    r = post_form(other, "/messages/new", {"subject": "Otrs", "body": "Cita.", "nonce": nonce})
    assert r.status_code == 303
    assert Message.select().count() == 2
