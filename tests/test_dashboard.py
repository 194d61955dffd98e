"""The dashboard says what to do next (issue 11): what waits for the person first, then what
waits for us and when it is due, then accounts and contact details; within the account's rights
and scope; a fixed number of SQL statements however many rows. Staff see their queues.

And the polish of the same issue: error summaries that link to their fields, a translated
meta description, the support phone beside the support hours."""
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest

import models
from conftest import PASSWORD, assign_clients, create_user, login, post_form
from models.documents import Document
from models.messages import Thread
from rules import documents as R
from test_paging import counted

ANNA, STAFF = "anna@example.lv", "ilze@example.lv"


def make_document(client, user, status, doc_type="loan_application", question_open=False, **fields):
    """A document in ``status`` as the transitions would leave it (``waiting`` from the rule)."""
    submitted = None if status == R.NEW else models.utcnow() - timedelta(days=1)
    return Document.create(client=client, created_by=user, doc_type=doc_type, status=status,
                           question_open=question_open, submitted_at=submitted,
                           waiting=R.waits_on_institution(status, question_open), **fields)


def client_of(user):
    return models.Membership.get(models.Membership.user == user).client


def page(client, path="/dashboard"):
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def position(html, marker):
    found = html.find(marker)
    assert found >= 0, f"{marker!r} is not on the page"
    return found


@pytest.fixture
def anna(app):
    user = create_user(app, email=ANNA, full_name="Anna Liepa")
    browser = app.test_client()
    login(browser, ANNA)
    return user, browser


# --- What comes first ------------------------------------------------------------------------

def test_what_waits_for_the_client_comes_before_what_waits_for_us_and_before_the_accounts(app, db, anna):
    user, browser = anna
    client = client_of(user)
    with_us = make_document(client, user, R.PROCESSING)
    info = make_document(client, user, R.INFO_NEEDED)
    question = make_document(client, user, R.READY, question_open=True)  # our move: the client asked
    signed = make_document(client, user, R.SIGNED)
    thread = Thread.create(client=client, created_by=user, subject="Kad būs lēmums?")
    thread.add_message("client", author=user, body="Labdien!")
    html = page(browser)

    todo = position(html, f'id="todo-document-{info.id}"')
    assert todo < position(html, f'id="with-us-document-{with_us.id}"') < position(html, 'id="accounts-title"')
    assert position(html, 'id="accounts-title"') < position(html, 'id="contact-title"')
    assert position(html, f'id="with-us-document-{question.id}"') > todo
    assert f"document-{signed.id}" not in html  # nothing left to do: not on the dashboard
    # Each item links to where the action is done: the form with our comments.
    item = re.search(rf'<li class="dash-item" id="todo-document-{info.id}">.*?</li>', html, re.S).group(0)
    assert f'href="/documents/{info.id}/edit"' in item
    # The thread waits for our answer, with the time it is due (rules.calendar, kept on the row).
    thread = Thread.get_by_id(thread.id)
    due = models.messages.calendar.to_local(thread.due_at).strftime("%d.%m.%Y %H:%M")
    waiting = re.search(rf'id="with-us-thread-{thread.id}">.*?</li>', html, re.S).group(0)
    assert due in waiting and f'href="/messages/{thread.id}"' in waiting


def test_a_package_to_sign_and_an_unread_reply_are_actions_linking_to_where_they_are_done(app, db, anna):
    user, browser = anna
    client = client_of(user)
    staff = create_user(app, email=STAFF, phone="+37123333333", staff_role="consultant")
    ready = make_document(client, user, R.READY)
    signing = make_document(client, user, R.SIGNING)
    thread = Thread.create(client=client, created_by=user, subject="Jautājums par līgumu")
    thread.add_message("client", author=user, body="Labdien!")
    thread.add_message("staff", author=staff, body="Atbilde")
    html = page(browser)
    assert f'href="/documents/{ready.id}#package"' in html
    assert f'href="/documents/{signing.id}#signing"' in html
    reply = position(html, f'id="todo-thread-{thread.id}"')
    assert reply < position(html, 'id="with-us-title"')
    assert f'href="/messages/{thread.id}"' in html[reply:reply + 400]


def test_with_nothing_to_do_the_dashboard_says_what_one_can_do(app, db, anna):
    _user, browser = anna
    html = page(browser)
    todo = html[position(html, 'id="todo"'):position(html, 'id="accounts-title"')]
    assert "Pašlaik jums nekas nav jādara." in todo  # "Nothing needs your action now."
    assert 'href="/documents#new-document-title"' in todo and 'href="/messages/new"' in todo


# --- Rights and scope ------------------------------------------------------------------------

def company_with_colleague(app, **rights):
    main = create_user(app, email="valde@example.lv", phone="+37121111112", kind="legal", role="main")
    colleague = create_user(app, email="kolegis@example.lv", phone="+37121111113")
    company = client_of(main)
    models.Membership.grant(colleague, company, "colleague", **rights)
    browser = app.test_client()
    login(browser, "kolegis@example.lv")
    post_form(browser, f"/accounts/{company.id}", {}, page="/dashboard")
    return main, colleague, company, browser


def test_a_colleague_without_the_documents_right_sees_no_documents_block(app, db):
    main, _colleague, company, browser = company_with_colleague(app, documents=False, submit=False,
                                                                own_items_only=False)  # the whole company's messages
    info = make_document(company, main, R.INFO_NEEDED)
    with_us = make_document(company, main, R.PROCESSING)
    html = page(browser)
    assert f"document-{info.id}" not in html and f"document-{with_us.id}" not in html
    assert "Loan application" not in html and "Aizdevuma pieteikums" not in html
    assert "/documents/" not in html and 'href="/documents#' not in html


def test_an_own_items_colleague_sees_only_their_own_items(app, db):
    main, colleague, company, browser = company_with_colleague(app, own_items_only=True)
    theirs = make_document(company, main, R.INFO_NEEDED)
    mine = make_document(company, colleague, R.INFO_NEEDED)
    main_thread = Thread.create(client=company, created_by=main, subject="Valdes jautājums")
    main_thread.add_message("client", author=main, body="Labdien!")
    html = page(browser)
    assert f'id="todo-document-{mine.id}"' in html
    assert f"document-{theirs.id}" not in html and f"thread-{main_thread.id}" not in html


def test_another_clients_items_never_appear(app, db, anna):
    user, browser = anna
    other = create_user(app, email="janis@example.lv", phone="+37121111119")
    other_client = client_of(other)
    theirs = [make_document(other_client, other, status) for status in (R.INFO_NEEDED, R.PROCESSING, R.SIGNING)]
    thread = Thread.create(client=other_client, created_by=other, subject="Jāņa jautājums")
    thread.add_message("client", author=other, body="Labdien!")
    html = page(browser)
    for d in theirs:
        assert f"document-{d.id}" not in html
    assert f"thread-{thread.id}" not in html and "Jāņa jautājums" not in html


# --- Staff -----------------------------------------------------------------------------------

def test_staff_see_their_queues_first_with_the_earliest_due_message_and_overdue_marked(app, db, anna):
    user, _browser = anna
    create_user(app, email=STAFF, phone="+37123333333", staff_role="consultant")
    assign_clients(app, STAFF)
    client = client_of(user)
    waiting = [make_document(client, user, R.PROCESSING) for _ in range(2)]
    early = Thread.create(client=client, created_by=user, subject="Sen gaidu")
    early.add_message("client", author=user, body="Labdien!", now=models.utcnow() - timedelta(days=10))
    late = Thread.create(client=client, created_by=user, subject="Tikko")
    late.add_message("client", author=user, body="Labdien!")
    staff = app.test_client()
    login(staff, STAFF)
    html = page(staff)
    queues = html[position(html, 'id="queues"'):position(html, 'id="accounts-title"')]
    numbers = re.findall(r"<dd>(\d+)</dd>", queues)
    assert numbers[:3] == ["2", "2", "1"], numbers  # documents waiting, messages waiting, overdue
    assert queues.index(f'id="queue-thread-{early.id}"') < queues.index(f'id="queue-thread-{late.id}"')
    first = re.search(rf'id="queue-thread-{early.id}">.*?</li>', queues, re.S).group(0)
    assert "tag--overdue" in first and f'href="/staff/messages/{early.id}"' in first
    assert all(f'href="/staff/documents/{d.id}"' in queues for d in waiting)


# --- What the page costs ---------------------------------------------------------------------

def statements(browser):
    page(browser)
    with counted() as found:
        page(browser)
    return found


@pytest.mark.postgres
def test_the_dashboard_runs_as_many_statements_at_a_few_rows_as_at_many(app, db, anna):
    user, browser = anna
    staff_user = create_user(app, email=STAFF, phone="+37123333333", staff_role="supervisor")
    staff = app.test_client()
    login(staff, STAFF)
    client = client_of(user)

    def add(n):
        with models.db.atomic():
            for i in range(n):
                make_document(client, user, R.STATUSES[i % len(R.STATUSES)])
                thread = Thread.create(client=client, created_by=user, subject=f"Jautājums {i}")
                thread.add_message("client", author=user, body="Labdien!")
                if i % 2:
                    thread.add_message("staff", author=staff_user, body="Atbilde")

    add(3)
    few = (len(statements(browser)), len(statements(staff)))
    add(40)
    many_client, many_staff = statements(browser), statements(staff)
    assert (len(many_client), len(many_staff)) == few, (few, many_client, many_staff)
    # Every ordered read of rows is limited (the lists' few newest), none reads a list whole.
    for sql in many_client + many_staff:
        if re.match(r'^SELECT .*? FROM "(document|thread)" AS', sql, re.S) and "ORDER BY" in sql:
            assert "LIMIT" in sql, sql


def test_past_the_counted_open_documents_the_count_says_more(app, db, anna, monkeypatch):
    user, browser = anna
    client = client_of(user)
    for _ in range(4):
        make_document(client, user, R.INFO_NEEDED)
    make_document(client, user, R.SIGNED)  # not open: never counted
    assert "4 dokumenti gaida jūs" in page(browser)
    monkeypatch.setattr(models.dashboard, "COUNTED", 3)
    html = page(browser)
    assert "3+ dokumenti gaida jūs" in html and "4 dokumenti" not in html


# --- Error summaries -------------------------------------------------------------------------

class Ids(HTMLParser):
    """Every id on a page, and the links and their text inside the error summaries."""

    def __init__(self):
        super().__init__()
        self.ids, self.links, self._in_summary, self._depth, self._link = set(), [], False, 0, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if self._in_summary:
            self._depth += 1
        elif "error-summary" in (attrs.get("class") or "").split():
            self._in_summary, self._depth = True, 1
        if self._in_summary and tag == "a":
            self._link = [attrs.get("href", ""), ""]
            self.links.append(self._link)

    def handle_endtag(self, tag):
        if self._in_summary:
            self._depth -= 1
            if tag == "a":
                self._link = None
            if self._depth == 0:
                self._in_summary = False

    def handle_data(self, data):
        if self._link is not None:
            self._link[1] += data


def summary_links(html):
    parser = Ids()
    parser.feed(html)
    return parser.ids, parser.links


def start_document(browser, doc_type="loan_application"):
    r = post_form(browser, "/documents", {"doc_type": doc_type}, page="/documents")
    assert r.status_code == 303, r.status_code
    return r.headers["Location"]


def test_every_error_summary_links_to_a_field_on_the_page_with_the_message_alone(app, client, db):
    create_user(app, email=ANNA, full_name="Anna Liepa")
    cases = []
    # Signed out: sign-in, recovery, the registration steps.
    cases.append(post_form(client, "/login", {"identifier": "", "password": ""}))
    cases.append(post_form(client, "/password/reset", {"identifier": "nav-e-pasts"}))
    cases.append(post_form(client, "/register", {"client_type": "natural"}))
    assert post_form(client, "/register", {"client_type": "natural", "citizenship": "LV", "accept_privacy": "y",
                                           "accept_terms": "y"}).status_code == 303
    cases.append(post_form(client, "/register/contact", {"email": "x", "phone_region": "LV", "phone": "1",
                                                          "password": "a", "confirm": "b"}))
    # Signed in: the questionnaire, a message, settings, the password change.
    login(client, ANNA)
    edit = start_document(client)
    cases.append(post_form(client, edit, {"action": "submit", "amount": "abc", "term_months": ""}))
    cases.append(post_form(client, "/messages/new", {"body": ""}))
    cases.append(post_form(client, "/settings", {"language": "xx"}))
    cases.append(post_form(client, "/password/change", {"current_password": "", "password": "a", "confirm": "b"}))
    # A rating without a score (radios), a delay without a reason (staff).
    staff_user = create_user(app, email=STAFF, phone="+37123333333", staff_role="consultant")
    assign_clients(app, STAFF)
    user = models.User.get(models.User.email == ANNA)
    thread = Thread.create(client=client_of(user), created_by=user, subject="Jautājums")
    thread.add_message("client", author=user, body="Labdien!")
    thread.add_message("staff", author=staff_user, body="Atbilde")
    cases.append(post_form(client, f"/messages/{thread.id}/rating", {"comment": "x"}, page=f"/messages/{thread.id}"))
    staff = app.test_client()
    login(staff, STAFF)
    thread.add_message("client", author=user, body="Vēl viens jautājums")
    cases.append(post_form(staff, f"/staff/messages/{thread.id}/delay", {"days": "2", "reason": ""},
                           page=f"/staff/messages/{thread.id}"))
    checked = 0
    for response in cases:
        html = response.get_data(as_text=True)
        assert response.status_code == 422, (response.request.path, response.status_code)
        ids, links = summary_links(html)
        assert links, response.request.path
        for href, text in links:
            assert href.startswith("#") and href[1:] in ids, (response.request.path, href)
            label = re.search(rf'<label for="{re.escape(href[1:])}">(.*?)</label>', html)
            legend = re.search(rf'id="{re.escape(href[1:])}"[^>]*>\s*<legend>(.*?)</legend>', html, re.S)
            name = (label or legend).group(1).strip() if (label or legend) else None
            assert name is None or not text.strip().startswith(name + ":"), (href, text)
            checked += 1
    assert checked >= 12


def test_wtforms_own_messages_are_in_the_visitors_language(app, db, anna):
    """A choice not offered, a subject past its length: WTForms' messages, which it ships no
    Latvian for, come from the portal's catalogue."""
    _user, browser = anna
    html = post_form(browser, "/settings", {"language": "xx", "notify_email": "y"}).get_data(as_text=True)
    assert "Izvēlieties kādu no piedāvātajām iespējām." in html and "Not a valid choice." not in html
    html = post_form(browser, "/messages/new", {"subject": "x" * 121, "body": "Labdien!"}).get_data(as_text=True)
    assert "Ierakstiet ne vairāk kā 120 rakstzīmes." in html and "Field cannot be longer" not in html
    post_form(browser, "/language", {"lang": "en", "next": "/settings"})
    html = post_form(browser, "/settings", {"language": "xx", "notify_email": "y"}).get_data(as_text=True)
    assert "Not a valid choice." in html


def test_the_two_codes_of_the_registration_say_which_code_is_missing(app, client):
    assert post_form(client, "/register", {"client_type": "natural", "citizenship": "LV", "accept_privacy": "y",
                                           "accept_terms": "y"}).status_code == 303
    assert post_form(client, "/register/contact", {"email": "jana@example.lv", "phone_region": "LV",
                                                   "phone": "20000111", "password": PASSWORD,
                                                   "confirm": PASSWORD}).status_code == 303
    html = post_form(client, "/register/confirm", {"email_code": "", "sms_code": ""}).get_data(as_text=True)
    _ids, links = summary_links(html)
    texts = [text.strip() for _href, text in links]
    assert len(texts) == 2 and len(set(texts)) == 2, texts


# --- Meta description, support phone ---------------------------------------------------------

def description(html):
    found = re.findall(r'<meta name="description" content="([^"]*)">', html)
    assert len(found) == 1, found
    return found[0]


def test_every_page_has_a_meta_description_in_the_visitors_language(app, client):
    for path in ("/", "/login", "/register", "/legal/privacy"):
        latvian = description(page(client, path))
        assert latvian.strip() and latvian == latvian.strip()
    post_form(client, "/language", {"lang": "en", "next": "/"})
    english = description(page(client, "/"))
    assert english.startswith("Register, prove who you are")
    post_form(client, "/language", {"lang": "lv", "next": "/"})
    assert description(page(client, "/")) != english
    assert description(page(client, "/login")) != description(page(client, "/"))  # the page's own, or the default


def test_the_support_phone_from_the_configuration_is_a_tel_link_beside_the_support_hours(app, client, anna):
    app.config["SUPPORT_PHONE"] = "+371 6777 4118"
    html = page(client, "/")
    footer = html[position(html, '<footer'):]
    hours = re.search(r"8[.:]30–17[.:]00", footer).start()
    link = position(footer, '<a href="tel:+37167774118">+371 6777 4118</a>')
    assert 0 < link - hours < 200
    _user, browser = anna
    threads = page(browser, "/messages")
    assert threads.count('href="tel:+37167774118"') == 2  # the messages page says the hours too
    app.config["SUPPORT_PHONE"] = ""
    assert "tel:" not in page(client, "/")


def test_development_has_a_support_phone_and_production_none_unless_set():
    from portal import DEVELOPMENT_SUPPORT_PHONE, settle_environment
    development = {"PORTAL_ENV": "development", "SECRET_KEY": "x", "SUPPORT_PHONE": None}
    settle_environment(development, "/tmp")
    assert development["SUPPORT_PHONE"] == DEVELOPMENT_SUPPORT_PHONE
    production = {"PORTAL_ENV": "production", "SECRET_KEY": "x", "SUPPORT_PHONE": None}
    settle_environment(production, "/tmp")
    assert production["SUPPORT_PHONE"] == ""
    chosen = {"PORTAL_ENV": "production", "SECRET_KEY": "x", "SUPPORT_PHONE": "+371 6777 4118"}
    settle_environment(chosen, "/tmp")
    assert chosen["SUPPORT_PHONE"] == "+371 6777 4118"
