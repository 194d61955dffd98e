"""The client's services (FIN-5, FIN-6; issue 15; seeds 000, 002, 003): the rules alone (schedules typed one
instalment a line, the status shown, the requests of each category), scoping (a colleague limited
to own items sees only the services assigned to them; another client's service is a 404), the
client's pages and the dashboard, staff adding and changing a service, and a request about a
service travelling as a document through the documents workflow."""
from datetime import date, timedelta
from decimal import Decimal

import pytest

import models
from conftest import create_user, login, post_form
from models.documents import Document
from models.services import Instalment, Service, ServiceRequest
from rules import documents as D, services as S

TODAY = date.today()


# --- Rules alone ------------------------------------------------------------------------------

def test_a_schedule_is_read_one_instalment_a_line_in_date_order():
    instalments, problems = S.parse_schedule("15.02.2027 250,00\n\n2027-01-15 1 250.5\n")
    assert problems == []
    assert instalments == [(date(2027, 1, 15), Decimal("1250.50")), (date(2027, 2, 15), Decimal("250.00"))]
    assert S.parse_schedule(S.schedule_text(instalments))[0] == instalments  # what the form shows reads back
    assert S.schedule_total(instalments) == Decimal("1500.50")


@pytest.mark.parametrize("text, line", [("15.01.2027", 1), ("15.01.2027 250,00\n31.02.2027 10", 2),
                                        ("15.01.2027 -5", 1), ("15.01.2027 1,234", 1), ("x y", 1),
                                        ("15.01.2027 5\n15.01.2027 6", 2)])
def test_a_line_that_is_no_instalment_is_named(text, line):
    _instalments, problems = S.parse_schedule(text)
    assert len(problems) == 1 and f"{line}" in str(problems[0])


def test_an_active_service_past_its_validity_is_shown_expired():
    assert S.shown_status(S.ACTIVE, TODAY - timedelta(days=1), TODAY) == S.EXPIRED
    assert S.shown_status(S.ACTIVE, TODAY, TODAY) == S.ACTIVE
    assert S.shown_status(S.ACTIVE, None, TODAY) == S.ACTIVE
    assert S.shown_status(S.SUSPENDED, TODAY - timedelta(days=1), TODAY) == S.SUSPENDED


def test_each_category_offers_its_own_requests_and_an_ended_service_none():
    assert [k for k, _label in S.request_kinds(S.PERMIT)][0] == S.EXTEND
    assert S.EARLY_REPAYMENT in dict(S.request_kinds(S.LOAN))
    assert S.CHANGE_PLAN in dict(S.request_kinds(S.CONNECTION)) and S.EXTEND not in dict(S.request_kinds(S.LOAN))
    assert S.may_request(S.ACTIVE) and S.may_request(S.SUSPENDED) and not S.may_request(S.ENDED)
    # the request document's choices hold every kind; the documents list never offers it
    request_type = D.DOCUMENT_TYPES[S.REQUEST_DOCUMENT_TYPE]
    assert set(dict(request_type.field("request").choices)) == set(S.REQUEST_LABELS)
    assert S.REQUEST_DOCUMENT_TYPE not in {t.code for t in D.types_for("legal") + D.types_for("natural")}


# --- A company, a colleague, another client ----------------------------------------------------

def _client_of(user):
    return models.Membership.get(models.Membership.user == user.id).client


def _service(client, assignee=None, schedule=(), **values):
    values = {"category": S.PERMIT, "number": f"P-{Service.select().count() + 1}", **values}
    with models.action():
        return Service.save_from(None, client, None, {"assignee": assignee, **values}, list(schedule))


@pytest.fixture
def company(app):
    """Līga, main user of a company; Pēteris, a colleague limited to own items with the right
    "services"; a service assigned to him, one to nobody; and another client's service."""
    liga = create_user(app, email="liga@example.lv", phone="+37121111111", kind="legal", role="main")
    other = create_user(app, email="zane@example.lv", phone="+37124444444")
    with app.app_context(), models.db.connection_context():
        firm = _client_of(liga)
        peteris = models.User.create(email="peteris@example.lv", phone="+37122222222",
                                     password_hash=models.hash_password("Zilais-Kalns7!"))
        models.Membership.grant(peteris, firm, "colleague", services=True)  # own items only by default
        his = _service(firm, peteris.id, category=S.CONNECTION, number="+371 2000 0011", name="Biznesa 20 GB")
        loan = _service(firm, category=S.LOAN, number="A-1", name="Apgrozāmie līdzekļi", amount=Decimal("1200.00"),
                        schedule=[(TODAY + timedelta(days=30), Decimal("600.00")),
                                  (TODAY + timedelta(days=60), Decimal("600.00"))])
        theirs = _service(_client_of(other), category=S.PERMIT, number="ZANE-1")
    return {"firm": firm.id, "peteris": peteris, "his": his.id, "loan": loan.id, "theirs": theirs.id}


@pytest.mark.postgres
def test_a_colleague_limited_to_own_items_sees_only_the_services_assigned_to_them(app, client, company):
    login(client, "peteris@example.lv")
    page = client.get("/services").get_data(as_text=True)
    assert f'id="service-{company["his"]}-row"' in page and f'id="service-{company["loan"]}-row"' not in page
    assert "jums piešķirtos pakalpojumus" in page  # the notice says why
    assert client.get(f"/services/{company['his']}").status_code == 200
    for url in (f"/services/{company['loan']}", f"/services/{company['theirs']}", "/services/999999",
                "/staff/services", f"/staff/services/{company['his']}"):
        assert client.get(url).status_code == 404, url
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert f'id="dash-service-{company["his"]}"' in dashboard and f'dash-service-{company["loan"]}"' not in dashboard
    assert '<a href="/services">Pakalpojumi</a>' in dashboard  # the header's link


@pytest.mark.postgres
def test_the_main_user_sees_every_service_of_the_company_and_nothing_of_another(app, client, company):
    login(client, "liga@example.lv")
    page = client.get("/services").get_data(as_text=True)
    assert f'service-{company["his"]}-row' in page and f'service-{company["loan"]}-row' in page
    assert f'service-{company["theirs"]}-row' not in page
    fragment = client.get("/services", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="services-list">')  # one route, two shapes
    loan = client.get(f"/services/{company['loan']}").get_data(as_text=True)
    assert 'id="schedule"' in loan and "1\xa0200,00 €" in loan and loan.count("600,00 €") == 2
    assert 'data-label="Apmaksas termiņš"' in loan  # the schedule's cells carry their column's name (stacked at 320 px)
    assert client.get(f"/services/{company['theirs']}").status_code == 404
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert 'id="services"' in dashboard and "A-1" in dashboard


def test_without_the_right_services_there_is_no_page_and_no_dashboard_block(app, client, company):
    with app.app_context(), models.db.connection_context():
        models.Membership.update(can_services=False).where(models.Membership.user == company["peteris"].id).execute()
    login(client, "peteris@example.lv")
    assert client.get("/services").status_code == 404
    assert client.get(f"/services/{company['his']}").status_code == 404
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert 'id="services"' not in dashboard and 'href="/services"' not in dashboard


def test_a_permit_past_its_validity_shows_expired(app, client, company):
    with app.app_context(), models.db.connection_context():
        Service.update(valid_until=TODAY - timedelta(days=1)).where(Service.id == company["his"]).execute()
    login(client, "peteris@example.lv")
    page = client.get(f"/services/{company['his']}").get_data(as_text=True)
    assert 'class="status status--refused" id="service-status">Beidzies derīguma termiņš' in page


# --- Requests about a service -----------------------------------------------------------------

def test_a_request_about_a_service_is_a_document_in_processing_shown_with_its_status(app, client, company):
    login(client, "peteris@example.lv")
    url = f"/services/{company['his']}"
    r = post_form(client, f"{url}/requests", {"kind": S.CHANGE_PLAN, "details": "Lūdzu, mainiet uz neierobežotu."},
                  page=url)
    assert r.status_code == 303 and r.headers["Location"].endswith(url)
    with app.app_context(), models.db.connection_context():
        made = ServiceRequest.get(ServiceRequest.service == company["his"])
        document = Document.get_by_id(made.document_id)
        assert document.doc_type == S.REQUEST_DOCUMENT_TYPE and document.status == D.PROCESSING
        assert document.created_by_id == company["peteris"].id and document.client_id == company["firm"]
        assert document.values["request"] == S.CHANGE_PLAN and "+371 2000 0011" in document.values["service"]
        assert models.AuditLog.select().where(models.AuditLog.action == "service.request_sent").count() == 1
    page = client.get(url).get_data(as_text=True)
    assert f'id="service-request-{made.id}"' in page and ">Apstrādē</span>" in page
    assert client.get(f"/documents/{made.document_id}").status_code == 200  # his own document
    # staff ask for information: the service page shows the document's new status
    with app.app_context(), models.db.connection_context():
        staff = models.User.create(email="sandra@example.lv", phone="+37129999999", staff_role="supervisor",
                                   password_hash="x")
        document.transition(D.REQUEST_INFO, by=staff, comments={"details": "No kura datuma?"})
    assert ">Nepieciešama informācija</span>" in client.get(url).get_data(as_text=True)


def test_a_request_with_errors_answers_422_next_to_the_fields_and_htmx_gets_the_section(app, client, company):
    login(client, "peteris@example.lv")
    url = f"/services/{company['his']}"
    r = post_form(client, f"{url}/requests", {"kind": S.EARLY_REPAYMENT, "details": ""}, page=url)
    text = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="error-summary"' in text and 'id="details-error"' in text
    assert 'id="kind-error"' in text  # a loan's request on a connection is not a choice
    r = post_form(client, f"{url}/requests", {"kind": S.TERMINATE, "details": ""}, page=url,
                  headers={"HX-Request": "true"})
    assert r.status_code == 422 and r.get_data(as_text=True).lstrip().startswith("<section")
    with app.app_context(), models.db.connection_context():
        assert ServiceRequest.select().count() == 0 and Document.select().count() == 0


def test_no_request_about_an_ended_service_nor_without_the_right_to_submit(app, client, company):
    login(client, "peteris@example.lv")
    url = f"/services/{company['his']}"
    form = {"kind": S.TERMINATE, "details": "Beigt"}
    with app.app_context(), models.db.connection_context():
        Service.update(status=S.ENDED).where(Service.id == company["his"]).execute()
    assert 'id="send-request"' not in client.get(url).get_data(as_text=True)
    assert post_form(client, f"{url}/requests", form, page="/settings").status_code == 404
    with app.app_context(), models.db.connection_context():
        Service.update(status=S.ACTIVE).where(Service.id == company["his"]).execute()
        models.Membership.update(can_submit=False).where(models.Membership.user == company["peteris"].id).execute()
    assert 'id="send-request"' not in client.get(url).get_data(as_text=True)
    assert post_form(client, f"{url}/requests", form, page="/settings").status_code == 404
    assert post_form(client, f"/services/{company['theirs']}/requests", form, page="/settings").status_code == 404
    with app.app_context(), models.db.connection_context():
        assert ServiceRequest.select().count() == 0


# --- Staff -------------------------------------------------------------------------------------

@pytest.fixture
def staff(app, client):
    create_user(app, email="sandra@example.lv", phone="+37129999999", staff_role="supervisor")
    assert login(client, "sandra@example.lv").status_code == 303
    return client


def test_staff_find_a_client_and_add_a_loan_with_its_schedule(app, staff, company):
    firm = company["firm"]
    found = staff.get("/staff/services?q=Test").get_data(as_text=True)
    assert f'href="/staff/services?client={firm}"' in found
    page = staff.get(f"/staff/services?client={firm}").get_data(as_text=True)
    assert f'href="/staff/services/new?client={firm}"' in page and f'staff-service-{company["theirs"]}"' not in page
    new = f"/staff/services/new?client={firm}"
    r = post_form(staff, new, {"category": S.LOAN, "number": "A-2", "name": "Investīciju aizdevums",
                               "status": S.ACTIVE, "valid_from": "2026-12-01", "valid_until": "2027-12-01",
                               "amount": "2 000,00", "schedule": "15.01.2027 1000\n15.02.2027 1 000,00",
                               "assignee": str(company["peteris"].id), "note": ""})
    assert r.status_code == 303, r.get_data(as_text=True)
    with app.app_context(), models.db.connection_context():
        loan = Service.get(Service.number == "A-2")
        assert loan.amount == Decimal("2000.00") and loan.assignee_id == company["peteris"].id
        assert [(i.due_on, i.amount) for i in loan.schedule()] == [(date(2027, 1, 15), Decimal("1000.00")),
                                                                   (date(2027, 2, 15), Decimal("1000.00"))]
        assert models.AuditLog.select().where(models.AuditLog.action == "service.created").count() == 1
    edit = staff.get(f"/staff/services/{loan.id}").get_data(as_text=True)
    assert "15.01.2027 1000,00" in edit and 'value="A-2"' in edit
    r = post_form(staff, f"/staff/services/{loan.id}", {"category": S.LOAN, "number": "A-2", "status": S.SUSPENDED,
                                                        "amount": "2000", "schedule": "15.03.2027 2000",
                                                        "assignee": "0"})
    assert r.status_code == 303
    with app.app_context(), models.db.connection_context():
        loan = Service.get_by_id(loan.id)
        assert loan.status == S.SUSPENDED and loan.assignee_id is None
        assert Instalment.select().where(Instalment.service == loan.id).count() == 1


def test_a_bad_service_form_answers_422_with_each_message_and_saves_nothing(app, staff, company):
    new = f"/staff/services/new?client={company['firm']}"
    r = post_form(staff, new, {"category": S.LOAN, "number": "", "status": S.ACTIVE, "amount": "",
                               "valid_from": "2027-01-01", "valid_until": "2026-01-01",
                               "schedule": "15.01.2027 100\nnav datums", "assignee": "0"})
    text = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="error-summary"' in text
    for name in ("number", "amount", "valid_until", "schedule"):
        assert f'id="{name}-error"' in text, name
    assert "2. rinda" in text  # the schedule's line is named
    # a number the client already has for that kind
    r = post_form(staff, new, {"category": S.LOAN, "number": "A-1", "status": S.ACTIVE, "amount": "5",
                               "schedule": "", "assignee": "0"})
    assert r.status_code == 422 and 'id="number-error"' in r.get_data(as_text=True)
    # an assignee who is no user of the client is no choice
    r = post_form(staff, new, {"category": S.PERMIT, "number": "P-9", "status": S.ACTIVE, "assignee": "999999"})
    assert r.status_code == 422 and 'id="assignee-error"' in r.get_data(as_text=True)
    with app.app_context(), models.db.connection_context():
        assert Service.select().count() == 3


def test_staff_pages_are_for_supervisors_and_clients_never_reach_them(app, client, company):
    create_user(app, email="kons@example.lv", phone="+37128888888", staff_role="consultant")
    login(client, "kons@example.lv")
    for url in ("/staff/services", f"/staff/services/{company['his']}", f"/staff/services/new?client={company['firm']}"):
        assert client.get(url).status_code == 404, url


def test_a_missing_client_or_service_is_a_404_for_staff_too(app, staff, company):
    for url in ("/staff/services/new", "/staff/services/new?client=999999", "/staff/services/new?client=x",
                "/staff/services/999999"):
        assert staff.get(url).status_code == 404, url


@pytest.mark.postgres
def test_the_migration_makes_the_models_tables(app):
    with app.app_context(), models.db.connection_context():
        for model in models.services.SERVICE_MODELS:
            table = model._meta.table_name
            columns = {c.name for c in models.db.get_columns(table)}
            assert columns == {f.column_name for f in model._meta.sorted_fields}, table
            unique = {tuple(i.columns) for i in models.db.get_indexes(table) if i.unique}
            wanted = {tuple(model._meta.fields[n].column_name for n in names)
                      for names, is_unique in model._meta.indexes if is_unique}
            wanted |= {(f.column_name,) for f in model._meta.sorted_fields if f.unique}
            assert unique >= wanted, table


def test_a_number_taken_at_the_same_moment_is_a_message_not_a_500(app, staff, company, monkeypatch):
    from peewee import IntegrityError

    def racing(*args, **kwargs):
        raise IntegrityError("UNIQUE constraint failed: service.client_id, service.category, service.number")
    monkeypatch.setattr(Service, "save_from", racing)
    r = post_form(staff, f"/staff/services/new?client={company['firm']}",
                  {"category": S.PERMIT, "number": "P-new", "status": S.ACTIVE, "assignee": "0"})
    assert r.status_code == 422 and 'id="number-error"' in r.get_data(as_text=True)


def test_a_request_is_sent_for_the_services_own_account_while_acting_for_another(app, client, company):
    """Pēteris also has a private account and acts for it: his company's service still takes
    his request, for the company (the membership of the service's client decides)."""
    with app.app_context(), models.db.connection_context():
        private = models.Client.create(kind="natural", name="Pēteris")
        models.Membership.grant(company["peteris"], private, "self")
    login(client, "peteris@example.lv")
    with client.session_transaction() as session:
        session["client_id"] = private.id
    url = f"/services/{company['his']}"
    assert 'id="send-request"' in client.get(url).get_data(as_text=True)
    r = post_form(client, f"{url}/requests", {"kind": S.TERMINATE, "details": "No 1. janvāra"}, page=url)
    assert r.status_code == 303
    with app.app_context(), models.db.connection_context():
        assert Document.get(Document.doc_type == S.REQUEST_DOCUMENT_TYPE).client_id == company["firm"]
