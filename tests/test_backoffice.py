"""The back office (issue 15): consultants and their clients, the work queues with counts in
the navigation, the client's 360° page, passing a thread or a document to a colleague (seed 001
§2), and what each staff role reaches (STF-2, STF-11…STF-14).

The rule (``rules.staff``) is tested as a table; then, through the Flask client, each role's
pages answer 200 exactly where the rule says and 404 elsewhere.
"""
import re
from datetime import date, timedelta

import pytest

import models
import rules
from blueprints import queues
from models.documents import Document
from models.finance import Invoice
from models.messages import Thread
from rules import documents as R, staff as S
from conftest import PASSWORD, create_user, login, post_form

# --- The rule as a table ------------------------------------------------------------------------


@pytest.mark.parametrize("role, assigned, action, allowed", [
    # a consultant: what is theirs (the client assigned, or the item passed to them), never assigning
    ("consultant", True, S.SEE, True), ("consultant", True, S.WORK, True), ("consultant", True, S.ROUTE, True),
    ("consultant", True, S.ASSIGN, False),
    ("consultant", False, S.SEE, False), ("consultant", False, S.WORK, False), ("consultant", False, S.ROUTE, False),
    ("consultant", False, S.ASSIGN, False),
    # supervisors and administrators: every client, and they assign
    *[(role, assigned, action, True) for role in ("supervisor", "admin") for assigned in (True, False)
      for action in S.ACTIONS],
    # nobody else, whatever they claim
    *[(role, assigned, action, False) for role in (None, "", "client", "Consultant") for assigned in (True, False)
      for action in S.ACTIONS],
    ("admin", True, "delete", False),
])
def test_the_staff_rule_table(role, assigned, action, allowed):
    assert S.staff_may(role, action, assigned) is allowed


def test_who_sees_every_client_and_who_assigns():
    assert [r for r in rules.STAFF_ROLES if S.sees_every_client(r)] == ["supervisor", "admin"]
    assert [r for r in rules.STAFF_ROLES if S.may_assign(r)] == ["supervisor", "admin"]
    assert not S.sees_every_client(None) and not S.may_assign(None)


# --- A world: two consultants, a supervisor, an administrator; three clients --------------------

ILZE, JANIS, SANDRA, ADMIN = "ilze@example.lv", "janis@example.lv", "sandra@example.lv", "admin@example.lv"
ANNA, BERZS, CELMS = "anna@example.lv", "berzs@example.lv", "celms@example.lv"


class World:
    """Ids of what the tests look at."""


@pytest.fixture
def world(app):
    """Clients: Anna's (assigned to Ilze), SIA Bērzs (assigned to Jānis), SIA Celms (nobody).
    Each has a document waiting for a decision, a thread waiting for an answer and an invoice."""
    w = World()
    for email, phone, role, name in ((ILZE, "+37120000001", "consultant", "Ilze Konsultante"),
                                     (JANIS, "+37120000002", "consultant", "Jānis Konsultants"),
                                     (SANDRA, "+37120000003", "supervisor", "Sandra Vadītāja"),
                                     (ADMIN, "+37120000004", "admin", "Aivars Administrators")):
        create_user(app, email=email, phone=phone, staff_role=role, full_name=name)
    create_user(app, email=ANNA, phone="+37121000001", full_name="Anna Liepa")
    create_user(app, email=BERZS, phone="+37121000002", full_name="Baiba Bērza", kind="legal", role="main")
    create_user(app, email=CELMS, phone="+37121000003", full_name="Cēsis Celms", kind="legal", role="main")
    with app.app_context(), models.db.connection_context():
        staff = {u.email: u for u in models.User.select().where(models.User.staff_role.is_null(False))}
        w.staff = {email: u.id for email, u in staff.items()}
        now = models.utcnow()
        w.clients, w.documents, w.threads, w.invoices = {}, {}, {}, {}
        for email, name, number, consultant in ((ANNA, "Anna Liepa", None, ILZE),
                                                (BERZS, "SIA Bērzs", "40003000001", JANIS),
                                                (CELMS, "SIA Celms", "40003000002", None)):
            user = models.User.get(models.User.email == email)
            client = models.Membership.get(models.Membership.user == user).client
            client.name, client.registration_number = name, number
            client.consultant = staff[consultant].id if consultant else None
            client.save()
            w.clients[email] = client.id
            w.documents[email] = Document.create(client=client, created_by=user, doc_type="loan_application",
                                                 status=R.PROCESSING, waiting=True, submitted_at=now).id
            w.threads[email] = Thread.create(client=client, created_by=user, subject=f"Jautājums no {name}",
                                             waiting_since=now, due_at=now + timedelta(days=1)).id
            with models.action():
                w.invoices[email] = Invoice.issue(client, staff[SANDRA], "10.00", date.today() + timedelta(days=10),
                                                  "Komisijas maksa").id
    return w


def signed_in(app, email):
    http = app.test_client()
    r = login(http, email, PASSWORD)
    assert r.status_code == 303, r.get_data(as_text=True)
    return http


def pages_of(w, email):
    return {"client": f"/staff/clients/{w.clients[email]}",
            "document": f"/staff/documents/{w.documents[email]}",
            "thread": f"/staff/messages/{w.threads[email]}",
            "invoice": f"/staff/finance/invoices/{w.invoices[email]}"}


@pytest.mark.postgres
@pytest.mark.parametrize("viewer, reaches", [
    (ILZE, {ANNA}), (JANIS, {BERZS}), (SANDRA, {ANNA, BERZS, CELMS}), (ADMIN, {ANNA, BERZS, CELMS}),
])
def test_each_role_reaches_exactly_its_clients_pages(app, world, viewer, reaches):
    http = signed_in(app, viewer)
    for owner in (ANNA, BERZS, CELMS):
        for kind, url in pages_of(world, owner).items():
            expected = 200 if owner in reaches else 404
            assert http.get(url).status_code == expected, (viewer, owner, kind)


@pytest.mark.postgres
@pytest.mark.parametrize("viewer, listed", [
    (ILZE, {ANNA}), (JANIS, {BERZS}), (SANDRA, {ANNA, BERZS, CELMS}),
])
def test_each_role_sees_exactly_its_clients_in_the_queues_and_lists(app, world, viewer, listed):
    http = signed_in(app, viewer)
    documents = http.get("/staff/documents").get_data(as_text=True)
    threads = http.get("/staff/messages").get_data(as_text=True)
    clients = http.get("/staff/clients").get_data(as_text=True)
    invoices = http.get("/staff/finance").get_data(as_text=True)
    for owner in (ANNA, BERZS, CELMS):
        shown = owner in listed
        assert (f'id="staff-document-{world.documents[owner]}"' in documents) is shown, owner
        assert (f'id="queue-{world.threads[owner]}"' in threads) is shown, owner
        assert (f'id="client-{world.clients[owner]}-row"' in clients) is shown, owner
        assert (f'/staff/finance/invoices/{world.invoices[owner]}"' in invoices) is shown, owner


def test_a_consultant_issues_an_invoice_only_to_their_own_client(app, world):
    http = signed_in(app, ILZE)
    due = (date.today() + timedelta(days=14)).isoformat()
    data = {"amount": "25,00", "due_on": due, "purpose": "commission_fee", "description": "Komisijas maksa"}
    r = post_form(http, "/staff/finance/invoices/new", {**data, "client_id": world.clients[BERZS]})
    assert r.status_code == 422
    assert "Klienta ar šādu numuru nav." in r.get_data(as_text=True)  # as for a client that does not exist
    r = post_form(http, "/staff/finance/invoices/new", {**data, "client_id": world.clients[ANNA]})
    assert r.status_code == 303
    assert http.get("/staff/finance/statements").status_code == 404  # statements stay with supervisors


# --- Assigning consultants ------------------------------------------------------------------------

def consultant_of(app, client_id):
    with app.app_context(), models.db.connection_context():
        return models.Client.get_by_id(client_id).consultant_id


def audit_rows(app, action):
    with app.app_context(), models.db.connection_context():
        return list(models.AuditLog.select().where(models.AuditLog.action == action).order_by(models.AuditLog.id))


def test_a_supervisor_assigns_a_consultant_with_an_audit_row(app, world):
    http = signed_in(app, SANDRA)
    celms = world.clients[CELMS]
    r = post_form(http, f"/staff/clients/{celms}/consultant", {"consultant": world.staff[ILZE]},
                  page=f"/staff/clients/{celms}")
    assert r.status_code == 303
    assert consultant_of(app, celms) == world.staff[ILZE]
    [row] = audit_rows(app, "client.consultant_assigned")
    assert row.client_id == celms and row.details["consultant"] == world.staff[ILZE]
    assert row.user.email == SANDRA
    # now Ilze reaches SIA Celms
    assert signed_in(app, ILZE).get(f"/staff/clients/{celms}").status_code == 200
    # and "nobody" takes it away again
    r = post_form(http, f"/staff/clients/{celms}/consultant", {"consultant": "0"})
    assert r.status_code == 303 and consultant_of(app, celms) is None
    assert signed_in(app, ILZE).get(f"/staff/clients/{celms}").status_code == 404


@pytest.mark.postgres
def test_a_supervisor_reassigns_in_bulk_from_the_list(app, world):
    http = signed_in(app, SANDRA)
    picked = [world.clients[ANNA], world.clients[CELMS]]
    r = post_form(http, "/staff/clients/consultant", {"consultant": world.staff[JANIS], "client_ids": picked},
                  page="/staff/clients")
    assert r.status_code == 303
    assert [consultant_of(app, c) for c in picked] == [world.staff[JANIS]] * 2
    assert consultant_of(app, world.clients[BERZS]) == world.staff[JANIS]
    assert sorted(r.client_id for r in audit_rows(app, "client.consultant_assigned")) == sorted(picked)
    listed = signed_in(app, JANIS).get("/staff/clients").get_data(as_text=True)
    assert all(f'id="client-{c}-row"' in listed for c in world.clients.values())
    assert 'id="client-' not in signed_in(app, ILZE).get("/staff/clients").get_data(as_text=True)


def test_bulk_assignment_without_ticks_or_to_a_non_consultant_says_why(app, world):
    http = signed_in(app, SANDRA)
    r = post_form(http, "/staff/clients/consultant", {"consultant": world.staff[JANIS]}, page="/staff/clients")
    assert r.status_code == 422
    r = post_form(http, "/staff/clients/consultant",
                  {"consultant": world.staff[SANDRA], "client_ids": [world.clients[CELMS]]})
    assert r.status_code == 422
    r = post_form(http, "/staff/clients/consultant", {"consultant": "x' or 1=1", "client_ids": ["abc", "-1"]})
    assert r.status_code == 422
    assert consultant_of(app, world.clients[CELMS]) is None
    assert audit_rows(app, "client.consultant_assigned") == []


def test_a_consultant_cannot_assign_clients(app, world):
    http = signed_in(app, ILZE)
    celms = world.clients[CELMS]
    r = post_form(http, "/staff/clients/consultant", {"consultant": world.staff[ILZE], "client_ids": [celms]},
                  page="/staff/clients")
    assert r.status_code == 404
    r = post_form(http, f"/staff/clients/{world.clients[ANNA]}/consultant", {"consultant": world.staff[ILZE]})
    assert r.status_code == 404
    assert consultant_of(app, celms) is None
    assert 'name="client_ids"' not in http.get("/staff/clients").get_data(as_text=True)


# --- The work queues and their counts in the navigation -------------------------------------------

def nav_counts(html):
    """{queue name: count} from the staff navigation."""
    return {name: int(count) for name, count in
            re.findall(r'id="queue-nav-([a-z_]+)"[^>]*>[^<]*<span class="count" data-count="(\d+)"', html)}


@pytest.mark.parametrize("viewer, expected", [
    (ILZE, {"documents": 1, "messages": 1, "assigned": 0, "applications": 0, "identifications": 0}),
    (JANIS, {"documents": 1, "messages": 1, "assigned": 0, "applications": 0, "identifications": 0}),
    (SANDRA, {"documents": 3, "messages": 3, "powers_of_attorney": 0, "main_user_requests": 0, "assigned": 0, "applications": 0, "identifications": 0}),
    (ADMIN, {"documents": 3, "messages": 3, "powers_of_attorney": 0, "main_user_requests": 0, "assigned": 0, "applications": 0, "identifications": 0}),
])
def test_the_navigation_counts_each_roles_queues(app, world, viewer, expected):
    counts = nav_counts(signed_in(app, viewer).get("/staff").get_data(as_text=True))
    assert {k: v for k, v in counts.items() if k in expected or k in queues.QUEUES} == expected


def test_clients_get_no_queue_navigation(app, world):
    assert nav_counts(signed_in(app, ANNA).get("/dashboard").get_data(as_text=True)) == {}


def test_the_counts_are_counted_once_a_request_and_a_new_queue_registers_with_one_line(app, world, monkeypatch):
    monkeypatch.setattr(queues, "QUEUES", dict(queues.QUEUES))
    calls = []
    queues.register_queue("identifications", "Identifications", lambda user: calls.append(user.id) or 7,
                          "staff.index", role="supervisor")
    html = signed_in(app, SANDRA).get("/staff/messages").get_data(as_text=True)
    assert nav_counts(html)["identifications"] == 7 and len(calls) == 1
    assert "identifications" not in nav_counts(signed_in(app, ILZE).get("/staff").get_data(as_text=True))


def test_the_messages_link_and_the_navigation_share_one_count(app, world, monkeypatch):
    """The header's messages link asks the same per-request count as the navigation."""
    monkeypatch.setattr(queues, "QUEUES", dict(queues.QUEUES))
    calls = []
    original = queues.QUEUES["messages"]
    queues.register_queue("messages", original.label, lambda user: calls.append(1) or original.count(user),
                          original.endpoint)
    html = signed_in(app, ILZE).get("/staff").get_data(as_text=True)
    assert len(calls) == 1 and f'href="/staff/messages">{"Ziņojumi"} (1)' in html.replace("\n", "")


def queue_rows(html, prefix):
    return {int(n) for n in re.findall(rf'id="{prefix}(\d+)(?:-row)?"', html)}


@pytest.mark.postgres
def test_the_queues_filter_by_client_status_overdue_and_whom_a_row_was_passed_to(app, world):
    http = signed_in(app, SANDRA)
    anna, berzs = world.documents[ANNA], world.documents[BERZS]
    with app.app_context(), models.db.connection_context():
        Document.update(assigned_to=world.staff[SANDRA]).where(Document.id == anna).execute()
        Document.update(status=R.SIGNING).where(Document.id == berzs).execute()
        Thread.update(assigned_to=world.staff[SANDRA]).where(Thread.id == world.threads[BERZS]).execute()
        Thread.update(due_at=models.utcnow() - timedelta(hours=1)).where(Thread.id == world.threads[CELMS]).execute()
    documents = lambda query: queue_rows(http.get(f"/staff/documents?{query}").get_data(as_text=True),  # noqa: E731
                                         "staff-document-")
    assert documents("routed=mine") == {anna}
    assert documents("routed=unrouted") == {berzs, world.documents[CELMS]}
    assert documents(f"client={world.clients[BERZS]}") == {berzs}
    assert documents(f"status={R.SIGNING}") == {berzs}
    assert documents("status=nonsense&client=abc&routed=<x>") == set(world.documents.values())
    threads = lambda query: queue_rows(http.get(f"/staff/messages?{query}").get_data(as_text=True),  # noqa: E731
                                       "queue-")
    assert threads("routed=mine") == {world.threads[BERZS]}
    assert threads("overdue=1") == {world.threads[CELMS]}
    assert threads("") == set(world.threads.values())


def test_a_queue_pages_by_number_with_its_filters_kept(app, world):
    with app.app_context(), models.db.connection_context():
        client = models.Client.get_by_id(world.clients[CELMS])
        now = models.utcnow()
        for n in range(rules.QUEUE_PAGE_SIZE + 2):
            Thread.create(client=client, subject=f"Vēl {n}", waiting_since=now, due_at=now + timedelta(days=2))
    http = signed_in(app, SANDRA)
    first = http.get(f"/staff/messages?client={world.clients[CELMS]}").get_data(as_text=True)
    assert len(queue_rows(first, "queue-")) == rules.QUEUE_PAGE_SIZE
    assert f'href="/staff/messages?client={world.clients[CELMS]}&amp;page=2"' in first
    second = http.get(f"/staff/messages?client={world.clients[CELMS]}&page=2").get_data(as_text=True)
    assert len(queue_rows(second, "queue-")) == 3


# --- The clients' list and the client's 360° page ---------------------------------------------------

def listed_clients(http, query):
    return queue_rows(http.get(f"/staff/clients?{query}").get_data(as_text=True), "client-")


@pytest.mark.postgres
def test_staff_find_a_client_by_name_registration_number_e_mail_or_personal_code(app, world):
    from models.identity import StatedPersonalCode
    with app.app_context(), models.db.connection_context():
        StatedPersonalCode.state(models.User.get(models.User.email == CELMS), "LV:01018012345")
    http = signed_in(app, SANDRA)
    assert listed_clients(http, "q=b%C4%93rz") == {world.clients[BERZS]}  # "bērz", any case
    assert listed_clients(http, "q=40003000002") == {world.clients[CELMS]}
    assert listed_clients(http, "q=anna%40example") == {world.clients[ANNA]}
    assert listed_clients(http, "q=010180-12345") == {world.clients[CELMS]}
    assert listed_clients(http, "q=010180-12346") == set()
    assert listed_clients(http, "q=%25") == set()  # a wildcard is a character, not "everything"
    assert listed_clients(http, "consultant=none") == {world.clients[CELMS]}
    assert listed_clients(http, f"consultant={world.staff[JANIS]}") == {world.clients[BERZS]}
    # a consultant searches among their own clients only, and cannot filter by consultant
    ilze = signed_in(app, ILZE)
    assert listed_clients(ilze, "q=40003000002") == set()
    assert listed_clients(ilze, f"consultant={world.staff[JANIS]}") == {world.clients[ANNA]}


def test_the_clients_list_pages_by_key(app, world):
    with app.app_context(), models.db.connection_context():
        for n in range(rules.LIST_PAGE_SIZE + 1):
            models.Client.create(kind=rules.LEGAL, name=f"SIA Papildu {n}")
    http = signed_in(app, SANDRA)
    first = http.get("/staff/clients").get_data(as_text=True)
    assert len(queue_rows(first, "client-")) == rules.LIST_PAGE_SIZE
    older = re.search(r'href="(/staff/clients\?before=\d+)"', first).group(1)
    second = queue_rows(http.get(older).get_data(as_text=True), "client-")
    assert len(second) == 4 and not second & queue_rows(first, "client-")  # 3 + 21 clients


def test_the_client_360_page_shows_each_section_with_links(app, world):
    with app.app_context(), models.db.connection_context():
        company = models.Client.get_by_id(world.clients[BERZS])
        colleague = models.User.create(email="kolegis@example.lv", phone="+37121000009", full_name="Kārlis Kolēģis",
                                       password_hash="x")
        models.Membership.grant(colleague, company, rules.COLLEAGUE)
        models.AuditLog.record("invoice.issued", user=models.User.get(models.User.email == SANDRA), client=company)
    html = signed_in(app, JANIS).get(f"/staff/clients/{world.clients[BERZS]}").get_data(as_text=True)
    assert "Baiba Bērza" in html and "Kārlis Kolēģis" in html
    assert "Galvenais lietotājs" in html and "Kolēģis" in html  # the company's main user and colleague
    assert f'href="/staff/documents/{world.documents[BERZS]}"' in html
    assert f'href="/staff/messages/{world.threads[BERZS]}"' in html
    assert f'href="/staff/finance/invoices/{world.invoices[BERZS]}"' in html
    assert "Izrakstīts rēķins" in html  # the history: the audit rows about this client
    assert 'id="client-consultant">Jānis Konsultants' in html
    assert f'/staff/documents/{world.documents[ANNA]}"' not in html
    assert f'action="/staff/clients/{world.clients[BERZS]}/consultant"' not in html  # consultants don't assign
    assert f'action="/staff/clients/{world.clients[BERZS]}/consultant"' in signed_in(app, SANDRA).get(
        f"/staff/clients/{world.clients[BERZS]}").get_data(as_text=True)


# --- Passing a thread or a document to a competent colleague (seed 001 §2) ---------------------------

@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["thread", "document"])
def test_a_consultant_passes_an_item_to_a_colleague_who_finds_it_and_the_client_sees_who_answers(app, world, kind):
    item = world.threads[ANNA] if kind == "thread" else world.documents[ANNA]
    staff_page = f"/staff/messages/{item}" if kind == "thread" else f"/staff/documents/{item}"
    client_page = f"/messages/{item}" if kind == "thread" else f"/documents/{item}"
    janis = signed_in(app, JANIS)
    assert janis.get(staff_page).status_code == 404  # not his client
    ilze = signed_in(app, ILZE)
    assert "Jūs apkalpo Ilze Konsultante." in signed_in(app, ANNA).get(client_page).get_data(as_text=True)
    r = post_form(ilze, f"{staff_page}/pass", {"pass-colleague": world.staff[JANIS], "pass-note": "Jānis zina par kredītiem."},
                  page=staff_page)
    assert r.status_code == 303
    [row] = audit_rows(app, "staff.passed_on")
    assert row.details == {kind: item, "passed_to": world.staff[JANIS]} and row.client_id == world.clients[ANNA]
    # Jānis: in "Passed to me" with the note and a count in the navigation; the item opens, the client does not
    mine = janis.get("/staff/assigned").get_data(as_text=True)
    assert f'id="assigned-{kind}-{item}"' in mine and "Jānis zina par kredītiem." in mine
    assert nav_counts(mine)["assigned"] == 1
    assert janis.get(staff_page).status_code == 200
    assert janis.get(f"/staff/clients/{world.clients[ANNA]}").status_code == 404
    # the client sees who answers now
    assert "Jūs apkalpo Jānis Konsultants." in signed_in(app, ANNA).get(client_page).get_data(as_text=True)
    # Ilze still reaches it (her client), and it is no longer in her "Passed to me"
    assert ilze.get(staff_page).status_code == 200
    assert nav_counts(ilze.get("/staff/assigned").get_data(as_text=True))["assigned"] == 0
    queue = ilze.get("/staff/messages" if kind == "thread" else "/staff/documents").get_data(as_text=True)
    assert "Nodots: Jānis Konsultants" in queue  # the queue says whom it was passed to


@pytest.mark.parametrize("kind", ["thread", "document"])
def test_nobody_passes_what_they_do_not_reach_and_bad_choices_say_why(app, world, kind):
    item = world.threads[BERZS] if kind == "thread" else world.documents[BERZS]
    url = f"/staff/messages/{item}/pass" if kind == "thread" else f"/staff/documents/{item}/pass"
    page = f"/staff/messages/{world.threads[ANNA]}"
    ilze = signed_in(app, ILZE)
    assert post_form(ilze, url, {"pass-colleague": world.staff[ILZE]}, page=page).status_code == 404
    assert post_form(signed_in(app, ANNA), url, {"pass-colleague": world.staff[ILZE]},
                     page=f"/messages/{world.threads[ANNA]}").status_code == 404
    sandra = signed_in(app, SANDRA)
    with app.app_context(), models.db.connection_context():
        anna_user = models.User.get(models.User.email == ANNA).id
    for data in ({"pass-colleague": anna_user}, {"pass-colleague": "abc"}, {},
                 {"pass-colleague": world.staff[JANIS], "pass-note": "x" * (S.ROUTING_NOTE_MAX + 1)}):
        r = post_form(sandra, url, data, page=page)
        assert r.status_code == 422, data
        assert 'id="error-summary"' in r.get_data(as_text=True)
    assert audit_rows(app, "staff.passed_on") == []


# --- Every /staff route, walked as a client, a consultant and a supervisor -----------------------------

# What a consultant reaches (with their own client's objects); every other /staff route is a 404 to
# them. A new /staff route is a 404 to consultants here until it is listed: deciding who works it is
# part of adding it.
CONSULTANT_REACHES = {
    "staff.index", "routing.mine", "clients.index", "clients.show",
    "documents.queue", "documents.staff_show", "documents.accept", "documents.request_info",
    "documents.prepare_package", "documents.resend", "documents.staff_pass",
    "messages.staff_queue", "messages.staff_thread", "messages.staff_delay", "messages.staff_pass",
    "finance.staff_index", "finance.staff_issue", "finance.staff_invoice", "finance.staff_credit",
    "applications.staff_index", "applications.staff_show", "applications.staff_decide",
    "applications.staff_issue_fee", "applications.staff_decision_pdf",
    "identification.queue", "identification.staff_one", "identification.decide", "identification.in_person",
    "identification.video",
}
ADMIN_ONLY = {"staff.outbox",  # and rq-dashboard's pages (``_admin_only``)
              # the administrator's pages (issue 15: staff accounts, service catalogue, document types)
              "admin.staff", "admin.add_staff", "admin.change_role", "admin.set_active",
              "admin.services", "admin.switch_service", "admin.document_types", "admin.switch_document_type"}
# downloads: no stored blob in these tests
FILES = {"main_user.staff_file", "power_of_attorney.staff_file", "identification.staff_file"}


# Pages that answer 404 to the bare path the walk builds: a company's main users (Anna's client is a
# person) and a new service (it needs ``?client=``).
COMPANIES_ONLY = {"main_user.staff_company", "services.staff_new"}


def _admin_only(endpoint):
    return endpoint in ADMIN_ONLY or endpoint.startswith("rq_dashboard.")


@pytest.fixture
def everything(app, world):
    """One of each object a /staff route names, of Anna's client (Ilze's)."""
    from models.finance import BankStatement, StatementEntry
    from models.power_of_attorney import PowerOfAttorney
    from models.register import MainUserRequest
    with app.app_context(), models.db.connection_context():
        anna = models.User.get(models.User.email == ANNA)
        client = models.Client.get_by_id(world.clients[ANNA])
        stored = lambda: models.StoredFile.create(key=f"walk-{models.StoredFile.select().count()}",  # noqa: E731
                                                  sha256="0" * 64, size=3, original_name="a.pdf", extension="pdf",
                                                  content_type="application/pdf", client=client, uploaded_by=anna)
        statement = BankStatement.create(account="LV80BANK0000435195001", digest="0" * 64)
        return {"document_id": world.documents[ANNA], "thread_id": world.threads[ANNA],
                "client_id": world.clients[ANNA], "invoice_id": world.invoices[ANNA],
                "entry_id": StatementEntry.create(statement=statement, account=statement.account, entry_key="w",
                                                  amount="1.00", status="unmatched").id,
                "notification_id": models.Notification.create(channel="email", recipient=ANNA, template="x",
                                                              status="failed", attempts=5).id,
                "request_id": MainUserRequest.create(client=client, user=anna, stored_file=stored()).id,
                "poa_id": PowerOfAttorney.create(client=client, user=anna, stored_file=stored(),
                                                 rights="documents").id,
                **_onboarding_objects(client, anna),
                "membership_id": models.Membership.get(models.Membership.user == anna.id).id,
                "service_id": models.Service.create(client=client, category="permit", number="W-1").id,
                "user_id": anna.id,
                "code": "N_NEW",  # a service's code (the administrator's switches)
                # rq-dashboard's own arguments (its pages are the administrators')
                "instance_number": 0, "filename": "x.js", "job_id": "no-such-job", "queue_name": "default",
                "registry_name": "queued", "per_page": 10, "order": "asc", "page": 1}


def _onboarding_objects(client, anna):
    """A submitted application of the client, its identification and a decision (issue 14)."""
    from models.applications import Application
    from models.decisions import ApplicationDecision
    application = Application.create(client=client, created_by=anna, kind=client.kind, services=["N_NEW"],
                                     data={}, status="submitted", submitted_at=models.utcnow())
    identification = models.Identification.create(application=application, client=client, user=anna,
                                                   full_name="Anna", email=ANNA, status="failed")
    decision = ApplicationDecision.create(application=application, service="N_NEW", question="account",
                                          code="open_account", positive=True)
    return {"application_id": application.id, "identification_id": identification.id, "which": "selfie",
            "decision_id": decision.id}


def staff_routes(app, objects):
    """(endpoint, path, methods) of every route under /staff, its arguments filled from ``objects``."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/staff"):
            with app.test_request_context():
                from flask import url_for
                path = url_for(rule.endpoint, **{name: objects[name] for name in rule.arguments})
            found.append((rule.endpoint, path, rule.methods - {"HEAD", "OPTIONS"}))
    assert len(found) > 30
    return found


def test_a_client_gets_404_on_every_staff_route(app, everything):
    http = signed_in(app, ANNA)
    for endpoint, path, methods in staff_routes(app, everything):
        if "GET" in methods:
            assert http.get(path).status_code == 404, endpoint
        if "POST" in methods:
            assert post_form(http, path, {}, page="/settings").status_code == 404, endpoint


def test_a_consultant_reaches_exactly_their_routes_and_objects(app, everything):
    http = signed_in(app, ILZE)
    for endpoint, path, methods in staff_routes(app, everything):
        for method in sorted(methods):
            r = http.get(path) if method == "GET" else post_form(http, path, {}, page="/staff")
            if endpoint in CONSULTANT_REACHES:
                assert r.status_code not in (404, 500), (endpoint, method, r.status_code)
            else:
                assert r.status_code == 404, (endpoint, method, r.status_code)


def test_a_supervisor_opens_every_staff_page_but_the_administrators(app, everything):
    http = signed_in(app, SANDRA)
    for endpoint, path, methods in staff_routes(app, everything):
        if "GET" not in methods or endpoint in FILES:
            continue
        expected = 404 if _admin_only(endpoint) or endpoint in COMPANIES_ONLY else 200
        assert http.get(path).status_code == expected, endpoint


@pytest.mark.postgres
def test_the_migration_makes_the_models_columns(app):
    """migrations/021_consultants.py adds exactly what the models declare (and indexes the keys)."""
    with app.app_context(), models.db.connection_context():
        for model in (models.Client, Document, Thread):
            table = model._meta.table_name
            columns = {c.name for c in models.db.get_columns(table)}
            assert columns == {f.column_name for f in model._meta.sorted_fields}, table
        indexed = {tuple(i.columns) for t in ("client", "document", "thread") for i in models.db.get_indexes(t)}
        assert {("consultant_id",), ("assigned_to_id",)} <= indexed


def test_the_staff_overview_shows_a_consultant_only_their_clients_users(app, world):
    ilze = signed_in(app, ILZE).get("/staff").get_data(as_text=True)
    assert ANNA in ilze and BERZS not in ilze and CELMS not in ilze
    sandra = signed_in(app, SANDRA).get("/staff").get_data(as_text=True)
    assert all(email in sandra for email in (ANNA, BERZS, CELMS))


def test_the_colleague_gets_an_e_mail_with_only_a_link(app, world):
    from tasks.notifications import render_notification
    ilze = signed_in(app, ILZE)
    thread = world.threads[ANNA]
    r = post_form(ilze, f"/staff/messages/{thread}/pass", {"pass-colleague": world.staff[JANIS], "pass-note": "Slepena piezīme"},
                  page=f"/staff/messages/{thread}")
    assert r.status_code == 303
    with app.app_context(), models.db.connection_context():
        [notice] = models.Notification.select().where(models.Notification.template == "staff_passed_on")
        assert notice.recipient == JANIS
        subject, text, html = render_notification(notice)
    assert f"/staff/messages/{thread}" in text and "Ilze Konsultante" in text
    assert "Slepena piezīme" not in text + html
    # passing to oneself sends nothing
    post_form(ilze, f"/staff/messages/{thread}/pass", {"pass-colleague": world.staff[ILZE]})
    with app.app_context(), models.db.connection_context():
        assert models.Notification.select().where(models.Notification.template == "staff_passed_on").count() == 1


def test_the_clients_search_answers_htmx_with_the_list_alone(app, world):
    http = signed_in(app, SANDRA)
    r = http.get("/staff/clients?q=Celms", headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.lstrip().startswith('<div id="clients-list">') and "<html" not in html
    assert queue_rows(html, "client-") == {world.clients[CELMS]}
    page = http.get("/staff/clients?q=Celms").get_data(as_text=True)
    assert "<html" in page and 'hx-target="#clients-list"' in page


def test_the_staff_pages_with_the_pass_form_have_no_duplicate_ids(app, world):
    """The pass form's fields are prefixed: the document's page has other forms with a "note"."""
    http = signed_in(app, ILZE)
    for url in (f"/staff/documents/{world.documents[ANNA]}", f"/staff/messages/{world.threads[ANNA]}"):
        html = http.get(url).get_data(as_text=True)
        assert 'id="pass-colleague"' in html and 'id="pass-note"' in html
        ids = [i for i in re.findall(r'\sid="([^"]+)"', html) if i != "csrf_token"]  # hidden, every form's
        assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_the_supervisors_queues_filter_by_client(app, everything, world):
    http = signed_in(app, SANDRA)
    for url, row in (("/staff/powers-of-attorney", f'id="power-of-attorney-{everything["poa_id"]}"'),
                     ("/staff/main-user-requests", f'id="main-user-request-{everything["request_id"]}"')):
        assert row in http.get(f"{url}?client={world.clients[ANNA]}").get_data(as_text=True), url
        assert row not in http.get(f"{url}?client={world.clients[BERZS]}").get_data(as_text=True), url
        assert row in http.get(f"{url}?client=-1%27").get_data(as_text=True), url  # no filter, no error


# --- The queries against the rule, on random worlds ------------------------------------------------

@pytest.mark.postgres
def test_the_scoping_queries_follow_the_rule_on_random_assignments(app):
    """Hypothesis assigns random clients to random consultants and passes random threads and
    documents to random staff; every staff member reaches exactly what ``rules.staff`` says."""
    import itertools
    import os
    from hypothesis import HealthCheck, given, settings, strategies as st
    from models.scoping import get_staff_client
    serial = itertools.count()

    @settings(max_examples=int(os.environ.get("STAFF_SCOPE_EXAMPLES", "25")), deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(roles=st.lists(st.sampled_from(rules.STAFF_ROLES), min_size=1, max_size=4),
           clients=st.lists(st.tuples(st.integers(-1, 3), st.integers(-1, 3), st.integers(-1, 3)),
                            min_size=1, max_size=5))
    def check(roles, clients):
        with app.app_context(), models.db.connection_context():
            n = next(serial)
            staff = [models.User.create(email=f"s{n}-{i}@example.lv", phone=f"+3712{n:03d}{i:04d}", staff_role=r,
                                        password_hash="x") for i, r in enumerate(roles)]
            pick = lambda i: staff[i] if 0 <= i < len(staff) and staff[i].staff_role == "consultant" else None  # noqa
            anyone = lambda i: staff[i] if 0 <= i < len(staff) else None  # noqa: E731
            made = []
            for consultant, thread_to, document_to in clients:
                client = models.Client.create(kind=rules.NATURAL, name="Klients", consultant=pick(consultant))
                thread = Thread.create(client=client, subject="x", assigned_to=anyone(thread_to))
                document = Document.create(client=client, doc_type="loan_application", assigned_to=anyone(document_to))
                made.append((client, thread, document))
            for user in staff:
                for client, thread, document in made:
                    mine = client.consultant_id == user.id
                    assert (get_staff_client(user, client.id) is not None) is S.staff_may(user.staff_role, S.SEE, mine)
                    for item, permission in ((thread, "messages"), (document, "documents")):
                        reached = models.get_scoped(type(item), item.id, user, permission) is not None
                        passed = item.assigned_to_id == user.id
                        assert reached is S.staff_may(user.staff_role, S.SEE, mine or passed), (user.staff_role, mine,
                                                                                                 passed)
    check()


HOSTILE = ["", "0", "-1", "9" * 40, str(2**63), "\x00", "%00", "' OR 1=1 --", "<script>x</script>", "ā" * 300,
           "none", "mine", "unrouted", "x" * 5000, "%", "_", "\\"]


@pytest.mark.parametrize("viewer", [ILZE, SANDRA])
def test_hostile_filters_and_forms_never_answer_500(app, world, viewer):
    http = signed_in(app, viewer)
    pages = ["/staff/clients", "/staff/documents", "/staff/messages", "/staff/assigned"]
    if viewer == SANDRA:
        pages += ["/staff/powers-of-attorney", "/staff/main-user-requests"]
    for page in pages:
        for value in HOSTILE:
            for name in ("q", "consultant", "routed", "client", "status", "overdue", "page", "before", "after"):
                r = http.get(page, query_string={name: value})
                assert r.status_code == 200, (page, name, value, r.status_code)
    posts = [f"/staff/messages/{world.threads[ANNA]}/pass", f"/staff/documents/{world.documents[ANNA]}/pass"]
    if viewer == SANDRA:
        posts += ["/staff/clients/consultant", f"/staff/clients/{world.clients[ANNA]}/consultant"]
    for url in posts:
        for value in HOSTILE:
            data = {"pass-colleague": value, "pass-note": value, "consultant": value, "client_ids": [value, value]}
            r = post_form(http, url, data, page="/staff")
            assert r.status_code in (303, 422), (url, value, r.status_code)
