"""Staff end a client user's sessions (issue 12): supervisors and administrators see where the
person is signed in and end every session at once; the person's next request is signed out;
audited. Consultants, clients and staff accounts as the target answer 404."""
import pytest

import models
from conftest import create_user, login, post_form


@pytest.fixture
def people(app):
    anna = create_user(app, email="anna@example.lv", phone="+37121111111")
    create_user(app, email="uzraudze@example.lv", phone="+37123333333", staff_role="supervisor")
    create_user(app, email="konsultants@example.lv", phone="+37124444444", staff_role="consultant")
    return anna


def signed_in(client):
    return client.get("/dashboard").status_code == 200


@pytest.mark.postgres  # the writes of ending them, in one transaction
def test_a_supervisor_sees_a_clients_sessions_and_ends_them_all(app, people, db):
    phone, laptop = app.test_client(), app.test_client()
    login(phone, "anna@example.lv", headers={"User-Agent": "Mozilla/5.0 (Android 14) Chrome/130.0 Mobile"})
    login(laptop, "anna@example.lv")
    supervisor = app.test_client()
    login(supervisor, "uzraudze@example.lv")
    page = supervisor.get(f"/staff/users/{people.id}/sessions")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count('class="card"') == 2 and "Android" in html
    # A session the list does not know (one from before sessions were listed) ends too.
    models.UserSession.delete().where(models.UserSession.user == people.id,
                                      models.UserSession.user_agent.not_in(["Mozilla/5.0 (Android 14) Chrome/130.0 Mobile"])).execute()
    r = post_form(supervisor, f"/staff/users/{people.id}/sessions/end", {}, page=f"/staff/users/{people.id}/sessions")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/staff/users/{people.id}/sessions")
    assert not signed_in(phone) and not signed_in(laptop)
    assert models.UserSession.select().where(models.UserSession.user == people.id).count() == 0
    row = models.AuditLog.get(models.AuditLog.action == "staff.sessions_ended")
    assert row.details == {"target_user": people.id, "count": 1} and row.user_id != people.id
    assert signed_in(supervisor)
    assert supervisor.get(f"/staff/users/{people.id}/sessions").get_data(as_text=True).count('class="card"') == 0
    again = app.test_client()
    login(again, "anna@example.lv")
    assert signed_in(again)  # the person signs in again as usual


def test_only_supervisors_and_administrators_and_only_for_client_users(app, people, db):
    consultant = app.test_client()
    login(consultant, "konsultants@example.lv")
    assert consultant.get(f"/staff/users/{people.id}/sessions").status_code == 404
    client = app.test_client()
    login(client, "anna@example.lv")
    assert client.get(f"/staff/users/{people.id}/sessions").status_code == 404
    supervisor = app.test_client()
    login(supervisor, "uzraudze@example.lv")
    staff_id = models.User.get(models.User.email == "konsultants@example.lv").id
    assert supervisor.get(f"/staff/users/{staff_id}/sessions").status_code == 404
    assert supervisor.get("/staff/users/999999/sessions").status_code == 404
    r = post_form(supervisor, f"/staff/users/{staff_id}/sessions/end", {}, page="/staff")
    assert r.status_code == 404 and signed_in(consultant)
