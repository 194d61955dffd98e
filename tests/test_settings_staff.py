"""Settings, the staff area, the account switch and the one scoping function."""
import pytest
from peewee import CharField, ForeignKeyField

import models
import rules
from conftest import create_user, login, post_form


@pytest.mark.postgres
def test_profile_saves_language_and_channels_and_is_audited(client, app, db):
    create_user(app)
    login(client, "anna@example.lv")
    r = post_form(client, "/settings", {"full_name": " Anna Liepa ", "language": "en", "notify_email": "y"})
    assert r.status_code == 303
    user = models.User.get()
    assert user.full_name == "Anna Liepa" and user.language == "en"
    assert user.notify_email and not user.notify_sms
    assert models.AuditLog.get(models.AuditLog.action == "settings.profile_changed").user_id == user.id


def test_profile_needs_at_least_one_channel(client, app):
    create_user(app)
    login(client, "anna@example.lv")
    r = post_form(client, "/settings", {"language": "lv"})
    assert r.status_code == 422 and 'id="notify_sms-error"' in r.get_data(as_text=True)


def test_profile_language_only_from_the_list(client, app):
    create_user(app)
    login(client, "anna@example.lv")
    assert post_form(client, "/settings", {"language": "xx", "notify_email": "y"}).status_code == 422


def test_the_profile_form_writes_only_its_own_fields(client, app, db):
    """ASVS 8.2.3 (no mass assignment): fields of the user that the form does not offer keep
    their values whatever a request adds: role, e-mail, phone, password, session, state."""
    user = create_user(app)
    login(client, "anna@example.lv")
    before = models.User.get_by_id(user.id)
    r = post_form(client, "/settings", {
        "full_name": "Anna", "language": "lv", "notify_email": "y",
        "staff_role": "admin", "email": "mallory@example.lv", "phone": "+37129999999",
        "password_hash": "x", "session_version": "99", "must_change_password": "y",
        "disabled_at": "", "id": "999", "created_at": "2000-01-01"})
    assert r.status_code == 303
    after = models.User.get_by_id(user.id)
    assert after.full_name == "Anna"
    for field in ("staff_role", "email", "phone", "password_hash", "session_version",
                  "must_change_password", "disabled_at", "created_at"):
        assert getattr(after, field) == getattr(before, field), field
    assert client.get("/staff").status_code == 404


def test_interface_language_switches_to_english_and_back(client):
    assert 'lang="lv"' in client.get("/login").get_data(as_text=True)
    post_form(client, "/language", {"lang": "en", "next": "/login"}, page="/login")
    html = client.get("/login").get_data(as_text=True)
    assert 'lang="en"' in html and "Sign in" in html
    post_form(client, "/language", {"lang": "lv", "next": "/login"}, page="/login")
    assert "Ienākt" in client.get("/login").get_data(as_text=True)


def test_client_gets_404_in_the_staff_area(client, app):
    create_user(app)
    login(client, "anna@example.lv")
    for url in ["/staff", "/staff/outbox", "/staff/audit"]:
        assert client.get(url).status_code == 404


@pytest.mark.postgres
def test_consultant_sees_staff_area_but_not_the_audit_log(client, app):
    create_user(app, email="konsultants@example.lv", phone="+37123333333", staff_role="consultant")
    login(client, "konsultants@example.lv")
    assert client.get("/staff").status_code == 200
    assert client.get("/staff/audit").status_code == 404


@pytest.mark.parametrize("role", ["consultant", "supervisor"])
def test_only_an_administrator_reads_the_development_outbox(client, app, role):
    """It shows every recovery code and temporary password: whoever reads it can take over
    any account."""
    create_user(app, email="staff@example.lv", phone="+37123333333", staff_role=role)
    login(client, "staff@example.lv")
    assert client.get("/staff/outbox").status_code == 404
    assert client.get("/staff/outbox?to=%2B37121111111").status_code == 404
    assert "/staff/outbox" not in client.get("/staff").get_data(as_text=True)


def test_the_administrator_reads_the_development_outbox(client, app):
    create_user(app, email="admin@example.lv", phone="+37123333335", staff_role="admin")
    login(client, "admin@example.lv")
    assert "/staff/outbox" in client.get("/staff").get_data(as_text=True)
    assert client.get("/staff/outbox").status_code == 200


def test_the_development_outbox_never_exists_in_production(client, app):
    create_user(app, email="admin@example.lv", phone="+37123333335", staff_role="admin")
    login(client, "admin@example.lv")
    app.config["PORTAL_ENV"] = "production"  # as if the dev backends had slipped past the start
    assert client.get("/staff/outbox").status_code == 404
    assert "/staff/outbox" not in client.get("/staff").get_data(as_text=True)


@pytest.mark.postgres
def test_supervisor_reads_the_audit_log(client, app):
    create_user(app, email="vaditajs@example.lv", phone="+37123333334", staff_role="supervisor")
    login(client, "vaditajs@example.lv")
    r = client.get("/staff/audit")
    assert r.status_code == 200 and "login.success" in r.get_data(as_text=True)


@pytest.mark.postgres
def test_switching_to_someone_elses_account_is_404(client, app, db):
    create_user(app)
    create_user(app, email="cits@example.lv", phone="+37124444444")
    other_client = models.Membership.select().order_by(models.Membership.id.desc()).first().client_id
    login(client, "anna@example.lv")
    r = post_form(client, f"/accounts/{other_client}", {}, page="/dashboard")
    assert r.status_code == 404


# --- The scoping function, on a client-owned model made for the test ----------------

class Item(models.BaseModel):
    client = ForeignKeyField(models.Client)
    created_by = ForeignKeyField(models.User)
    title = CharField()


@pytest.fixture
def company(app, db):
    models.db.create_tables([Item])
    main = create_user(app, email="valde@example.lv", phone="+37125000001", kind=rules.LEGAL, role=rules.MAIN)
    company = models.Membership.get(models.Membership.user == main).client
    colleague = create_user(app, email="kolegis@example.lv", phone="+37125000002")
    models.Membership.grant(colleague, company, rules.COLLEAGUE)
    outsider = create_user(app, email="cits@example.lv", phone="+37125000003")
    staff = create_user(app, email="staff@example.lv", phone="+37125000004", staff_role="consultant")
    own = Item.create(client=company, created_by=colleague, title="colleague's")
    mains = Item.create(client=company, created_by=main, title="main user's")
    yield {"main": main, "colleague": colleague, "outsider": outsider, "staff": staff,
           "company": company, "own": own, "mains": mains}
    models.db.drop_tables([Item])


def titles(user, permission="documents"):
    return sorted(i.title for i in models.scoped(Item, user, permission))


@pytest.mark.postgres
def test_main_user_sees_every_item_of_the_company(company):
    assert titles(company["main"]) == ["colleague's", "main user's"]


@pytest.mark.postgres
def test_colleague_limited_to_own_items_sees_only_those(company):
    assert titles(company["colleague"]) == ["colleague's"]
    assert models.get_scoped(Item, company["mains"].id, company["colleague"], "documents") is None


@pytest.mark.postgres
def test_colleague_without_finance_right_sees_nothing_under_finance(company):
    assert titles(company["colleague"], "finance") == []


@pytest.mark.postgres
def test_outsider_sees_nothing_a_consultant_their_clients_and_a_supervisor_all(app, company):
    assert titles(company["outsider"]) == []
    assert titles(company["staff"]) == []  # issue 15: a consultant reaches the clients assigned to them
    supervisor = create_user(app, email="vaditajs@example.lv", phone="+37125000005", staff_role="supervisor")
    assert titles(supervisor) == ["colleague's", "main user's"]
    models.Client.update(consultant=company["staff"].id).where(models.Client.id == company["company"].id).execute()
    assert titles(company["staff"]) == ["colleague's", "main user's"]


@pytest.mark.postgres
def test_revoked_access_takes_effect_at_once(company):
    (models.Membership.update(revoked_at=models.utcnow())
     .where(models.Membership.user == company["colleague"], models.Membership.client == company["company"]).execute())
    assert titles(company["colleague"]) == []


@pytest.mark.postgres
def test_get_scoped_tolerates_garbage_ids(company):
    assert models.get_scoped(Item, "1 OR 1=1", company["main"], "documents") is None
    assert models.get_scoped(Item, None, company["main"], "documents") is None
