"""Staff act only from a strong sign-in (issue 12, STF-1): a staff member who signed in with a
password alone is sent to turn on two-step sign-in or add a passkey before any other page, and can
still sign out; the first code (or the new passkey) makes the session strong; later sign-ins ask
for the code; e-identity is strong by itself. Clients are not affected."""
import time

import pyotp
import pytest

import models
from conftest import create_user, login, post_form
from soft_authenticator import SoftAuthenticator
from test_passkeys import add_passkey
from test_totp import code_of, secret_on_page


@pytest.fixture
def strict(app):
    app.config["STAFF_SECOND_FACTOR"] = None  # unset: the default, on
    return app


@pytest.fixture
def staff(strict):
    return create_user(strict, email="konsultante@example.lv", phone="+37123333333", staff_role="consultant")


def test_a_staff_member_with_a_password_alone_is_sent_to_enrol_and_may_sign_out(strict, staff, db):
    client = strict.test_client()
    login(client, "konsultante@example.lv")
    for page in ("/staff", "/dashboard", "/settings", "/staff/audit"):
        r = client.get(page)
        assert r.status_code == 302 and r.headers["Location"].endswith("/settings/two-step"), page
    assert client.get("/settings/two-step").status_code == 200
    assert client.get("/settings/passkeys").status_code == 200
    r = post_form(client, "/logout", {}, page="/settings/two-step")
    assert r.status_code == 303 and r.headers["Location"].endswith("/login")
    assert client.get("/settings/two-step").status_code == 302  # signed out: to the sign-in page


def test_enrolling_the_app_opens_the_staff_pages_and_later_sign_ins_ask_for_the_code(strict, staff, db):
    client = strict.test_client()
    login(client, "konsultante@example.lv")
    post_form(client, "/settings/two-step/start", {}, page="/settings/two-step")
    secret = secret_on_page(client.get("/settings/two-step/enrol").get_data(as_text=True))
    r = post_form(client, "/settings/two-step/enrol", {"code": code_of(secret, steps=-1)}, page="/settings/two-step/enrol")
    assert r.status_code == 200
    assert client.get("/staff").status_code == 200
    client = strict.test_client()
    assert login(client, "konsultante@example.lv").headers["Location"].endswith("/login/code")
    r = post_form(client, "/login/code", {"code": pyotp.TOTP(secret).at(time.time() + 30)}, page="/login/code")
    assert r.status_code == 303 and client.get("/staff").status_code == 200


def test_adding_a_passkey_opens_the_staff_pages(strict, staff, db):
    client = strict.test_client()
    login(client, "konsultante@example.lv")
    _, r = add_passkey(client, SoftAuthenticator())
    assert r.status_code == 200 and models.Passkey.select().count() == 1
    assert client.get("/staff").status_code == 200


def test_e_identity_is_strong_enough_and_the_setting_can_be_turned_off(strict, staff, db):
    client = strict.test_client()
    login(client, "konsultante@example.lv")
    with client.session_transaction() as session:
        session["auth"] = {"method": "eid", "at": time.time()}
    assert client.get("/staff").status_code == 200
    strict.config["STAFF_SECOND_FACTOR"] = False
    other = strict.test_client()
    login(other, "konsultante@example.lv")
    assert other.get("/staff").status_code == 200


def test_clients_are_not_asked_to_enrol(strict, db):
    create_user(strict)
    client = strict.test_client()
    login(client, "anna@example.lv")
    assert client.get("/dashboard").status_code == 200
