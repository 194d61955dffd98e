"""Sign-in, sign-out, sessions, recovery and password change through the Flask client."""
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

import models
import rules
from conftest import PASSWORD, create_user, csrf_token, last_sms_code, login, post_form, run_jobs


def test_the_portal_hashes_with_production_argon2_parameters():
    """The tests hash cheaply (conftest); the portal, imported without them, must not."""
    probe = ("import models\n"
             "print(models.hash_password('Zilais-Kalns7!'))\n"
             "print(models.passwords.dummy_hash())\n")
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    assert len(out) == 2
    for produced in out:  # argon2id, 64 MiB, 3 passes, 4 lanes: argon2-cffi's RFC 9106 profile
        assert produced.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), produced
    assert "$argon2id$v=19$m=8,t=1,p=1$" in models.hash_password("x")  # and here the cheap one


@pytest.fixture
def user(app):
    return create_user(app, email="anna@example.lv", phone="+37121111111")


@pytest.mark.postgres
def test_sign_in_with_email(client, user):
    r = login(client, "Anna@Example.lv")
    assert r.status_code == 303 and r.headers["Location"].endswith("/dashboard")
    assert client.get("/dashboard").status_code == 200


def test_sign_in_with_phone_in_international_form(client, user):
    r = login(client, "+37121111111")
    assert r.status_code == 303


@pytest.mark.postgres
def test_wrong_password_and_unknown_account_get_the_same_message(client, user, db):
    wrong = login(client, "anna@example.lv", "Nepareiza-Parole1!")
    unknown = login(client, "nobody@example.lv")
    assert wrong.status_code == unknown.status_code == 422
    message = re.compile(r'<div class="error-summary".*?</div>', re.S)
    assert message.search(wrong.get_data(as_text=True)).group(0) == \
        message.search(unknown.get_data(as_text=True)).group(0)
    actions = [a.action for a in models.AuditLog.select().order_by(models.AuditLog.id)]
    assert actions.count("login.failure") == 2
    assert "Nepareiza" not in "".join(str(a.details) + a.actor for a in models.AuditLog.select())


def test_sign_in_is_audited_with_address(client, user, db):
    login(client, "anna@example.lv")
    row = models.AuditLog.get(models.AuditLog.action == "login.success")
    assert row.user_id == user.id and row.ip == "127.0.0.1"


def test_sixth_wrong_password_for_one_account_is_throttled_with_wait_time(client, user):
    for _ in range(5):
        assert login(client, "anna@example.lv", "Nepareiza-Parole1!").status_code == 422
    r = login(client, "anna@example.lv", PASSWORD)  # even the right password waits, on a browser the
    # account does not know (a known device has a budget of its own: tests/test_throttling.py)
    assert r.status_code == 429
    html = r.get_data(as_text=True)
    # "Too many sign-in attempts. Try again in %(n)d minutes.", on the sign-in form, in Latvian
    assert re.search(r"Pārāk daudz ienākšanas mēģinājumu\. Mēģiniet vēlreiz pēc 1[45] min\.", html), \
        "the message says when to try again"
    assert 'name="identifier"' in html  # the form stays, to try again later
    # another account from the same address is not blocked by this account's limit
    create_user(client.application, email="other@example.lv", phone="+37122222222")
    assert login(client, "other@example.lv").status_code == 303


def test_successful_sign_ins_do_not_count_against_the_limit(app, user):
    for _ in range(7):  # a new browser each time: the account's budget, not a known device's
        client = app.test_client()
        assert login(client, "anna@example.lv").status_code == 303
        post_form(client, "/logout", {}, page="/dashboard")


def test_sign_in_starts_a_new_session(client, user):
    before = csrf_token(client, "/login")
    with client.session_transaction() as s:
        s["planted"] = "by someone else"
    login(client, "anna@example.lv")
    with client.session_transaction() as s:
        assert "planted" not in s
    assert csrf_token(client, "/settings") != before


def flashes(client):
    """The flash messages the next page shows (the sign-in page after signing out)."""
    page = client.get("/login").get_data(as_text=True)
    return [" ".join(m.split()) for m in re.findall(r'<p class="flash flash--\w+">(.*?)</p>', page, re.S)]


def audit_actions():
    return [a.action for a in models.AuditLog.select().order_by(models.AuditLog.id)]


@pytest.mark.postgres
def test_sign_out_here_ends_this_browser_only_and_a_copy_of_its_cookie(app, user, db):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "anna@example.lv")
    login(phone, "+37121111111")
    copied = laptop.get_cookie("kabinets_session").value  # as someone who took it would
    r = post_form(laptop, "/logout", {}, page="/dashboard")
    assert r.status_code == 303 and r.headers["Location"].endswith("/login")
    assert flashes(laptop) == ["Jūs izgājāt no kabineta šajā pārlūkā. Pieslēgšanās citās ierīcēs un pārlūkos turpinās."]
    assert laptop.get("/dashboard").status_code == 302
    assert phone.get("/dashboard").status_code == 200  # the other session goes on
    replayed = app.test_client()
    replayed.set_cookie("kabinets_session", copied)
    r = replayed.get("/dashboard")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert audit_actions()[-1] == "logout"
    login(laptop, "anna@example.lv")  # signing in again in that browser is a new session
    assert laptop.get("/dashboard").status_code == 200


@pytest.mark.postgres
def test_sign_out_everywhere_ends_every_session_of_the_user(app, user, db):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "anna@example.lv")
    login(phone, "+37121111111")
    assert phone.get("/dashboard").status_code == 200
    r = post_form(laptop, "/logout/everywhere", {}, page="/settings")
    assert r.status_code == 303 and r.headers["Location"].endswith("/login")
    assert flashes(laptop) == ["Jūs izgājāt no kabineta visās ierīcēs un pārlūkos."]
    assert laptop.get("/dashboard").status_code == 302
    assert phone.get("/dashboard").status_code == 302
    assert audit_actions()[-1] == "logout.everywhere"


def test_a_session_from_before_session_ids_signs_out_everywhere_and_says_so(app, user, db):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "anna@example.lv")
    login(phone, "+37121111111")
    with laptop.session_transaction() as s:
        del s["sid"]
    assert post_form(laptop, "/logout", {}, page="/dashboard").status_code == 303
    assert flashes(laptop) == ["Jūs izgājāt no kabineta visās ierīcēs un pārlūkos."]
    assert phone.get("/dashboard").status_code == 302


def test_settings_offer_both_ways_to_sign_out_as_plain_forms(client, user):
    login(client, "anna@example.lv")
    page = client.get("/settings").get_data(as_text=True)
    page = re.search(r'<section[^>]*id="sign-out">.*?</section>', page, re.S).group(0)
    for action, label in (("/logout", "Iziet šajā pārlūkā"), ("/logout/everywhere", "Iziet visās ierīcēs")):
        form = re.search(rf'<form method="post" action="{action}"[^>]*>(.*?)</form>', page, re.S)
        assert form, action
        assert 'name="csrf_token"' in form.group(1) and label in form.group(1)


def test_a_temporary_password_holder_may_sign_out_everywhere(app, client, user, db):
    models.User.update(must_change_password=True).where(models.User.id == user.id).execute()
    login(client, "anna@example.lv")
    r = post_form(client, "/logout/everywhere", {}, page="/password/change")
    assert r.status_code == 303 and r.headers["Location"].endswith("/login")


@pytest.mark.parametrize("url", ["/logout", "/logout/everywhere"])
def test_sign_out_needs_post_with_csrf(client, user, url):
    login(client, "anna@example.lv")
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 400
    assert client.get("/dashboard").status_code == 200


@pytest.mark.parametrize("key,age", [("seen_at", rules.SESSION_IDLE_TIMEOUT),
                                     ("login_at", rules.SESSION_ABSOLUTE_TIMEOUT)])
def test_idle_and_absolute_timeouts_end_the_session(client, user, key, age):
    login(client, "anna@example.lv")
    with client.session_transaction() as s:
        s[key] = datetime.now(timezone.utc).timestamp() - age.total_seconds() - 5
    r = client.get("/dashboard")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_next_never_leaves_the_portal(client, user, target):
    r = post_form(client, f"/login?next={target}", {"identifier": "anna@example.lv", "password": PASSWORD},
                  page="/login")
    assert r.headers["Location"].endswith("/dashboard")


def test_next_keeps_a_local_path(client, user):
    r = post_form(client, "/login?next=/settings", {"identifier": "anna@example.lv", "password": PASSWORD},
                  page="/login")
    assert r.headers["Location"].endswith("/settings")


# --- Recovery (seed 004 §15.2) -----------------------------------------------------

def recover(client, app, identifier, read_code, read_password):
    r = post_form(client, "/password/reset", {"identifier": identifier})
    assert r.status_code == 303 and r.headers["Location"].endswith("/password/reset/code")
    run_jobs(app)
    r = post_form(client, "/password/reset/code", {"code": read_code()})
    assert r.status_code == 303 and r.headers["Location"].endswith("/password/reset/sent")
    assert client.get("/password/reset/sent").status_code == 200
    run_jobs(app)
    return read_password()


@pytest.mark.postgres
def test_recovery_by_email_sends_code_then_temporary_password_then_forces_change(client, app, user, mailbox, db):
    temporary = recover(client, app, "anna@example.lv",
                        lambda: mailbox.last_code("anna@example.lv"),
                        lambda: re.search(r"^ {4}(\S+)\s*$", mailbox.last_text("anna@example.lv"), re.M).group(1))
    r = login(client, "anna@example.lv", temporary)
    assert r.status_code == 303 and r.headers["Location"].endswith("/password/change")
    assert client.get("/dashboard").headers["Location"].endswith("/password/change")
    r = post_form(client, "/password/change", {"current_password": temporary, "password": "Jauna-Parole-42!",
                                               "confirm": "Jauna-Parole-42!"})
    assert r.status_code == 303
    assert client.get("/dashboard").status_code == 200
    actions = {a.action for a in models.AuditLog.select()}
    assert {"password.reset_requested", "password.reset", "password.changed"} <= actions


def test_recovery_by_phone_uses_sms_for_code_and_password(client, app, user, db):
    models.User.update(language="en").where(models.User.id == user.id).execute()
    def temporary_from_sms():
        text = [m.body for m in models.DevOutbox.select().where(models.DevOutbox.recipient == "+37121111111")][-1]
        # The password on a line of its own, the last one: nothing sticks to it.
        lines = text.splitlines()
        assert lines[0] == "Kabinets temporary password, valid for one hour (choose a new one when you sign in):"
        assert len(lines) == 2 and re.fullmatch(r"[A-Z]{4}-[a-z]{4}-[2-9]{4}", lines[1]), text
        return lines[1]
    temporary = recover(client, app, "+37121111111", lambda: last_sms_code(app, "+37121111111"),
                        temporary_from_sms)
    assert login(client, "+37121111111", temporary).status_code == 303


def test_recovery_answers_the_same_for_an_unknown_account(client, app, user, mailbox):
    known = post_form(client, "/password/reset", {"identifier": "anna@example.lv"})
    known_page = client.get("/password/reset/code").get_data(as_text=True)
    other = app.test_client()
    unknown = post_form(other, "/password/reset", {"identifier": "nobody@example.lv"})
    unknown_page = other.get("/password/reset/code").get_data(as_text=True)
    assert known.status_code == unknown.status_code == 303
    strip = lambda html: re.sub(r'value="[^"]+"|"X-CSRFToken": "[^"]+"|\S+@example\.lv|n\*\*\*@example.lv|a\*\*\*@example.lv', "", html)
    assert strip(known_page) == strip(unknown_page)
    run_jobs(app)
    assert mailbox.to("nobody@example.lv") == []


@pytest.mark.postgres
def test_new_password_must_differ_from_previous_ones(client, app, user):
    login(client, "anna@example.lv")
    r = post_form(client, "/password/change", {"current_password": PASSWORD, "password": PASSWORD,
                                               "confirm": PASSWORD})
    assert r.status_code == 422
    post_form(client, "/password/change", {"current_password": PASSWORD, "password": "Otra-Parole-77!",
                                           "confirm": "Otra-Parole-77!"})
    r = post_form(client, "/password/change", {"current_password": "Otra-Parole-77!", "password": PASSWORD,
                                               "confirm": PASSWORD})
    assert r.status_code == 422  # the one before is in the history too


@pytest.mark.postgres
def test_password_change_ends_other_sessions_but_keeps_this_one(app, user):
    here, elsewhere = app.test_client(), app.test_client()
    login(here, "anna@example.lv")
    login(elsewhere, "anna@example.lv")
    r = post_form(here, "/password/change", {"current_password": PASSWORD, "password": "Otra-Parole-77!",
                                             "confirm": "Otra-Parole-77!"})
    assert r.status_code == 303
    assert here.get("/dashboard").status_code == 200
    assert elsewhere.get("/dashboard").status_code == 302


def test_wrong_current_password_is_refused(client, user):
    login(client, "anna@example.lv")
    r = post_form(client, "/password/change", {"current_password": "Nav-Ta-Parole1!", "password": "Otra-Parole-77!",
                                               "confirm": "Otra-Parole-77!"})
    assert r.status_code == 422 and 'id="current_password-error"' in r.get_data(as_text=True)


@pytest.mark.postgres
def test_reset_code_is_single_use_and_limited_to_five_tries(client, app, user, mailbox):
    post_form(client, "/password/reset", {"identifier": "anna@example.lv"})
    run_jobs(app)
    code = mailbox.last_code("anna@example.lv")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(rules.CODE_MAX_ATTEMPTS):
        assert post_form(client, "/password/reset/code", {"code": wrong}).status_code == 422
    assert post_form(client, "/password/reset/code", {"code": code}).status_code == 422


def test_reset_requests_for_one_target_past_its_cap_answer_the_same_and_send_nothing(client, app, user, mailbox):
    """Per target only the messages are capped (no spam to the owner, nothing blocked, nothing
    told); the source's budget is what refuses (tests/test_throttling.py)."""
    for _ in range(8):
        r = post_form(client, "/password/reset", {"identifier": "anna@example.lv"})
        assert r.status_code == 303 and r.headers["Location"].endswith("/password/reset/code")
    run_jobs(app)
    assert len(mailbox.to("anna@example.lv")) == 5


@pytest.mark.postgres
def test_temporary_password_expires(client, app, user, db):
    with models.db.atomic():
        u = models.User.get_by_id(user.id)
        u.set_password("Pagaidu-Parole-1!", temporary=True)
        u.temporary_password_expires_at = models.utcnow().replace(year=2000)
        u.save()
    assert login(client, "anna@example.lv", "Pagaidu-Parole-1!").status_code == 422


# --- Sessions and password fields (SECURITY.md: ASVS V6.2, V7.4) -----------------------------

def test_a_disabled_account_is_signed_out_at_its_next_request_and_cannot_sign_in(app, user, db):
    """ASVS 7.4.2: disabling an account ends its sessions at once, on every device."""
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "anna@example.lv")
    login(phone, "+37121111111")
    assert laptop.get("/dashboard").status_code == phone.get("/dashboard").status_code == 200
    models.User.update(disabled_at=models.utcnow()).where(models.User.id == user.id).execute()
    for device in (laptop, phone):
        r = device.get("/dashboard")
        assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert login(app.test_client(), "anna@example.lv").status_code == 422


LOGOUT_FORM = re.compile(r'<form method="post" action="/logout"[^>]*>\s*'
                         r'<input type="hidden" name="csrf_token" value="[^"]+">\s*<button type="submit"')


def test_every_signed_in_page_offers_sign_out(app, user):
    """ASVS 7.4.4: every page behind sign-in, for clients and staff, carries the sign-out form."""
    create_user(app, email="vaditajs@example.lv", phone="+37123333334", staff_role="admin")
    for identifier, pages in [
            ("anna@example.lv", ["/dashboard", "/documents", "/messages", "/messages/new", "/settings",
                                 "/password/change", "/no-such-page"]),
            ("vaditajs@example.lv", ["/staff", "/staff/documents", "/staff/messages", "/staff/messages/ratings",
                                     "/staff/notifications", "/staff/audit", "/staff/outbox", "/settings"])]:
        client = app.test_client()
        login(client, identifier)
        for url in pages:
            r = client.get(url)
            assert r.status_code in (200, 404), (url, r.status_code)
            assert LOGOUT_FORM.search(r.get_data(as_text=True)), url


PASSWORD_INPUT = re.compile(r'<input\b[^>]*\bname="(password|current_password|confirm)"[^>]*>')


@pytest.mark.parametrize("url, signed_in", [("/login", False), ("/register/contact", False),
                                            ("/password/change", True)])
def test_password_fields_are_masked_and_open_to_password_managers(client, url, signed_in):
    """ASVS 6.2.6, 6.2.7: every password input is type="password" and says what it holds
    (autocomplete current-password / new-password), so managers fill it; nothing stops pasting."""
    if signed_in:
        create_user(client.application)
        login(client, "anna@example.lv")
    else:
        post_form(client, "/register", {"client_type": "natural", "citizenship": "LV",
                                        "accept_privacy": "y", "accept_terms": "y"})
    html = client.get(url).get_data(as_text=True)
    inputs = PASSWORD_INPUT.findall(html)
    assert inputs, url
    for tag in re.finditer(PASSWORD_INPUT, html):
        tag = tag.group(0)
        assert 'type="password"' in tag, tag
        assert re.search(r'autocomplete="(current|new)-password"', tag), tag
        assert "onpaste" not in tag and 'autocomplete="off"' not in tag, tag
