"""Two-step sign-in (issue 12): enrolling an authenticator app (after a step-up), the code after
the password, codes taken once, recovery codes used once, throttling, turning it off, notices."""
import re
import time

import pyotp
import pytest

import models
from conftest import PASSWORD, create_user, login, post_form, run_jobs
from rules import second_factor as R


@pytest.fixture
def user(app):
    return create_user(app, email="anna@example.lv", phone="+37121111111")


def secret_on_page(html):
    match = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html)
    assert match, "no secret on the enrolment page"
    return match.group(1).replace(" ", "")


def code_of(secret, at=None, steps=0):
    return pyotp.TOTP(secret).at((at or time.time()) + steps * R.STEP_SECONDS)


def enrol(client):
    """Turn two-step sign-in on through the pages; (secret, recovery codes)."""
    r = post_form(client, "/settings/two-step/start", {}, page="/settings/two-step")
    assert r.status_code == 303 and r.headers["Location"].endswith("/settings/two-step/enrol")
    page = client.get("/settings/two-step/enrol")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<svg" in html and "<path" in html
    secret = secret_on_page(html)
    r = post_form(client, "/settings/two-step/enrol", {"code": code_of(secret, steps=-1)}, page="/settings/two-step/enrol")
    assert r.status_code == 200, r.get_data(as_text=True)
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", r.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    return secret, codes


def signed_in(client):
    return client.get("/dashboard").status_code == 200


def password_step(client, identifier="anna@example.lv", **kwargs):
    r = login(client, identifier, **kwargs)
    assert r.status_code == 303 and r.headers["Location"].endswith("/login/code"), r.headers.get("Location")
    assert not signed_in(client)
    return r


def code_step(client, code):
    return post_form(client, "/login/code", {"code": code}, page="/login/code")


@pytest.fixture
def enrolled(app, user, db):
    client = app.test_client()
    login(client, "anna@example.lv")
    secret, codes = enrol(client)
    return client, secret, codes


# --- Enrolment ----------------------------------------------------------------------------

def test_enrolment_shows_a_qr_code_and_the_key_and_turns_on_with_a_code(app, user, db, mailbox):
    client = app.test_client()
    login(client, "anna@example.lv")
    secret, codes = enrol(client)
    factor = models.SecondFactor.get(models.SecondFactor.user == user.id)
    assert factor.enabled_at is not None
    assert secret not in factor.secret and factor.opened_secret() == secret  # sealed at rest
    stored = [r.code_hash for r in models.RecoveryCode.select()]
    assert len(stored) == 10 and not any(c in stored or c.replace("-", "") in stored for c in codes)
    run_jobs(app)
    assert "divpakāpju pieslēgšanās" in mailbox.last_text("anna@example.lv").lower()
    assert "ir ieslēgta kopš" in client.get("/settings/two-step").get_data(as_text=True)


def test_a_wrong_first_code_does_not_turn_it_on(app, user, db):
    client = app.test_client()
    login(client, "anna@example.lv")
    post_form(client, "/settings/two-step/start", {}, page="/settings/two-step")
    html = client.get("/settings/two-step/enrol").get_data(as_text=True)
    secret = secret_on_page(html)
    wrong = f"{(int(code_of(secret)) + 1) % 1000000:06d}"
    r = post_form(client, "/settings/two-step/enrol", {"code": wrong}, page="/settings/two-step/enrol")
    assert r.status_code == 422
    assert not models.SecondFactor.enabled_for(models.User.get_by_id(user.id))
    assert login(app.test_client(), "anna@example.lv").headers["Location"].endswith("/dashboard")


def test_enrolment_needs_a_fresh_sign_in(app, user, db):
    client = app.test_client()
    login(client, "anna@example.lv")
    with client.session_transaction() as s:
        s["login_at"] -= 3600
        s.pop("authenticated_at", None)
    r = post_form(client, "/settings/two-step/start", {}, page="/settings/two-step")
    assert r.status_code == 303 and "/signin/confirm" in r.headers["Location"]
    assert models.SecondFactor.select().count() == 0


def test_the_enrolment_page_fits_the_csp(enrolled, app):
    client, _, _ = enrolled
    # a second start is refused while it is on; a pending one's page has no inline style or script
    r = post_form(client, "/settings/two-step/start", {}, page="/settings/two-step")
    assert r.headers["Location"].endswith("/settings/two-step")
    models.SecondFactor.turn_off(models.User.get(models.User.email == "anna@example.lv"))
    post_form(client, "/settings/two-step/start", {}, page="/settings/two-step")
    html = client.get("/settings/two-step/enrol").get_data(as_text=True)
    assert "style=" not in html and "<script>" not in html.replace(" ", "")


# --- Signing in -------------------------------------------------------------------------------

def test_sign_in_asks_for_the_code_after_the_password(enrolled, app):
    _, secret, _ = enrolled
    client = app.test_client()
    password_step(client, "anna@example.lv")
    r = code_step(client, code_of(secret))
    assert r.status_code == 303 and r.headers["Location"].endswith("/dashboard")
    assert signed_in(client)


def test_next_survives_the_second_step(enrolled, app):
    _, secret, _ = enrolled
    client = app.test_client()
    r = post_form(client, "/login?next=/settings", {"identifier": "anna@example.lv", "password": PASSWORD},
                  page="/login")
    assert r.headers["Location"].endswith("/login/code")
    assert code_step(client, code_of(secret)).headers["Location"].endswith("/settings")


def test_a_wrong_code_is_refused(enrolled, app):
    _, secret, _ = enrolled
    client = app.test_client()
    password_step(client)
    wrong = f"{(int(code_of(secret)) + 500000) % 1000000:06d}"
    r = code_step(client, wrong)
    assert r.status_code == 422 and "Kods nav pareizs" in r.get_data(as_text=True)
    assert not signed_in(client)
    assert models.AuditLog.select().where(models.AuditLog.action == "login.totp_failed").count() == 1


@pytest.mark.postgres
def test_a_code_is_taken_once_only(enrolled, app):
    _, secret, _ = enrolled
    code = code_of(secret, steps=1)
    first, second = app.test_client(), app.test_client()
    password_step(first)
    assert code_step(first, code).status_code == 303
    password_step(second)
    assert code_step(second, code).status_code == 422  # the same code again: refused
    assert code_step(second, code_of(secret)).status_code == 422  # an older step than one used: refused
    assert not signed_in(second)


def test_an_expired_code_is_refused(enrolled, app):
    _, secret, _ = enrolled
    client = app.test_client()
    password_step(client)
    assert code_step(client, code_of(secret, steps=-3)).status_code == 422
    assert code_step(client, code_of(secret, steps=3)).status_code == 422  # nor one from the future


def test_the_wait_for_the_code_ends(enrolled, app):
    _, secret, _ = enrolled
    client = app.test_client()
    password_step(client)
    with client.session_transaction() as s:
        pending = dict(s["second_step"])
        pending["at"] -= R.SECOND_STEP_WINDOW.total_seconds() + 1
        s["second_step"] = pending
    r = post_form(client, "/login/code", {"code": code_of(secret, steps=1)}, page="/login")
    assert r.status_code == 303 and r.headers["Location"].endswith("/login")
    assert not signed_in(client)


def test_the_second_step_cannot_be_skipped_or_forged(enrolled, app):
    client = app.test_client()
    assert client.get("/login/code").status_code == 303
    password_step(client)
    assert client.get("/dashboard").status_code == 302
    assert client.get("/settings/sessions").status_code == 302


@pytest.mark.postgres
def test_a_recovery_code_works_once(enrolled, app, mailbox):
    _, _, codes = enrolled
    client = app.test_client()
    password_step(client)
    r = code_step(client, " " + codes[0].upper().replace("-", " ") + " ")  # as typed from paper
    assert r.status_code == 303 and signed_in(client)
    assert models.AuditLog.select().where(models.AuditLog.action == "login.recovery_code").count() == 1
    run_jobs(app)
    texts = [m.get_body(("plain",)).get_content() for m in mailbox.to("anna@example.lv")]
    assert any("rezerves kod" in t and "Atlikušie rezerves kodi: 9." in t for t in texts)  # told, with how many are left
    other = app.test_client()
    password_step(other)
    assert code_step(other, codes[0]).status_code == 422
    assert code_step(other, codes[1]).status_code == 303


@pytest.mark.postgres
def test_new_recovery_codes_replace_the_old_ones(enrolled, app):
    client, secret, old = enrolled
    r = post_form(client, "/settings/two-step/recovery-codes", {}, page="/settings/two-step")
    new = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", r.get_data(as_text=True))
    assert r.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    other = app.test_client()
    password_step(other)
    assert code_step(other, old[0]).status_code == 422
    assert code_step(other, new[0]).status_code == 303


def test_guessing_codes_is_throttled_but_a_known_device_still_signs_in(enrolled, app):
    owner, secret, _ = enrolled  # the owner's browser signed in before: a known device
    post_form(owner, "/logout", {}, page="/dashboard")
    thief = app.test_client()
    password_step(thief)
    statuses = [code_step(thief, f"{n:06d}").status_code for n in range(7)]
    assert statuses[:5] == [422] * 5 and statuses[5:] == [429, 429]
    assert code_step(thief, code_of(secret, steps=1)).status_code == 429  # even the right code now
    password_step(owner)
    r = code_step(owner, code_of(secret, steps=1))
    assert r.status_code == 303 and signed_in(owner)


@pytest.mark.parametrize("hostile", ["", "1" * 5000, "<script>", "12345", "1234567", "' OR 1=1 --",
                                     "\x00\x00\x00\x00\x00\x00", "١٢٣٤٥٦", "abcdefghij" * 3, "ooooo-ooooo"])
def test_hostile_codes_never_cause_a_500(enrolled, app, hostile):
    client = app.test_client()
    password_step(client)
    assert code_step(client, hostile).status_code == 422
    assert post_form(enrolled[0], "/settings/two-step/enrol", {"code": hostile},
                     page="/settings/two-step").status_code in (303, 422)


# --- Turning it off ---------------------------------------------------------------------------

def test_turning_it_off_needs_a_fresh_sign_in_and_sends_a_notice(enrolled, app, mailbox):
    client, secret, _ = enrolled
    with client.session_transaction() as s:
        s["login_at"] -= 3600
        s.pop("authenticated_at", None)
    r = post_form(client, "/settings/two-step/off", {}, page="/settings/two-step")
    assert r.status_code == 303 and "/signin/confirm" in r.headers["Location"]
    assert models.SecondFactor.select().count() == 1
    post_form(client, "/signin/confirm", {"password": PASSWORD}, page="/signin/confirm")
    r = post_form(client, "/settings/two-step/off", {}, page="/settings/two-step")
    assert r.status_code == 303
    assert models.SecondFactor.select().count() == 0 and models.RecoveryCode.select().count() == 0
    run_jobs(app)
    assert "izslēgta" in mailbox.last_text("anna@example.lv")
    other = app.test_client()
    assert login(other, "anna@example.lv").headers["Location"].endswith("/dashboard")


def test_another_users_codes_do_not_work(enrolled, app):
    create_user(app, email="zane@example.lv", phone="+37121111119")
    _, secret, codes = enrolled
    client = app.test_client()
    assert login(client, "zane@example.lv").headers["Location"].endswith("/dashboard")  # no second factor
    with app.app_context():
        zane = models.User.get(models.User.email == "zane@example.lv")
        assert not models.RecoveryCode.use(zane, R.read_code(codes[0])[1])


# --- A company may require a strong sign-in -----------------------------------------------------

@pytest.fixture
def company(app, db):
    """Anna is the main user of a company; Zane its colleague."""
    anna = create_user(app, email="anna@example.lv", phone="+37121111111", kind="legal", role="main")
    membership = models.Membership.get(models.Membership.user == anna.id)
    zane = create_user(app, email="zane@example.lv", phone="+37121111119")
    models.Membership.grant(zane, membership.client, "colleague")
    return membership.client_id


def require(client, company_id, value="yes"):
    return post_form(client, f"/companies/{company_id}/two-step", {"required": value},
                     page=f"/companies/{company_id}/users")


def withheld_two_step(client):
    return 'id="accounts-withheld-two-step"' in client.get("/dashboard").get_data(as_text=True)


def test_a_main_user_requires_a_strong_sign_in_for_the_company(app, company):
    anna = app.test_client()
    login(anna, "anna@example.lv")
    r = require(anna, company)  # from a password-only session: it would lock Anna out, refused
    assert r.status_code == 303 and not models.Client.get_by_id(company).requires_second_factor
    zane = app.test_client()
    login(zane, "zane@example.lv")
    assert not withheld_two_step(zane)
    secret, _ = enrol(anna)
    post_form(anna, "/logout", {}, page="/dashboard")
    password_step(anna)
    assert code_step(anna, code_of(secret, steps=1)).status_code == 303
    assert require(anna, company).status_code == 303
    assert models.Client.get_by_id(company).requires_second_factor
    assert models.AuditLog.get(models.AuditLog.action == "company.second_factor_required").client_id == company
    assert not withheld_two_step(anna) and anna.get(f"/companies/{company}/users").status_code == 200
    assert withheld_two_step(zane)  # Zane's session, signed in with a password alone, loses it at once
    assert post_form(zane, f"/companies/{company}/two-step", {"required": "no"}, page="/dashboard").status_code == 404
    assert require(anna, company, "no").status_code == 303
    assert not withheld_two_step(zane)


def test_only_the_companys_main_user_sets_the_requirement(app, company):
    stranger = create_user(app, email="other@example.lv", phone="+37121111118", kind="legal", role="main")
    assert stranger
    client = app.test_client()
    login(client, "other@example.lv")
    assert require(client, company).status_code == 404
    for value in ("maybe", ""):
        login(anna := app.test_client(), "anna@example.lv")
        assert require(anna, company, value).status_code == 303
    assert not models.Client.get_by_id(company).requires_second_factor
    assert not models.AuditLog.select().where(models.AuditLog.action.startswith("company.second_factor")).exists()


# --- Step-up with the app's code (issue 12) ---------------------------------------------------

def _stale(client):
    with client.session_transaction() as s:
        s["login_at"] -= 3600
        s.pop("authenticated_at", None)


def test_a_current_code_confirms_a_step_up_once_and_guessing_is_throttled(enrolled, app):
    client, secret, _ = enrolled
    _stale(client)
    r = client.get("/settings/contact/phone")
    assert r.status_code == 303 and "/signin/confirm" in r.headers["Location"]
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "/signin/confirm/code" in page
    confirm = "/signin/confirm/code?next=/settings/contact/phone"
    r = post_form(client, confirm, {"code": "000000" if code_of(secret, steps=1) != "000000" else "111111"},
                  page="/signin/confirm")
    assert r.status_code == 422 and 'id="code-error"' in r.get_data(as_text=True)
    assert client.get("/settings/contact/phone").status_code == 303
    right = code_of(secret, steps=1)
    r = post_form(client, confirm, {"code": right}, page="/signin/confirm")
    assert r.status_code == 303 and r.headers["Location"].endswith("/settings/contact/phone")
    assert client.get("/settings/contact/phone").status_code == 200
    step_up = models.AuditLog.select().where(models.AuditLog.action == "login.step_up").first()
    assert step_up.details["method"] == "totp"
    _stale(client)
    assert post_form(client, confirm, {"code": right}, page="/signin/confirm").status_code == 422  # taken
    statuses = [post_form(client, confirm, {"code": f"{n:06d}"}, page="/signin/confirm").status_code
                for n in range(6)]
    assert 429 in statuses and statuses[-1] == 429


def test_a_person_without_an_app_is_not_offered_the_code_step_up(app, user, db):
    client = app.test_client()
    login(client, "anna@example.lv")
    assert "/signin/confirm/code" not in client.get("/signin/confirm").get_data(as_text=True)
    r = post_form(client, "/signin/confirm/code", {"code": "123456"}, page="/signin/confirm")
    assert r.status_code == 303 and "/signin/confirm" in r.headers["Location"]
