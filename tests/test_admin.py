"""The administrator's pages (issue 15, STF-15…STF-17): staff accounts (add, change role,
deactivate with every session ended at once; never oneself, never the last administrator), the
service catalogue and the document types' switches, honoured where clients start things."""
import re

import pytest

import models
from models import admin as A
from models.applications import Application, ApplicationRefused
from models.decisions import services_to_add
from conftest import PASSWORD, create_user, login, post_form, run_jobs

ADMIN, OTHER_ADMIN, SUPER, ANNA = ("aivars@example.lv", "agnese@example.lv", "sandra@example.lv",
                                   "anna@example.lv")
STAFF_PAGE = "/staff/admin/staff"


@pytest.fixture
def people(app):
    ids = {}
    for email, phone, role in ((ADMIN, "+37120000004", "admin"), (SUPER, "+37120000003", "supervisor"),
                               (ANNA, "+37121000001", None)):
        ids[email] = create_user(app, email=email, phone=phone, staff_role=role, full_name=email.split("@")[0]).id
    return ids


def signed_in(app, email, password=PASSWORD):
    http = app.test_client()
    assert login(http, email, password).status_code == 303
    return http


def audit_actions(app):
    with app.app_context(), models.db.connection_context():
        return [a.action for a in models.AuditLog.select().order_by(models.AuditLog.id)]


def user(app, user_id):
    with app.app_context(), models.db.connection_context():
        return models.User.get_by_id(user_id)


def test_only_administrators_reach_the_pages(app, people):
    for path in (STAFF_PAGE, "/staff/admin/services", "/staff/admin/document-types"):
        assert signed_in(app, ADMIN).get(path).status_code == 200, path
        assert signed_in(app, SUPER).get(path).status_code == 404, path
        assert signed_in(app, ANNA).get(path).status_code == 404, path
    overview = signed_in(app, ADMIN).get("/staff").get_data(as_text=True)
    assert 'href="/staff/admin/services"' in overview
    assert 'href="/staff/admin/services"' not in signed_in(app, SUPER).get("/staff").get_data(as_text=True)


def test_the_list_shows_role_second_factor_and_last_sign_in(app, people):
    with app.app_context(), models.db.connection_context():
        models.SecondFactor.create(user=people[SUPER], secret="x", enabled_at=models.utcnow())
    html = signed_in(app, ADMIN).get(STAFF_PAGE).get_data(as_text=True)
    row = re.search(rf'id="staff-{people[SUPER]}-row".*?</tr>', html, re.S).group(0)
    assert SUPER in row and ">Ieslēgts<" in row.replace(" ", "")  # "On" (the pages are Latvian first)
    admin_row = re.search(rf'id="staff-{people[ADMIN]}-row".*?</tr>', html, re.S).group(0)
    assert ">Izslēgts<" in admin_row.replace(" ", "") and "Nekad" not in admin_row  # signed in just now
    assert ANNA not in html  # clients are not staff


def test_an_administrator_adds_a_staff_member_who_gets_a_temporary_password_by_e_mail(app, people, mailbox):
    http = signed_in(app, ADMIN)
    r = post_form(http, STAFF_PAGE, {"full_name": "Jānis Jauns", "email": "janis@example.lv",
                                     "phone": "+37120000009", "role": "consultant"})
    assert r.status_code == 303
    page = http.get(STAFF_PAGE).get_data(as_text=True)
    run_jobs(app)
    temporary = re.search(r"^ {4}(\S+)\s*$", mailbox.last_text("janis@example.lv"), re.M).group(1)
    assert temporary not in page  # never on screen
    with app.app_context(), models.db.connection_context():
        janis = models.User.get(models.User.email == "janis@example.lv")
        assert janis.staff_role == "consultant" and janis.must_change_password
        row = models.AuditLog.get(models.AuditLog.action == "staff.created")
        assert row.user_id == people[ADMIN] and row.details["staff_member"] == janis.id
    r = login(app.test_client(), "janis@example.lv", temporary)
    assert r.status_code == 303 and r.headers["Location"].endswith("/password/change")


def test_adding_with_a_taken_address_or_a_bad_phone_says_why(app, people):
    http = signed_in(app, ADMIN)
    r = post_form(http, STAFF_PAGE, {"full_name": "X", "email": SUPER, "phone": "+37120000019", "role": "consultant"})
    assert r.status_code == 422 and "jau ir kādam citam" in r.get_data(as_text=True)
    r = post_form(http, STAFF_PAGE, {"full_name": "X", "email": "x@example.lv", "phone": "12", "role": "admin"})
    assert r.status_code == 422 and 'id="phone-error"' in r.get_data(as_text=True)
    r = post_form(http, STAFF_PAGE, {"full_name": "X", "email": "x@example.lv", "phone": "+37120000019",
                                     "role": "root"})
    assert r.status_code == 422
    with app.app_context(), models.db.connection_context():
        assert not models.User.select().where(models.User.email == "x@example.lv").exists()


def test_the_cli_and_the_page_share_one_function(app, people):
    result = app.test_cli_runner().invoke(args=["create-staff", "--email", "cli@example.lv", "--phone",
                                                "+37120000020", "--role", "admin", "--password", "Laba-Parole-42!"])
    assert result.exit_code == 0, result.output
    with app.app_context(), models.db.connection_context():  # written by models.admin.create_staff
        created = models.AuditLog.get(models.AuditLog.action == "staff.created")
        assert created.actor == "cli" and created.details["staff_member"] == created.user_id
    result = app.test_cli_runner().invoke(args=["create-staff", "--email", "cli@example.lv", "--phone",
                                                "+37120000021", "--password", "Laba-Parole-42!"])
    assert result.exit_code != 0 and "jau ir kādam citam" in result.output  # Latvian outside a request


def test_a_role_change_is_audited_and_nobody_changes_their_own(app, people):
    http = signed_in(app, ADMIN)
    key = f"staff-{people[SUPER]}-role"
    r = post_form(http, f"/staff/admin/staff/{people[SUPER]}/role", {key: "consultant"}, page=STAFF_PAGE)
    assert r.status_code == 303 and user(app, people[SUPER]).staff_role == "consultant"
    assert "staff.role_changed" in audit_actions(app)
    r = post_form(http, f"/staff/admin/staff/{people[ADMIN]}/role", {f"staff-{people[ADMIN]}-role": "consultant"},
                  page=STAFF_PAGE)
    assert r.status_code == 422 and user(app, people[ADMIN]).staff_role == "admin"
    assert post_form(http, f"/staff/admin/staff/{people[ANNA]}/role", {}, page=STAFF_PAGE).status_code == 404


@pytest.mark.postgres
def test_the_last_administrator_cannot_be_demoted_or_deactivated(app, people):
    with app.app_context(), models.db.connection_context():
        me = models.User.get_by_id(people[ADMIN])
        other = models.User.create(email=OTHER_ADMIN, phone="+37120000005", staff_role="admin",
                                   password_hash="x")
        # Agnese deactivated: Aivars is the last active administrator; another admin is needed to try
        A.set_active(other, False, me)
        models.User.update(disabled_at=None).where(models.User.id == other.id).execute()
        A.change_role(me, "admin", other)  # the same role: nothing to do
        models.User.update(staff_role="supervisor").where(models.User.id == other.id).execute()
        with pytest.raises(A.StaffRefused):
            A.change_role(me, "consultant", models.User.get_by_id(people[SUPER]))
        with pytest.raises(A.StaffRefused):
            A.set_active(me, False, models.User.get_by_id(people[SUPER]))
        assert models.User.get_by_id(me.id).staff_role == "admin" and models.User.get_by_id(me.id).is_active
        models.User.update(staff_role="admin").where(models.User.id == other.id).execute()
        assert A.change_role(me, "supervisor", other)  # two administrators: one may go


def test_deactivating_ends_the_members_sessions_at_once_and_reactivating_lets_them_back(app, people):
    theirs = signed_in(app, SUPER)
    assert theirs.get("/staff").status_code == 200
    http = signed_in(app, ADMIN)
    r = post_form(http, f"/staff/admin/staff/{people[SUPER]}/active", {"active": "off"}, page=STAFF_PAGE)
    assert r.status_code == 303
    assert theirs.get("/staff").status_code in (302, 303)  # signed out at the next request
    assert login(app.test_client(), SUPER, PASSWORD).status_code != 303
    assert "staff.deactivated" in audit_actions(app)
    r = post_form(http, f"/staff/admin/staff/{people[SUPER]}/active", {"active": "on"}, page=STAFF_PAGE)
    assert r.status_code == 303 and user(app, people[SUPER]).is_active
    assert signed_in(app, SUPER).get("/staff").status_code == 200
    r = post_form(http, f"/staff/admin/staff/{people[ADMIN]}/active", {"active": "off"}, page=STAFF_PAGE)
    assert r.status_code == 422 and user(app, people[ADMIN]).is_active


def test_a_service_switched_off_is_not_offered_to_new_applications_but_old_ones_keep_it(app, people):
    anna = signed_in(app, ANNA)
    assert 'value="N_EXTRA"' in anna.get("/applications").get_data(as_text=True)
    http = signed_in(app, ADMIN)
    r = post_form(http, "/staff/admin/services/N_EXTRA", {"enabled": "off"}, page="/staff/admin/services")
    assert r.status_code == 303
    assert 'value="N_EXTRA"' not in anna.get("/applications").get_data(as_text=True)
    r = post_form(anna, "/applications", {"services": "N_EXTRA"}, page="/applications")
    assert r.status_code == 422
    with app.app_context(), models.db.connection_context():
        assert A.offered_services("natural") == ["N_NEW"]
        client = models.Membership.get(models.Membership.user == people[ANNA]).client
        submitted = Application.create(client=client, created_by=people[ANNA], kind="natural",
                                       services=["N_NEW"], data={}, status="submitted")
        assert services_to_add(submitted) == []  # N_EXTRA is not offered to add later either
        with pytest.raises(ApplicationRefused):  # nor taken by the model, whatever the form
            Application.start(client, models.User.get_by_id(people[ANNA]), ["N_EXTRA"])
        row = models.AuditLog.get(models.AuditLog.action == "admin.service_switched")
        assert row.details == {"service_code": "N_EXTRA", "enabled": False}
    audit_page = http.get("/staff/audit").get_data(as_text=True)  # in words (rules.audit)
    assert "Pakalpojums, ko piedāvā jauniem pieteikumiem" in audit_page and "Ieslēgts" in audit_page
    r = post_form(http, "/staff/admin/services/N_EXTRA", {"enabled": "on"}, page="/staff/admin/services")
    assert 'value="N_EXTRA"' in anna.get("/applications").get_data(as_text=True)
    assert post_form(http, "/staff/admin/services/NOPE", {"enabled": "off"},
                     page="/staff/admin/services").status_code == 404


def test_a_document_type_switched_off_is_not_among_the_clients_new_documents(app, people):
    anna = signed_in(app, ANNA)
    assert 'value="loan_application"' in anna.get("/documents").get_data(as_text=True)
    http = signed_in(app, ADMIN)
    page = http.get("/staff/admin/document-types").get_data(as_text=True)
    row = re.search(r'id="document-type-loan_application-row".*?</tr>', page, re.S).group(0)
    assert "pdf" in row and "20 MB" in row and "rules/uploads.py" in page
    r = post_form(http, "/staff/admin/document-types/loan_application", {"enabled": "off"},
                  page="/staff/admin/document-types")
    assert r.status_code == 303
    assert 'value="loan_application"' not in anna.get("/documents").get_data(as_text=True)
    r = post_form(anna, "/documents", {"doc_type": "loan_application"}, page="/documents")
    assert r.status_code == 422
    assert "admin.document_type_switched" in audit_actions(app)


def test_the_switch_form_answers_htmx_with_the_fragment(app, people):
    http = signed_in(app, ADMIN)
    r = http.get("/staff/admin/services", headers={"HX-Request": "true"})
    assert r.status_code == 200 and r.get_data(as_text=True).lstrip().startswith("<div id=\"admin-services\"")


@pytest.mark.postgres
def test_the_migration_makes_the_models_columns_and_one_switch_per_key(app):
    """migrations/024_admin_settings.py makes what the model declares; (area, key) is unique."""
    with app.app_context(), models.db.connection_context():
        columns = {c.name for c in models.db.get_columns("admin_setting")}
        assert columns == {f.column_name for f in A.AdminSetting._meta.sorted_fields}
        assert any(i.unique and list(i.columns) == ["area", "key"] for i in models.db.get_indexes("admin_setting"))


HOSTILE = ["", "0", "-1", "9" * 40, str(2**63), "\x00", "a\x00b@example.lv", "%00", "' OR 1=1 --",
           "<script>x</script>", "ā" * 300, "x" * 5000, "admin", "on", "off", "\\"]


@pytest.mark.postgres
def test_hostile_values_in_the_administrators_forms_never_answer_500(app, people):
    http = signed_in(app, ADMIN)
    target = people[SUPER]
    for value in HOSTILE:
        r = post_form(http, STAFF_PAGE, {"full_name": value, "email": value, "phone": value, "role": value})
        assert r.status_code == 422, (value, r.status_code)
        r = post_form(http, STAFF_PAGE, {"full_name": value, "email": "ok@example.lv", "phone": "+37120000030",
                                         "role": "consultant"})
        assert r.status_code in (303, 422), (value, r.status_code)
        if r.status_code == 303:  # a name that passed: the next try needs a fresh address
            with app.app_context(), models.db.connection_context():
                models.User.delete().where(models.User.email == "ok@example.lv").execute()
        for url, data in ((f"/staff/admin/staff/{target}/role", {f"staff-{target}-role": value}),
                          (f"/staff/admin/staff/{target}/active", {"active": value}),
                          ("/staff/admin/services/N_NEW", {"enabled": value}),
                          ("/staff/admin/document-types/loan_application", {"enabled": value})):
            r = post_form(http, url, data, page=STAFF_PAGE)
            assert r.status_code in (303, 400, 422), (url, value, r.status_code)
    for code in ("x" * 500, "%00", "N_NEW%2F..", "loan_application'"):
        assert post_form(http, f"/staff/admin/services/{code}", {"enabled": "on"},
                         page=STAFF_PAGE).status_code == 404
