"""Your sessions (issue 12): the list of a person's signed-in sessions, ending one or all others,
"last seen" written a bounded number of times, and the new-device notice."""
from datetime import timedelta

import pytest

import models
from conftest import create_user, login, post_form, run_jobs, sms_to
from models.messages import _ended_key, _redis
from rules import sessions as R
from test_performance import Statements

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")


@pytest.fixture
def user(app):
    return create_user(app, email="anna@example.lv", phone="+37121111111")


def browser(app, user_agent, address):
    client = app.test_client()
    client.environ_base.update({"HTTP_USER_AGENT": user_agent, "REMOTE_ADDR": address})
    return client


def rows(user_id):
    return list(models.UserSession.select().where(models.UserSession.user == user_id).order_by(models.UserSession.id))


# --- The rules ---------------------------------------------------------------------------------

@pytest.mark.parametrize("agent,expected", [
    (FIREFOX_WINDOWS, ("Firefox", "Windows")),
    (SAFARI_IPHONE, ("Safari", "iPhone")),
    ("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
     ("Chrome", "Android")),
    ("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/126.0 Safari/537.36 Edg/126.0", ("Edge", "Windows")),
    ("curl/8.5", (None, None)), ("", (None, None)), (None, (None, None)), ("\x00" * 5000, (None, None)),
])
def test_a_user_agent_reads_as_browser_and_system(agent, expected):
    assert R.describe_user_agent(agent) == expected


@pytest.mark.parametrize("address,expected", [
    ("192.0.2.77", "192.0.2.0/24"), ("2001:db8:1:2::99", "2001:db8:1::/48"),
    ("::ffff:198.51.100.9", "198.51.100.0/24"), ("", ""), ("nonsense", ""), (None, ""), ("1.2.3.4/8", ""),
])
def test_the_list_shows_a_network_never_the_address(address, expected):
    assert R.address_range(address) == expected


# --- The list ----------------------------------------------------------------------------------

@pytest.mark.postgres
def test_sessions_page_lists_each_session_with_device_network_and_method(app, user, db):
    laptop = browser(app, FIREFOX_WINDOWS, "192.0.2.77")
    phone = browser(app, SAFARI_IPHONE, "2001:db8:1:2::99")
    login(laptop, "anna@example.lv")
    login(phone, "+37121111111")
    page = laptop.get("/settings/sessions")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Firefox" in html and "Windows" in html and "Safari" in html and "iPhone" in html
    assert "192.0.2.0/24" in html and "2001:db8:1::/48" in html
    assert "192.0.2.77" not in html and "2001:db8:1:2::99" not in html
    assert html.count("Šī sesija") == 1  # this session marked, once
    assert html.index("Šī sesija") < html.index("Safari")  # and first
    assert "ar paroli" in html
    assert len(rows(user.id)) == 2


def test_list_never_shows_another_users_sessions_and_ending_one_is_404(app, user, db):
    other = create_user(app, email="zane@example.lv", phone="+37121111119")
    mine, theirs = app.test_client(), browser(app, SAFARI_IPHONE, "203.0.113.5")
    login(mine, "anna@example.lv")
    login(theirs, "zane@example.lv")
    html = mine.get("/settings/sessions").get_data(as_text=True)
    assert "Safari" not in html and "203.0.113.0/24" not in html
    their_row = rows(other.id)[0]
    r = post_form(mine, f"/settings/sessions/{their_row.id}/end", {}, page="/settings/sessions")
    assert r.status_code == 404
    assert theirs.get("/dashboard").status_code == 200
    assert post_form(mine, "/settings/sessions/999999/end", {}, page="/settings/sessions").status_code == 404


@pytest.mark.postgres
def test_ending_another_session_signs_it_out_on_its_next_request_and_stops_its_polls(app, user, db):
    laptop, phone = app.test_client(), browser(app, SAFARI_IPHONE, "198.51.100.9")
    login(laptop, "anna@example.lv")
    login(phone, "+37121111111")
    assert phone.get("/dashboard").status_code == 200
    phone_row = next(r for r in rows(user.id) if "iPhone" in r.user_agent)
    r = post_form(laptop, f"/settings/sessions/{phone_row.id}/end", {}, page="/settings/sessions")
    assert r.status_code == 303 and r.headers["Location"].endswith("/settings/sessions")
    r = phone.get("/dashboard")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert laptop.get("/dashboard").status_code == 200
    assert [x.id for x in rows(user.id)] != [phone_row.id] and len(rows(user.id)) == 1
    with app.app_context():
        assert _redis().get(_ended_key(phone_row.session_id))  # the poll gate knows at once
    assert models.AuditLog.select().where(models.AuditLog.action == "session.ended").count() == 1


@pytest.mark.postgres
def test_end_all_others_keeps_this_session(app, user, db):
    here, *elsewhere = [app.test_client() for _ in range(3)]
    for c in (here, *elsewhere):
        login(c, "anna@example.lv")
    r = post_form(here, "/settings/sessions/end-others", {}, page="/settings/sessions")
    assert r.status_code == 303
    assert here.get("/dashboard").status_code == 200
    assert all(c.get("/dashboard").status_code == 302 for c in elsewhere)
    assert len(rows(user.id)) == 1
    assert "Jūsu konts nav pieslēgts nekur citur." in here.get("/settings/sessions").get_data(as_text=True)


def test_ending_this_session_from_the_list_signs_out_here(app, user, db):
    client = app.test_client()
    login(client, "anna@example.lv")
    (row,) = rows(user.id)
    r = post_form(client, f"/settings/sessions/{row.id}/end", {}, page="/settings/sessions")
    assert r.status_code == 303 and r.headers["Location"].endswith("/login")
    assert client.get("/dashboard").status_code == 302
    assert rows(user.id) == []


@pytest.mark.parametrize("url", ["/settings/sessions/1/end", "/settings/sessions/end-others"])
def test_ending_sessions_needs_post_with_csrf(client, user, url):
    login(client, "anna@example.lv")
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 400


@pytest.mark.parametrize("url", ["/settings/sessions/abc/end", "/settings/sessions/99999999999999999999/end",
                                 "/settings/sessions/-1/end"])
def test_hostile_session_ids_are_not_found(client, user, url):
    login(client, "anna@example.lv")
    assert post_form(client, url, {}, page="/settings/sessions").status_code in (404, 405)


def test_signing_out_here_or_everywhere_removes_the_rows(app, user, db):
    a, b = app.test_client(), app.test_client()
    login(a, "anna@example.lv")
    login(b, "anna@example.lv")
    post_form(a, "/logout", {}, page="/dashboard")
    assert len(rows(user.id)) == 1
    post_form(b, "/logout/everywhere", {}, page="/settings")
    assert rows(user.id) == []


def test_a_password_change_lists_only_this_session(app, user, db):
    here, other = app.test_client(), app.test_client()
    login(here, "anna@example.lv")
    login(other, "anna@example.lv")
    r = post_form(here, "/password/change", {"current_password": "Zilais-Kalns7!", "password": "Sarkanais-Kalns8!",
                                             "confirm": "Sarkanais-Kalns8!"})
    assert r.status_code == 303
    html = here.get("/settings/sessions").get_data(as_text=True)
    assert html.count("session-") >= 1 and "Jūsu konts nav pieslēgts nekur citur." in html


@pytest.mark.postgres
def test_timed_out_sessions_leave_the_list_and_the_clean_up_removes_them(app, user, db):
    client = app.test_client()
    login(client, "anna@example.lv")
    later = models.utcnow() + R.SEEN_WITHIN + timedelta(seconds=1)
    assert len(list(models.UserSession.live_of(models.User.get_by_id(user.id), later))) == 0
    models.clean_expired(models.utcnow())
    assert len(rows(user.id)) == 1
    models.clean_expired(later)
    assert rows(user.id) == []


def test_last_seen_is_written_at_most_every_few_minutes(app, user, db, monkeypatch):
    client = app.test_client()
    login(client, "anna@example.lv")
    statements = Statements(monkeypatch)
    for _ in range(20):
        with client.session_transaction() as s:
            s["seen_at"] -= 60  # a minute between requests: the idle clock moves each time
        assert client.get("/settings").status_code == 200
    writes = [s for s in statements.sql if s.startswith('UPDATE "user_session"')]
    assert len(writes) == 0  # 20 minutes since sign-in? no: the write waits for 5 of the session's minutes
    with client.session_transaction() as s:
        s["seen_recorded_at"] -= R.LAST_SEEN_EVERY.total_seconds()
        s["seen_at"] -= 60
    before = rows(user.id)[0].last_seen_at
    for _ in range(20):
        with client.session_transaction() as s:
            s["seen_at"] -= 60
        client.get("/settings")
    writes = [s for s in statements.sql if s.startswith('UPDATE "user_session"')]
    assert len(writes) == 1
    assert rows(user.id)[0].last_seen_at > before


# --- The new-device notice -------------------------------------------------------------------

def _notices(user_id, channel="email"):
    """The new-device notices to the person by ``channel`` (each also goes by SMS: test_sms_copy_...)."""
    return list(models.Notification.select().where(models.Notification.user == user_id,
                                                   models.Notification.template == "new_device_sign_in",
                                                   models.Notification.channel == channel))


def test_a_new_device_gets_one_notice_a_known_one_none(app, user, db, mailbox):
    laptop = browser(app, FIREFOX_WINDOWS, "192.0.2.77")
    login(laptop, "anna@example.lv")
    assert len(_notices(user.id)) == 1
    run_jobs(app)
    text = mailbox.last_text("anna@example.lv")
    assert "Firefox" in text and "Windows" in text and "192.0.2.0/24" in text and "192.0.2.77" not in text
    assert "/settings/sessions" in text
    post_form(laptop, "/logout", {}, page="/dashboard")
    login(laptop, "anna@example.lv")  # the same browser again: known
    assert len(_notices(user.id)) == 1
    login(browser(app, SAFARI_IPHONE, "198.51.100.9"), "anna@example.lv")  # another: a notice
    assert len(_notices(user.id)) == 2


def test_the_new_device_notice_goes_by_sms_too(app, user, db):
    login(browser(app, FIREFOX_WINDOWS, "192.0.2.77"), "anna@example.lv")
    sms, = _notices(user.id, channel="sms")
    assert sms.recipient == "+37121111111"
    run_jobs(app)
    text = sms_to(app, "+37121111111")[-1]
    assert "Firefox" in text and "Windows" in text


def test_a_failed_sign_in_sends_no_notice(app, user, db):
    login(app.test_client(), "anna@example.lv", password="Nepareiza-Parole1!")
    assert _notices(user.id) == []
