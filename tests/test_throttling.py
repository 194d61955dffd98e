"""Throttling (issue 9, rules/throttle.py): an attacker is slowed and refused, the owner is never
locked out. Sign-in from a known device, recovery a stranger cannot block, budgets charged before
the password check (at most N checks of N at once), one audit row per refused window, and the
memory fallback when Redis is away."""
import re
import shutil
import threading
import time

import pytest

import models
import rules
from blueprints.throttling import DEVICE_COOKIE
from conftest import PASSWORD, build_app, create_user, form_token, login, make_config, post_form, run_jobs
from rules import throttle as budgets

WRONG = "Nepareiza-Parole1!"
EMAIL = "anna@example.lv"


@pytest.fixture
def user(app):
    return create_user(app, email=EMAIL, phone="+37121111111")


def browser(app, address="127.0.0.1"):
    """A test client whose requests come from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def signed_in_before(app, address="127.0.0.1"):
    """A browser that signed in to the account once and signed out: a known device."""
    client = browser(app, address)
    assert login(client, EMAIL).status_code == 303
    assert client.get_cookie(DEVICE_COOKIE) is not None
    assert post_form(client, "/logout", {}, page="/dashboard").status_code == 303
    return client


def spend_account_budget(app, identifier=EMAIL, address="203.0.113.7"):
    """An attacker's wrong passwords until the account's budget refuses them."""
    attacker = browser(app, address)
    for _ in range(budgets.SIGN_IN_PER_ACCOUNT.amount):
        assert login(attacker, identifier, WRONG).status_code == 422
    assert login(attacker, identifier, WRONG).status_code == 429
    return attacker


@pytest.fixture
def checks(monkeypatch):
    """Counts argon2 verifications (models.passwords.password_matches: real and dummy checks);
    each takes 50 ms, as production's argon2 takes a good part of that, so requests overlap."""
    counted, lock = [], threading.Lock()
    real = models.passwords.password_matches

    def counting(password_hash, password):
        with lock:
            counted.append(password)
        time.sleep(0.05)
        return real(password_hash, password)

    monkeypatch.setattr(models.passwords, "password_matches", counting)
    return counted


def audit_rows(action):
    return list(models.AuditLog.select().where(models.AuditLog.action == action).order_by(models.AuditLog.id))


# --- Sign-in ------------------------------------------------------------------------------------

def test_owner_on_a_known_device_signs_in_while_an_attacker_has_spent_the_account_budget(app, user, checks):
    laptop = signed_in_before(app)
    attacker = spend_account_budget(app)
    assert login(attacker, EMAIL).status_code == 429  # even the right password, from a browser the account does not know
    before = len(checks)
    r = login(laptop, EMAIL)
    assert r.status_code == 303 and r.headers["Location"].endswith("/dashboard")
    assert laptop.get("/dashboard").status_code == 200
    assert len(checks) == before + 1
    # a browser the account does not know is refused, and told what still works
    r = login(browser(app, "198.51.100.3"), EMAIL)
    assert r.status_code == 429
    assert "ierīces, kurā jau esat ienākuši iepriekš, vai atjaunot paroli" in r.get_data(as_text=True)


def test_a_known_device_has_a_budget_of_its_own(app, user, checks):
    laptop = signed_in_before(app)
    for _ in range(budgets.SIGN_IN_PER_DEVICE.amount):
        assert login(laptop, EMAIL, WRONG).status_code == 422
    checked = len(checks)
    assert login(laptop, EMAIL).status_code == 429  # a stolen device cookie gets no more guesses
    assert len(checks) == checked
    assert login(browser(app, "198.51.100.3"), EMAIL).status_code == 303  # the account's budget is apart


def test_a_device_token_is_for_one_account_and_dies_with_a_password_change(app, user):
    create_user(app, email="other@example.lv", phone="+37122222222")
    laptop = signed_in_before(app)
    phone = browser(app, "198.51.100.9")
    assert login(phone, EMAIL).status_code == 303
    r = post_form(phone, "/password/change", {"current_password": PASSWORD, "password": "Otra-Parole-77!",
                                              "confirm": "Otra-Parole-77!"})
    assert r.status_code == 303
    post_form(phone, "/logout", {}, page="/dashboard")
    spend_account_budget(app)
    assert login(laptop, EMAIL, "Otra-Parole-77!").status_code == 429  # its token was for the old password
    assert login(phone, EMAIL, "Otra-Parole-77!").status_code == 303  # the change re-issued this one
    post_form(phone, "/logout", {}, page="/dashboard")
    spend_account_budget(app, "other@example.lv")
    assert login(phone, "other@example.lv").status_code == 429  # anna's token says nothing about another account


def test_a_known_device_gets_past_a_spent_source_budget(app, user):
    laptop = signed_in_before(app)  # behind the same address as a guesser, say one office
    guesser = browser(app)
    for n in range(budgets.SIGN_IN_PER_SOURCE.amount):
        assert login(guesser, f"person{n}@example.lv", WRONG).status_code == 422
    r = login(guesser, "person99@example.lv", WRONG)
    assert r.status_code == 429
    assert login(browser(app), EMAIL).status_code == 429  # an unknown browser at that address
    assert login(laptop, EMAIL).status_code == 303


def test_the_device_cookie_is_http_only_lax_long_lived_and_secure_over_https(app, user):
    plain = app.test_client()
    r = login(plain, EMAIL)
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith(DEVICE_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert f"Max-Age={int(budgets.KNOWN_DEVICE_LIFETIME.total_seconds())}" in cookie
    secure = app.test_client()
    token = form_token(secure, "https://localhost/login")
    r = secure.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                    data={"csrf_token": token, "identifier": EMAIL, "password": PASSWORD})
    assert r.status_code == 303
    cookie = next(h for h in r.headers.getlist("Set-Cookie") if h.startswith(DEVICE_COOKIE + "="))
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_a_forged_or_foreign_device_cookie_is_ignored(app, user):
    spend_account_budget(app)
    forger = browser(app, "198.51.100.4")
    forger.set_cookie(DEVICE_COOKIE, f"v1.{user.id}.{int(time.time())}.nonce.{'0' * 64}")
    assert login(forger, EMAIL).status_code == 429


def _concurrently(requests):
    """Run the prepared request functions at the same moment, one thread each; their answers."""
    barrier, answers, lock = threading.Barrier(len(requests)), [], threading.Lock()

    def run(send):
        barrier.wait()
        r = send()
        with lock:
            answers.append(r.status_code)

    threads = [threading.Thread(target=run, args=(send,)) for send in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return answers


def _prepared_login(app, identifier, address="203.0.113.7"):
    client = browser(app, address)
    token = form_token(client, "/login")
    return lambda: client.post("/login", data={"csrf_token": token, "identifier": identifier, "password": WRONG})


def test_twenty_wrong_passwords_at_once_reach_the_password_check_at_most_five_times(app, user, checks, db):
    answers = _concurrently([_prepared_login(app, EMAIL) for _ in range(20)])
    limit = budgets.SIGN_IN_PER_ACCOUNT.amount
    assert len(checks) <= limit, f"{len(checks)} password checks passed a {limit}-attempt budget"
    assert sorted(answers) == [422] * len(checks) + [429] * (20 - len(checks))
    assert len(audit_rows("auth.throttled")) == 1


def test_wrong_passwords_at_once_for_many_accounts_reach_the_check_at_most_the_source_budget(app, user, checks):
    limit = budgets.SIGN_IN_PER_SOURCE.amount
    answers = _concurrently([_prepared_login(app, f"person{n}@example.lv") for n in range(limit + 10)])
    assert len(checks) <= limit
    assert answers.count(429) >= 10


def test_a_refused_window_writes_one_audit_row_not_one_per_request(app, user, db):
    attacker = spend_account_budget(app)
    for _ in range(60):  # past the source's budget too
        r = login(attacker, EMAIL, WRONG)
        assert r.status_code == 429
    # "Too many sign-in attempts. Try again in %(n)d minutes.", in Latvian, and Retry-After
    assert re.search(r"Pārāk daudz ienākšanas mēģinājumu\. Mēģiniet vēlreiz pēc 1[45] min\.", r.get_data(as_text=True))
    assert 800 <= int(r.headers["Retry-After"]) <= 900
    throttled = audit_rows("auth.throttled")
    assert [row.details["limit"] for row in throttled] == ["sign-in/account", "sign-in/source"]
    assert {row.actor for row in throttled} == {EMAIL}
    assert {row.user_id for row in throttled} == {user.id} and {row.ip for row in throttled} == {"203.0.113.7"}
    assert len(audit_rows("login.failure")) == budgets.SIGN_IN_PER_ACCOUNT.amount


def test_password_change_is_charged_before_the_check(app, user, checks):
    client = browser(app)
    assert login(client, EMAIL).status_code == 303
    wrong = {"current_password": WRONG, "password": "Otra-Parole-77!", "confirm": "Otra-Parole-77!"}
    for _ in range(budgets.PASSWORD_CHANGE_PER_ACCOUNT.amount):
        assert post_form(client, "/password/change", wrong).status_code == 422
    checked = len(checks)
    r = post_form(client, "/password/change", {**wrong, "current_password": PASSWORD})
    assert r.status_code == 429 and len(checks) == checked
    assert re.search(r"Pārāk daudz mēģinājumu\. Mēģiniet vēlreiz pēc 1[45] min\.", r.get_data(as_text=True))


def test_successful_password_changes_are_given_back(app, user):
    client = browser(app)
    assert login(client, EMAIL).status_code == 303
    current = PASSWORD
    for n in range(budgets.PASSWORD_CHANGE_PER_ACCOUNT.amount + 2):
        new = f"Jauna-Parole-{n}{n}!"
        r = post_form(client, "/password/change", {"current_password": current, "password": new, "confirm": new})
        assert r.status_code == 303, n
        current = new


# --- Recovery -----------------------------------------------------------------------------------

def reset_codes_to(mailbox, address):
    return [re.search(r"\b(\d{6})\b", m.get_body(("plain",)).get_content()).group(1)
            for m in mailbox.to(address) if re.search(r"\b\d{6}\b", m.get_body(("plain",)).get_content())]


def strangers_ask_to_recover(app, times, identifier=EMAIL):
    """Recovery requests for someone else's account, each from another address."""
    for n in range(times):
        r = post_form(browser(app, f"203.0.113.{n + 1}"), "/password/reset", {"identifier": identifier})
        assert r.status_code == 303 and r.headers["Location"].endswith("/password/reset/code")


def test_a_stranger_cannot_block_recovery_nor_spam_the_owner(app, user, mailbox, db):
    cap = budgets.RECOVERY_MESSAGES_PER_TARGET.amount
    strangers_ask_to_recover(app, cap + 5)
    spend_account_budget(app)  # and the sign-in budget too
    run_jobs(app)
    codes = reset_codes_to(mailbox, EMAIL)
    assert len(codes) == cap, "the target's cap holds back the messages beyond it"

    # The owner, on a browser the account does not know: asked the same way, answered the same way …
    owner = browser(app, "198.51.100.20")
    r = post_form(owner, "/password/reset", {"identifier": EMAIL})
    assert r.status_code == 303 and r.headers["Location"].endswith("/password/reset/code")
    page = owner.get("/password/reset/code").get_data(as_text=True)
    assert "Ja saņēmāt vairākus kodus, izmantojiet jaunāko." in page
    run_jobs(app)
    assert len(reset_codes_to(mailbox, EMAIL)) == cap  # no more spam
    # … and finishes with the newest code already in the mailbox
    r = post_form(owner, "/password/reset/code", {"code": codes[-1]})
    assert r.status_code == 303 and r.headers["Location"].endswith("/password/reset/sent")
    run_jobs(app)
    temporary = re.search(r"^ {4}(\S+)\s*$", mailbox.last_text(EMAIL), re.M).group(1)
    # the browser that finished recovery is a known device: the spent sign-in budget does not stop it
    r = login(owner, EMAIL, temporary)
    assert r.status_code == 303 and r.headers["Location"].endswith("/password/change")


def test_a_known_device_gets_a_new_code_past_the_targets_cap(app, user, mailbox):
    laptop = signed_in_before(app)
    cap = budgets.RECOVERY_MESSAGES_PER_TARGET.amount
    strangers_ask_to_recover(app, cap)
    assert post_form(laptop, "/password/reset", {"identifier": EMAIL}).status_code == 303
    run_jobs(app)
    codes = reset_codes_to(mailbox, EMAIL)
    assert len(codes) == cap + 1
    assert post_form(laptop, "/password/reset/code", {"code": codes[-1]}).status_code == 303


def test_past_the_cap_a_code_goes_out_again_once_the_last_one_has_expired(app, user, mailbox, db):
    cap = budgets.RECOVERY_MESSAGES_PER_TARGET.amount
    strangers_ask_to_recover(app, cap + 1)
    run_jobs(app)
    assert len(reset_codes_to(mailbox, EMAIL)) == cap
    for code in models.OneTimeCode.select():  # a code's lifetime later
        models.OneTimeCode.update(created_at=code.created_at - rules.CODE_LIFETIME).where(
            models.OneTimeCode.id == code.id).execute()
    owner = browser(app, "198.51.100.20")
    assert post_form(owner, "/password/reset", {"identifier": EMAIL}).status_code == 303
    strangers_ask_to_recover(app, 3)  # and then not again for a code's lifetime
    run_jobs(app)
    codes = reset_codes_to(mailbox, EMAIL)
    assert len(codes) == cap + 1
    assert post_form(owner, "/password/reset/code", {"code": codes[-1]}).status_code == 303


def test_wrong_codes_against_a_code_already_sent_are_counted_on_that_code(app, user, mailbox):
    """Taking up a code sent to another recovery does not give a guesser more tries at it."""
    cap = budgets.RECOVERY_MESSAGES_PER_TARGET.amount
    strangers_ask_to_recover(app, cap)
    run_jobs(app)
    newest = reset_codes_to(mailbox, EMAIL)[-1]
    wrong = "000000" if newest != "000000" else "111111"
    tries = 0
    for n in range(3):
        guesser = browser(app, f"198.51.100.{n + 30}")
        assert post_form(guesser, "/password/reset", {"identifier": EMAIL}).status_code == 303
        for _ in range(2):
            post_form(guesser, "/password/reset/code", {"code": wrong})
            tries += 1
    assert tries > rules.CODE_MAX_ATTEMPTS
    late = browser(app, "198.51.100.50")
    post_form(late, "/password/reset", {"identifier": EMAIL})
    assert post_form(late, "/password/reset/code", {"code": newest}).status_code == 422  # used up


def test_recovery_requests_from_one_source_are_refused_past_its_budget(app, user):
    client = browser(app, "203.0.113.99")
    for n in range(budgets.RECOVERY_PER_SOURCE.amount):
        assert post_form(client, "/password/reset", {"identifier": f"person{n}@example.lv"}).status_code == 303
    r = post_form(client, "/password/reset", {"identifier": EMAIL})
    assert r.status_code == 429
    # "Too many requests. Try again in %(n)d minutes." in Latvian; the budget is per hour.
    html = r.get_data(as_text=True)
    wait = re.search(r"Pārāk daudz pieprasījumu\. Mēģiniet vēlreiz pēc (\d+) min\.", html)
    assert wait and 50 <= int(wait.group(1)) <= 60
    assert 'name="identifier"' in html
    assert post_form(browser(app, "203.0.113.100"), "/password/reset", {"identifier": EMAIL}).status_code == 303


def test_recovery_answers_the_same_past_the_cap_for_known_and_unknown_targets(app, user, db):
    cap = budgets.RECOVERY_MESSAGES_PER_TARGET.amount
    strangers_ask_to_recover(app, cap)
    strangers_ask_to_recover(app, cap, "nobody@example.lv")
    known, unknown = browser(app, "198.51.100.60"), browser(app, "198.51.100.61")
    assert post_form(known, "/password/reset", {"identifier": EMAIL}).status_code == 303
    assert post_form(unknown, "/password/reset", {"identifier": "nobody@example.lv"}).status_code == 303
    strip = lambda html: re.sub(r'value="[^"]+"|"X-CSRFToken": "[^"]+"|[an]\*\*\*@example\.lv', "", html)
    assert strip(known.get("/password/reset/code").get_data(as_text=True)) == \
        strip(unknown.get("/password/reset/code").get_data(as_text=True))
    # and does the same work: the cap holds back codes whether or not an account is behind the target
    codes = {target: models.OneTimeCode.select().where(models.OneTimeCode.target == target).count()
             for target in (EMAIL, "nobody@example.lv")}
    assert codes == {EMAIL: cap, "nobody@example.lv": cap}


# --- Registration -------------------------------------------------------------------------------

def test_registration_code_requests_from_one_source_are_refused_past_its_budget(app):
    client = browser(app, "203.0.113.77")
    assert post_form(client, "/register", {"client_type": "natural", "citizenship": "LV",
                                           "accept_privacy": "y", "accept_terms": "y"}).status_code == 303
    for n in range(budgets.REGISTRATION_PER_SOURCE.amount + 1):
        r = post_form(client, "/register/contact", {"email": f"new{n}@example.lv", "phone_region": "LV",
                                                    "phone": f"2{n:07d}", "password": PASSWORD, "confirm": PASSWORD})
    assert r.status_code == 429
    assert re.search(r"Pieprasīts pārāk daudz kodu\. Mēģiniet vēlreiz pēc (\d+) min\.", r.get_data(as_text=True))


# --- Behind a reverse proxy ---------------------------------------------------------------------

def _spend_source_budget(client, headers):
    for n in range(budgets.SIGN_IN_PER_SOURCE.amount):
        assert login(client, f"person{n}@example.lv", WRONG, headers=headers).status_code == 422
    assert login(client, "person99@example.lv", WRONG, headers=headers).status_code == 429


def test_behind_trusted_proxies_the_source_is_the_real_client_address(tmp_path, sqlite_template, redis_url,
                                                                         smtp_server):
    path = tmp_path / "kabinets.sqlite3"
    shutil.copy(sqlite_template, path)
    app = build_app(make_config(f"sqlite:///{path}", redis_url, smtp_server.port, TRUSTED_PROXIES=1))
    try:
        proxy = "10.0.0.1"  # every request reaches the portal from the proxy
        _spend_source_budget(browser(app, proxy), {"X-Forwarded-For": "198.51.100.1"})
        # another visitor behind the same proxy has a budget of their own …
        assert login(browser(app, proxy), "person1@example.lv", WRONG,
                     headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 422
        # … and the guesser cannot slip out by naming another address before the proxy's entry
        assert login(browser(app, proxy), "person1@example.lv", WRONG,
                     headers={"X-Forwarded-For": "203.0.113.250, 198.51.100.1"}).status_code == 429
        with app.app_context(), models.db.connection_context():
            assert {row.ip for row in models.AuditLog.select().where(
                models.AuditLog.action == "auth.throttled")} == {"198.51.100.1"}
    finally:
        models.db.close()


def test_without_trusted_proxies_a_forwarded_header_changes_nothing(app):
    _spend_source_budget(browser(app, "203.0.113.5"), {"X-Forwarded-For": "198.51.100.1"})
    assert login(browser(app, "203.0.113.5"), "person1@example.lv", WRONG,
                 headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 429


# --- Redis away ---------------------------------------------------------------------------------

def test_budgets_are_counted_in_memory_while_redis_is_away(tmp_path, sqlite_template, redis_url, smtp_server):
    import socket
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{s.getsockname()[1]}/0"
    path = tmp_path / "kabinets.sqlite3"
    shutil.copy(sqlite_template, path)
    app = build_app(make_config(f"sqlite:///{path}", redis_url, smtp_server.port, RATELIMIT_STORAGE_URI=dead))
    create_user(app, email=EMAIL, phone="+37121111111")
    try:
        laptop = signed_in_before(app)
        attacker = spend_account_budget(app)
        assert login(attacker, EMAIL).status_code == 429
        assert login(laptop, EMAIL).status_code == 303
        assert "throttle-memory" in app.extensions
    finally:
        models.db.close()


def test_resent_registration_codes_count_against_the_targets_budget(app, db):
    client = browser(app, "203.0.113.78")
    assert post_form(client, "/register", {"client_type": "natural", "citizenship": "LV",
                                           "accept_privacy": "y", "accept_terms": "y"}).status_code == 303
    assert post_form(client, "/register/contact", {"email": "jana@example.lv", "phone_region": "LV", "phone": "20000111",
                                                   "password": PASSWORD, "confirm": PASSWORD}).status_code == 303
    for _ in range(budgets.REGISTRATION_MESSAGES_PER_TARGET.amount):
        for code in models.OneTimeCode.select():  # past the resend cool-down
            models.OneTimeCode.update(created_at=code.created_at - rules.CODE_RESEND_COOLDOWN).where(
                models.OneTimeCode.id == code.id).execute()
        r = post_form(client, "/register/resend/sms", {}, page="/register/confirm", follow_redirects=True)
    assert "Pieprasīts pārāk daudz kodu" in r.get_data(as_text=True)
    sms_codes = models.OneTimeCode.select().where(models.OneTimeCode.purpose == "register_sms")
    assert sms_codes.count() == budgets.REGISTRATION_MESSAGES_PER_TARGET.amount
