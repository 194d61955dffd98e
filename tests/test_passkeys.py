"""Passkeys (issue 12): registered in the settings after a step-up, listed, removed; a second factor
of a password sign-in and a way to confirm a step-up. The answers are real WebAuthn objects from
tests/soft_authenticator.py, verified by ``webauthn`` on the server: a wrong origin, RP id or
challenge, a challenge used twice or expired, a bad signature and a counter that goes back are each
refused, audited, and sign nobody in."""
import json
from datetime import timedelta

import pytest

import models
from conftest import create_user, form_token, login, post_form, run_jobs, sms_to
from soft_authenticator import SoftAuthenticator


@pytest.fixture
def user(app):
    return create_user(app, email="anna@example.lv", phone="+37121111111")


def post_json(client, url, body, page):
    return client.post(url, data=json.dumps(body), content_type="application/json",
                       headers={"X-CSRFToken": form_token(client, page), "Accept": "application/json"})


def add_passkey(client, authenticator, name="Tālrunis", **answer):
    """Register a passkey as static/passkeys.js does: the options, then the authenticator's answer."""
    r = post_json(client, "/settings/passkeys/options", {}, "/settings/passkeys")
    assert r.status_code == 200 and r.is_json, r.get_data(as_text=True)[:300]
    options = r.get_json()
    return options, post_json(client, "/settings/passkeys",
                              {"name": name, "credential": authenticator.create(options, **answer)},
                              "/settings/passkeys")


@pytest.fixture
def with_passkey(app, user, db):
    """anna with one passkey registered (and signed out again)."""
    client = app.test_client()
    login(client, "anna@example.lv")
    authenticator = SoftAuthenticator()
    _, r = add_passkey(client, authenticator)
    assert r.status_code == 200 and r.get_json() == {"redirect": "/settings/passkeys"}, r.get_data(as_text=True)
    return authenticator


def password_step(client):
    r = login(client, "anna@example.lv")
    assert r.status_code == 303 and r.headers["Location"].endswith("/login/code"), r.headers.get("Location")


def passkey_step(client, authenticator, **answer):
    r = post_json(client, "/login/passkey/options", {}, "/login/code")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    options = r.get_json()
    return options, post_json(client, "/login/passkey", {"credential": authenticator.get(options, **answer)},
                              "/login/code")


def signed_in(client):
    return client.get("/dashboard").status_code == 200


def audited(action):
    return models.AuditLog.select().where(models.AuditLog.action == action).count()


# --- Registering ------------------------------------------------------------------------------

@pytest.mark.postgres  # the unique credential id inside the action's transaction
def test_a_passkey_is_registered_listed_and_announced_by_email_and_sms(app, user, db, mailbox):
    client = app.test_client()
    login(client, "anna@example.lv")
    page = client.get("/settings/passkeys").get_data(as_text=True)
    assert "You have no passkeys yet" in page or "Jums vēl nav" in page
    assert 'data-passkey="create"' in page and "hidden" in page.split('id="add-passkey"')[1].split(">")[0]
    authenticator = SoftAuthenticator()
    options, r = add_passkey(client, authenticator, name="  Darba   dators ")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert options["rp"] == {"id": "portal.test", "name": "Kabinets"}
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    stored = models.Passkey.get(models.Passkey.user == user.id)
    assert stored.name == "Darba dators" and stored.sign_count == 0
    assert stored.credential_id == authenticator.credential_id.hex() or len(stored.credential_id) == 43
    assert stored.transport_list == ["internal", "hybrid"]
    assert "Darba dators" in client.get("/settings/passkeys").get_data(as_text=True)
    assert audited("passkey.added") == 1
    run_jobs(app)
    assert "Darba dators" in mailbox.last_text("anna@example.lv")
    assert any("Darba dators" in text for text in sms_to(app, "+37121111111"))
    # The same credential again is refused (it is registered already), and so is a second use
    # of the options' challenge.
    _, again = add_passkey(client, authenticator)
    assert again.status_code == 409
    assert models.Passkey.select().count() == 1


@pytest.mark.parametrize("answer, reason", [
    ({"origin": "https://evil.example"}, "origin"),
    ({"rp_id": "evil.example"}, "RP ID"),
    ({"challenge": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "challenge"),
])
def test_a_registration_answered_for_another_origin_rp_or_challenge_is_refused(app, user, db, answer, reason):
    client = app.test_client()
    login(client, "anna@example.lv")
    _, r = add_passkey(client, SoftAuthenticator(), **answer)
    assert r.status_code == 400 and "error" in r.get_json()
    assert models.Passkey.select().count() == 0
    row = models.AuditLog.get(models.AuditLog.action == "passkey.add_failed")
    assert reason.lower() in json.dumps(row.details).lower()


def test_registering_needs_a_name_and_a_recent_sign_in(app, user, db):
    client = app.test_client()
    login(client, "anna@example.lv")
    _, r = add_passkey(client, SoftAuthenticator(), name="   ")
    assert r.status_code == 422 and models.Passkey.select().count() == 0
    with client.session_transaction() as session:
        session["authenticated_at"] = 1.0  # confirmed long ago
    r = post_json(client, "/settings/passkeys/options", {}, "/settings/passkeys")
    assert r.status_code == 303 and "/signin/confirm" in r.headers["Location"]


# --- Signing in with a password and a passkey -----------------------------------------------------

def test_password_and_passkey_sign_in_and_the_session_counts_as_strong(app, with_passkey, db):
    client = app.test_client()
    password_step(client)
    page = client.get("/login/code").get_data(as_text=True)
    assert 'data-passkey="get"' in page and "passkeys.js" in page
    assert 'name="code"' not in page  # no authenticator app: no code form
    _, r = passkey_step(client, with_passkey)
    assert r.status_code == 200 and r.get_json() == {"redirect": "/dashboard"}, r.get_data(as_text=True)
    assert signed_in(client)
    with client.session_transaction() as session:
        assert session["auth"]["second_factor"] == "passkey"
    stored = models.Passkey.get()
    assert stored.sign_count == 1 and stored.last_used_at is not None
    newest = models.AuditLog.select().where(models.AuditLog.action == "login.success").order_by(
        models.AuditLog.id.desc()).first()
    assert newest.details.get("second_factor") == "passkey"


@pytest.mark.postgres  # the conditional DELETE of a challenge, the counter's conditional UPDATE
def test_a_replayed_answer_an_expired_challenge_and_a_counter_going_back_are_refused(app, with_passkey, db):
    client = app.test_client()
    password_step(client)
    options, r = passkey_step(client, with_passkey)
    assert r.status_code == 200
    recorded = with_passkey.get(options)  # an answer to a challenge that has been used
    client.post("/logout", data={"csrf_token": form_token(client, "/settings")})

    other = app.test_client()
    password_step(other)
    r = post_json(other, "/login/passkey", {"credential": recorded}, "/login/code")
    assert r.status_code == 400 and not signed_in(other)

    # The challenge expired before the answer came.
    options = post_json(other, "/login/passkey/options", {}, "/login/code").get_json()
    models.PasskeyChallenge.update(expires_at=models.utcnow() - timedelta(seconds=1)).execute()
    r = post_json(other, "/login/passkey", {"credential": with_passkey.get(options)}, "/login/code")
    assert r.status_code == 400 and not signed_in(other)

    # A clone: its counter is behind the one stored.
    with_passkey.sign_count = 0
    _, r = passkey_step(other, with_passkey)
    assert r.status_code == 400 and not signed_in(other)
    reasons = [row.details.get("reason", "") for row in
               models.AuditLog.select().where(models.AuditLog.action == "login.passkey_failed")]
    assert reasons[0] == "challenge" and reasons[1] == "challenge" and "sign count" in reasons[2].lower()


@pytest.mark.parametrize("answer", [{"origin": "http://portal.test.evil.example"}, {"rp_id": "evil.example"},
                                    {"challenge": "x" * 43}, {"tamper": True}])
def test_a_passkey_answer_for_another_origin_rp_challenge_or_with_a_bad_signature_signs_nobody_in(
        app, with_passkey, db, answer):
    client = app.test_client()
    password_step(client)
    _, r = passkey_step(client, with_passkey, **answer)
    assert r.status_code == 400 and "error" in r.get_json()
    assert not signed_in(client)
    assert models.Passkey.get().sign_count == 0
    assert audited("login.passkey_failed") == 1


def test_another_persons_passkey_does_not_sign_in(app, with_passkey, db):
    create_user(app, email="berta@example.lv", phone="+37122222222")
    client = app.test_client()
    r = login(client, "berta@example.lv")
    assert r.headers["Location"].endswith("/dashboard")  # no second factor: nothing to ask
    client = app.test_client()
    password_step(client)
    stranger = SoftAuthenticator()
    stranger.credential_id = b"\x01" * 32
    _, r = passkey_step(client, stranger)
    assert r.status_code == 400 and not signed_in(client)


def test_the_passkey_routes_of_the_second_step_need_a_right_password_first(app, with_passkey, db):
    client = app.test_client()
    r = client.post("/login/passkey/options", json={}, headers={"X-CSRFToken": form_token(client, "/login")})
    assert r.status_code == 404


# --- Removing ---------------------------------------------------------------------------------------

def test_removing_a_passkey_needs_a_recent_sign_in_and_sends_a_notice(app, user, with_passkey, db, mailbox):
    client = app.test_client()
    password_step(client)
    passkey_step(client, with_passkey)
    passkey = models.Passkey.get()
    with client.session_transaction() as session:
        session["authenticated_at"] = 1.0
    r = post_form(client, f"/settings/passkeys/{passkey.id}/remove", {}, page="/settings/passkeys")
    assert r.status_code == 303 and "/signin/confirm" in r.headers["Location"]
    assert models.Passkey.select().count() == 1
    with client.session_transaction() as session:
        session["authenticated_at"] = session["login_at"]
    r = post_form(client, f"/settings/passkeys/{passkey.id}/remove", {}, page="/settings/passkeys")
    assert r.status_code == 303 and r.headers["Location"].endswith("/settings/passkeys")
    assert models.Passkey.select().count() == 0 and audited("passkey.removed") == 1
    run_jobs(app)
    assert "Tālrunis" in mailbox.last_text("anna@example.lv")
    assert any("Tālrunis" in t and ("noņem" in t or "removed" in t) for t in sms_to(app, "+37121111111"))
    # Without a passkey the password alone signs in again.
    client = app.test_client()
    assert login(client, "anna@example.lv").headers["Location"].endswith("/dashboard")


def test_another_persons_passkey_cannot_be_removed(app, with_passkey, db):
    create_user(app, email="berta@example.lv", phone="+37122222222")
    client = app.test_client()
    login(client, "berta@example.lv")
    r = post_form(client, f"/settings/passkeys/{models.Passkey.get().id}/remove", {}, page="/settings/passkeys")
    assert r.status_code == 404 and models.Passkey.select().count() == 1


# --- Step-up with a passkey ---------------------------------------------------------------------

def test_a_passkey_confirms_a_step_up_and_a_bad_answer_does_not(app, with_passkey, db):
    client = app.test_client()
    password_step(client)
    passkey_step(client, with_passkey)
    with client.session_transaction() as session:
        session["authenticated_at"] = 1.0
    r = client.get("/settings/contact/email")
    assert r.status_code == 303 and "/signin/confirm" in r.headers["Location"]
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert 'data-passkey="get"' in page
    page_url = "/signin/confirm?next=/settings/contact/email"
    options = post_json(client, "/signin/confirm/passkey/options", {}, page_url).get_json()
    r = post_json(client, "/signin/confirm/passkey?next=/settings/contact/email",
                  {"credential": with_passkey.get(options, origin="https://evil.example")}, page_url)
    assert r.status_code == 400
    assert client.get("/settings/contact/email").status_code == 303  # still not confirmed
    options = post_json(client, "/signin/confirm/passkey/options", {}, page_url).get_json()
    r = post_json(client, "/signin/confirm/passkey?next=/settings/contact/email",
                  {"credential": with_passkey.get(options)}, page_url)
    assert r.status_code == 200 and r.get_json() == {"redirect": "/settings/contact/email"}
    assert client.get("/settings/contact/email").status_code == 200
    assert models.AuditLog.select().where(models.AuditLog.action == "login.step_up").first().details["method"] \
        == "passkey"


def test_a_person_without_a_passkey_has_no_passkey_step_up(app, user, db):
    client = app.test_client()
    login(client, "anna@example.lv")
    r = client.post("/signin/confirm/passkey/options", json={},
                    headers={"X-CSRFToken": form_token(client, "/signin/confirm")})
    assert r.status_code == 404
    assert 'data-passkey="get"' not in client.get("/signin/confirm").get_data(as_text=True)


# --- The rules ----------------------------------------------------------------------------------

def test_the_relying_party_comes_from_the_base_url_unless_configured():
    from rules import passkeys as R
    assert R.relying_party("https://kabinets.example.lv/") == ("kabinets.example.lv", "https://kabinets.example.lv")
    assert R.relying_party("http://localhost:5000") == ("localhost", "http://localhost:5000")
    assert R.relying_party("https://a.lv", "lv.example", "https://lv.example") == ("lv.example", "https://lv.example")


def test_a_signature_counter_must_move_on_unless_the_authenticator_does_not_count():
    from rules import passkeys as R
    assert R.sign_count_moves_on(0, 0) and R.sign_count_moves_on(0, 1) and R.sign_count_moves_on(5, 6)
    assert not R.sign_count_moves_on(5, 5) and not R.sign_count_moves_on(5, 0) and not R.sign_count_moves_on(5, 4)


# --- Signing in with a passkey alone -------------------------------------------------------------

def passkey_alone(client, authenticator, **answer):
    r = post_json(client, "/login/passkey/any/options", {}, "/login")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    options = r.get_json()
    return options, post_json(client, "/login/passkey/any", {"credential": authenticator.get(options, **answer)},
                              "/login")


def test_a_passkey_alone_signs_in_from_the_sign_in_page(app, with_passkey, db):
    client = app.test_client()
    assert 'href="/login/passkey/any"' in client.get("/login").get_data(as_text=True)
    page = client.get("/login/passkey/any").get_data(as_text=True)
    assert 'id="passkey-sign-in"' in page and "passkeys.js" in page and "data-passkey-missing" in page
    options, r = passkey_alone(client, with_passkey)
    assert options["userVerification"] == "required" and options.get("allowCredentials", []) == []
    assert r.status_code == 200 and r.get_json() == {"redirect": "/dashboard"}, r.get_data(as_text=True)
    assert signed_in(client)
    with client.session_transaction() as session:
        assert session["auth"] == {"method": "passkey", "second_factor": "passkey", "at": session["auth"]["at"]}
    assert "ar piekļuves atslēgu" in client.get("/settings/sessions").get_data(as_text=True)


@pytest.mark.parametrize("answer, reason", [({"verified": False}, "verification"),
                                            ({"user_handle": b"\x00" * 16}, "user handle"),
                                            ({"origin": "https://evil.example"}, "origin")])
def test_a_passkey_alone_needs_user_verification_the_owners_handle_and_the_origin(app, with_passkey, db,
                                                                                   answer, reason):
    client = app.test_client()
    _, r = passkey_alone(client, with_passkey, **answer)
    assert r.status_code == 400 and not signed_in(client)
    row = models.AuditLog.get(models.AuditLog.action == "login.passkey_failed")
    assert reason in row.details["reason"].lower() and row.user_id is None


def test_a_passkey_alone_of_a_closed_account_or_an_unknown_one_does_not_sign_in(app, user, with_passkey, db):
    stranger = SoftAuthenticator()
    stranger.credential_id = b"\x02" * 32
    client = app.test_client()
    assert passkey_alone(client, stranger)[1].status_code == 400
    models.User.update(disabled_at=models.utcnow()).where(models.User.id == user.id).execute()
    assert passkey_alone(client, with_passkey)[1].status_code == 400 and not signed_in(client)
