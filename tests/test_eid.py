"""Trusted e-identity sign-in (issue 12) against a real OpenID Connect provider on loopback
(tests/oidc_broker.py): discovery, the token exchange and the JWKS go over HTTP. Each refusal
(cancelled, tampered or replayed state, a refused code, a forged ID token, no personal code)
shows the failure page, writes an ``eid.failed`` audit row and signs nobody in."""
import json
import shutil
import time
from urllib.parse import urlencode

import pytest

import models
from adapters.identity import ProviderConfigError, providers_from_config, signing_key_from
from conftest import PASSWORD, build_app, create_user, make_config, post_form, run_jobs
from blueprints.extensions import limiter
from oidc_broker import choose_at_broker, local_path, provider_config, query_of, running_broker
from portal import ConfigurationRefused, default_config, settle_environment
from rules import identity as eid
from rules.keys import Keyring

JANIS = "LV:01018510001"  # demo.PERSONS "janis": PNOLV-010185-10001


@pytest.fixture
def broker():
    with running_broker() as running:
        yield running


@pytest.fixture
def eid_app(tmp_path, sqlite_template, redis_url, smtp_server, signing_trust_dir, broker):
    """The portal (SQLite) trusting the loopback broker as provider "test"."""
    path = tmp_path / "kabinets.sqlite3"
    shutil.copy(sqlite_template, path)
    app = build_app(make_config(f"sqlite:///{path}", redis_url, smtp_server.port,
                                UPLOAD_DIR=str(tmp_path / "uploads"), SIGNING_TRUST_DIR=signing_trust_dir,
                                EID_PROVIDERS=json.dumps([provider_config(broker)])))
    with app.app_context():
        limiter.reset()
    yield app
    models.db.close()


@pytest.fixture
def client(eid_app):
    return eid_app.test_client()


def start(client, provider="test"):
    """Press the provider's button (on the sign-in page, or signed in on the e-identity settings):
    the broker's authorization URL."""
    response = client.get(f"/eid/{provider}/start")
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def flow(client, person="janis", cancel=False):
    """Start at the portal, choose at the broker, come back: the portal's answer."""
    back = choose_at_broker(start(client), person, cancel)
    return client.get(local_path(back))


def signed_in(client):
    return client.get("/dashboard").status_code == 200


def audit_rows(app, action):
    with app.app_context(), models.db.connection_context():
        return list(models.AuditLog.select().where(models.AuditLog.action == action).order_by(models.AuditLog.id))


def assert_refused(app, client, response, reason, status=400):
    assert response.status_code == status, response.get_data(as_text=True)[:800]
    assert 'id="eid-failed"' in response.get_data(as_text=True)
    assert [row.details["reason"] for row in audit_rows(app, "eid.failed")] == [reason]
    assert not signed_in(client)
    assert not audit_rows(app, "login.eid")


def state_code(app, user_email, code=JANIS):
    with app.app_context(), models.db.connection_context():
        models.StatedPersonalCode.state(models.User.get(models.User.email == user_email), code)


# --- The sign-in page and the flow that works ----------------------------------------------------

def test_sign_in_page_has_a_button_per_provider_beside_the_password_form(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'name="identifier"' in page and 'name="password"' in page
    assert 'href="/eid/test/start"' in page and "Test broker" in page
    # a plain link: works without JavaScript, htmx does not fetch it across origins, and no form
    # is redirected to another origin (the CSP's form-action 'self' would stop it)
    assert 'hx-boost="false"' in page and 'action="/eid/test/start"' not in page


def test_start_uses_pkce_nonce_and_state_and_the_brokers_discovery(client, broker):
    url = start(client)
    assert url.startswith(broker.issuer + "/authorize?")
    query = query_of(url)
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert query["nonce"] and query["state"] and query["client_id"] == "kabinets-test"
    assert query["redirect_uri"] == "http://portal.test/eid/test/callback"
    assert "openid" in query["scope"].split()


def test_starting_again_keeps_one_pending_flow_in_the_session_cookie(client):
    first = query_of(start(client))
    for _ in range(5):
        last = query_of(start(client))
    with client.session_transaction() as session:
        pending = [key for key in session if key.startswith("_state_")]
        assert pending == [f"_state_test_{last['state']}"]
        assert "url" not in session[pending[0]]["data"]
        assert set(session[pending[0]]["data"]) >= {"nonce", "code_verifier", "redirect_uri"}
    assert len(client.get_cookie("kabinets_session").value) < 1500
    assert first["state"] != last["state"]


def test_first_sign_in_without_an_account_creates_the_identity_and_signs_nobody_in(eid_app, client):
    response = flow(client, "ilze")
    assert response.status_code == 303 and response.headers["Location"].endswith("/eid/link")
    assert not signed_in(client)
    with eid_app.app_context(), models.db.connection_context():
        identity = models.DigitalIdentity.get()
        assert identity.user_id is None and identity.last_provider == "test"
        assert identity.last_acr == "http://eidas.europa.eu/LoA/high" and identity.last_amr == ["dev"]
        # the personal code is kept only as a keyed hash
        assert "040495" not in identity.code_hash and len(identity.code_hash) == 64
        assert identity.code_hash == eid_app.extensions["keys"].mac("personal-code", "LV:04049510004")
    page = client.get("/eid/link").get_data(as_text=True)
    assert 'name="identifier"' in page  # no account stated this code: any account, with its password


def test_account_with_the_same_personal_code_is_linked_after_its_password_then_sign_in_is_direct(eid_app,
                                                                                                  client):
    create_user(eid_app, email="janis@example.lv")
    state_code(eid_app, "janis@example.lv")
    assert flow(client).headers["Location"].endswith("/eid/link")
    page = client.get("/eid/link").get_data(as_text=True)
    assert "j•••@example.lv" in page or "example.lv" in page
    with eid_app.app_context(), models.db.connection_context():
        user_id = models.User.get(models.User.email == "janis@example.lv").id
    wrong = post_form(client, "/eid/link", {"account": user_id, "password": "Not-the-password1!"})
    assert wrong.status_code == 422 and not signed_in(client)
    assert len(audit_rows(eid_app, "eid.link_refused")) == 1
    right = post_form(client, "/eid/link", {"account": user_id, "password": PASSWORD})
    assert right.status_code == 303 and right.headers["Location"].endswith("/dashboard")
    assert signed_in(client)
    [row] = audit_rows(eid_app, "login.eid")
    assert row.user_id == user_id and row.details["acr"] == "http://eidas.europa.eu/LoA/high"
    assert row.details["amr"] == ["dev"] and row.details["provider"] == "test"
    with eid_app.app_context(), models.db.connection_context():
        assert models.DigitalIdentity.get().user_id == user_id
    # next time: straight in, no question
    other = eid_app.test_client()
    response = flow(other)
    assert response.status_code == 303 and response.headers["Location"].endswith("/dashboard")
    assert signed_in(other)


def test_linking_an_account_by_identifier_and_password(eid_app, client):
    create_user(eid_app, email="ilze@example.lv", phone="+37122222222")
    flow(client, "ilze")
    response = post_form(client, "/eid/link", {"identifier": "ilze@example.lv", "password": PASSWORD})
    assert response.status_code == 303 and signed_in(client)


def test_an_account_that_stated_another_personal_code_is_not_linked_whoever_knows_its_password(eid_app, client,
                                                                                               mailbox):
    create_user(eid_app, email="liga@example.lv", phone="+37122222222")
    state_code(eid_app, "liga@example.lv", "LV:02027910002")  # Līga's account
    flow(client, "ilze")  # Ilze, who learnt Līga's password
    response = post_form(client, "/eid/link", {"identifier": "liga@example.lv", "password": PASSWORD})
    assert response.status_code == 409 and not signed_in(client)
    with eid_app.app_context(), models.db.connection_context():
        assert not models.DigitalIdentity.select().where(models.DigitalIdentity.user.is_null(False)).exists()
    assert [r.details.get("reason") for r in audit_rows(eid_app, "eid.link_refused")] == [eid.OTHER_PERSON]


def test_a_signed_in_account_that_stated_another_code_is_not_linked_from_the_settings(eid_app, client):
    from conftest import login
    create_user(eid_app, email="liga@example.lv", phone="+37122222222")
    state_code(eid_app, "liga@example.lv", "LV:02027910002")
    login(client, "liga@example.lv")
    response = flow(client, "ilze")
    assert response.status_code == 409
    with eid_app.app_context(), models.db.connection_context():
        assert not models.DigitalIdentity.select().where(models.DigitalIdentity.user.is_null(False)).exists()


def linked_user(app, email="janis@example.lv", code=JANIS):
    user = create_user(app, email=email)
    with app.app_context(), models.db.connection_context():
        identity = models.DigitalIdentity.create(code_hash=app.extensions["keys"].mac("personal-code", code))
        identity.link(user)
    return user


def test_e_identity_session_ends_with_sign_out_here(eid_app, client):
    linked_user(eid_app)
    assert flow(client).status_code == 303 and signed_in(client)
    elsewhere = eid_app.test_client()
    flow(elsewhere)
    copy = eid_app.test_client()
    copy.set_cookie("kabinets_session", client.get_cookie("kabinets_session").value)
    assert post_form(client, "/logout", {}, page="/dashboard").status_code == 303
    assert not signed_in(client) and not signed_in(copy)  # the copied cookie is no good either
    assert signed_in(elsewhere)  # the person's other session goes on


def test_e_identity_session_ends_with_sign_out_everywhere(eid_app, client):
    linked_user(eid_app)
    flow(client)
    other = eid_app.test_client()
    flow(other)
    assert signed_in(client) and signed_in(other)
    post_form(other, "/logout/everywhere", {}, page="/dashboard")
    assert not signed_in(client)


def test_e_identity_sign_in_skips_the_second_step_lists_as_e_identity_and_notifies_a_new_device_once(
        eid_app, client):
    """E-identity is a strong sign-in: an account with two-step sign-in on is signed in without a
    code (issue 12). "Your sessions" says how it signed in; the browser becomes a known device."""
    user = linked_user(eid_app)
    with eid_app.app_context(), models.db.connection_context():
        factor = models.SecondFactor.start(user)
        models.SecondFactor.update(enabled_at=models.utcnow()).where(models.SecondFactor.id == factor.id).execute()
    assert flow(client).headers["Location"].endswith("/dashboard") and signed_in(client)
    assert "ar e-identitāti" in client.get("/settings/sessions").get_data(as_text=True)
    post_form(client, "/logout", {}, page="/dashboard")
    flow(client)
    with eid_app.app_context(), models.db.connection_context():
        notices = models.Notification.select().where(models.Notification.template == "new_device_sign_in",
                                                  models.Notification.channel == "email")
        assert notices.count() == 1


def test_e_identity_session_has_the_idle_timeout(eid_app, client):
    linked_user(eid_app)
    flow(client)
    with client.session_transaction() as session:
        assert session["auth"]["method"] == "eid"
        session["seen_at"] = time.time() - 31 * 60
    assert not signed_in(client)


def test_closed_account_is_not_signed_in(eid_app, client):
    user = linked_user(eid_app)
    with eid_app.app_context(), models.db.connection_context():
        models.User.update(disabled_at=models.utcnow()).where(models.User.id == user.id).execute()
    assert_refused(eid_app, client, flow(client), eid.ACCOUNT_CLOSED, 403)


# --- Refusals ------------------------------------------------------------------------------------

def test_cancelled_at_the_provider(eid_app, client):
    response = flow(client, cancel=True)
    assert_refused(eid_app, client, response, eid.CANCELLED)
    assert "/login" in response.get_data(as_text=True)  # the way back


def test_tampered_state_is_refused(eid_app, client):
    linked_user(eid_app)
    back = query_of(choose_at_broker(start(client)))
    response = client.get("/eid/test/callback?" + urlencode({"code": back["code"], "state": back["state"] + "x"}))
    assert_refused(eid_app, client, response, eid.STATE)


def test_answer_from_another_browsers_flow_is_refused(eid_app, client):
    linked_user(eid_app)
    victim_back = choose_at_broker(start(eid_app.test_client()))
    assert_refused(eid_app, client, client.get(local_path(victim_back)), eid.STATE)


def test_replayed_callback_is_refused(eid_app, client):
    linked_user(eid_app)
    back = local_path(choose_at_broker(start(client)))
    assert client.get(back).status_code == 303
    post_form(client, "/logout", {}, page="/dashboard")
    response = client.get(back)
    assert response.status_code == 400 and not signed_in(client)
    assert [row.details["reason"] for row in audit_rows(eid_app, "eid.failed")] == [eid.STATE]


def test_replayed_code_with_a_new_state_is_refused(eid_app, client):
    linked_user(eid_app)
    first = query_of(choose_at_broker(start(client)))
    second = query_of(start(client))  # a new flow in the same browser: a state the session knows
    response = client.get("/eid/test/callback?" + urlencode({"code": first["code"], "state": second["state"]}))
    assert_refused(eid_app, client, response, eid.CODE_REFUSED)


def test_expired_code_is_refused(eid_app, client, monkeypatch):
    import adapters.identity
    linked_user(eid_app)
    monkeypatch.setattr(adapters.identity, "CODE_LIFETIME_SECONDS", -1)
    assert_refused(eid_app, client, flow(client), eid.CODE_REFUSED)


@pytest.mark.parametrize("forge", [
    pytest.param(lambda c: {**c, "aud": "another-client"}, id="wrong-audience"),
    pytest.param(lambda c: {**c, "aud": ["another-client", "third"]}, id="audience-list-without-us"),
    pytest.param(lambda c: {**c, "nonce": "not-the-nonce"}, id="wrong-nonce"),
    pytest.param(lambda c: {k: v for k, v in c.items() if k != "nonce"}, id="no-nonce"),
    pytest.param(lambda c: {**c, "iss": "http://127.0.0.1:9/other"}, id="wrong-issuer"),
    pytest.param(lambda c: {**c, "exp": int(time.time()) - 3600, "iat": int(time.time()) - 4000}, id="expired"),
    pytest.param(lambda c: {**c, "iat": int(time.time()) + 3600, "exp": int(time.time()) + 4000},
                 id="issued-in-the-future"),
])
def test_forged_id_token_is_refused(eid_app, client, broker, forge):
    linked_user(eid_app)
    broker.id_token_hook = forge
    assert_refused(eid_app, client, flow(client), eid.TOKEN_INVALID)


@pytest.mark.parametrize("same_kid", [True, False], ids=["same-kid", "unknown-kid"])
def test_id_token_signed_with_another_key_is_refused(eid_app, client, broker, same_kid):
    linked_user(eid_app)
    key, kid = signing_key_from(b"an attacker's key")
    broker.sign_with = (key, broker.kid if same_kid else kid)
    assert_refused(eid_app, client, flow(client), eid.TOKEN_INVALID)


@pytest.mark.parametrize("claim", [None, "IDCLV-010185-10001", "PNOLV-12", "010185-10001"],
                         ids=["missing", "not-a-personal-number", "malformed", "plain-where-etsi-expected"])
def test_missing_or_unusable_personal_code_is_refused(eid_app, client, broker, claim):
    linked_user(eid_app)
    broker.id_token_hook = lambda c: ({k: v for k, v in c.items() if k != "serial_number"} if claim is None
                                      else {**c, "serial_number": claim})
    assert_refused(eid_app, client, flow(client), eid.NO_PERSONAL_CODE)


def test_discovery_naming_another_issuer_is_refused(eid_app, client, broker):
    broker.issuer = "http://127.0.0.1:9/impostor"
    response = client.get("/eid/test/start")
    assert_refused(eid_app, client, response, eid.UNAVAILABLE, 502)


def test_failure_page_is_translated(eid_app, client):
    response = flow(client, cancel=True)
    text = response.get_data(as_text=True)
    assert "Pieslēgšanās ar e-identitāti neizdevās" in text  # Latvian first


def test_unknown_provider_is_404(client):
    assert client.get("/eid/nobody/start").status_code == 404
    assert client.get("/eid/nobody/callback?code=x&state=y").status_code == 404


# --- The broker itself ---------------------------------------------------------------------------

def test_broker_takes_a_code_once_and_checks_pkce(broker):
    import requests
    from oidc_broker import CLIENT_ID, CLIENT_SECRET
    verifier = "v" * 50
    from adapters.identity import _s256
    sealed, problem = broker.authorization_request({
        "client_id": CLIENT_ID, "redirect_uri": "http://portal.test/eid/test/callback", "response_type": "code",
        "scope": "openid", "code_challenge": _s256(verifier), "code_challenge_method": "S256", "nonce": "n"})
    assert problem is None
    code = broker.issue_code(broker.open_request(sealed), "janis")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://portal.test/eid/test/callback"}
    token = broker.issuer + "/token"
    auth = (CLIENT_ID, CLIENT_SECRET)
    assert requests.post(token, data={**form, "code_verifier": "w" * 50}, auth=auth, timeout=10).status_code == 400
    assert requests.post(token, data={**form, "code_verifier": verifier}, auth=auth, timeout=10).status_code == 200
    again = requests.post(token, data={**form, "code_verifier": verifier}, auth=auth, timeout=10)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert requests.post(token, data={**form, "code_verifier": verifier}, auth=(CLIENT_ID, "wrong"),
                         timeout=10).status_code == 401


def test_broker_refuses_a_request_without_pkce(broker):
    from oidc_broker import CLIENT_ID
    _, problem = broker.authorization_request({
        "client_id": CLIENT_ID, "redirect_uri": "http://portal.test/eid/test/callback", "response_type": "code",
        "scope": "openid"})
    assert problem == "invalid_request"


# --- Configuration and production ----------------------------------------------------------------

def test_production_refuses_the_development_broker():
    config = default_config("/tmp")
    config.update(PORTAL_ENV="production", SECRET_KEY="s", EID_DEV_BROKER=True)
    with pytest.raises(ConfigurationRefused, match="EID_DEV_BROKER"):
        settle_environment(config, "/tmp")


def test_production_has_no_development_broker_by_default_and_development_has_one():
    production = default_config("/tmp")
    production.update(PORTAL_ENV="production", SECRET_KEY="s", EID_DEV_BROKER=None)
    settle_environment(production, "/tmp")
    assert production["EID_DEV_BROKER"] is False
    development = default_config("/tmp")
    development.update(PORTAL_ENV="development", SECRET_KEY="s", EID_DEV_BROKER=None)
    settle_environment(development, "/tmp")
    assert development["EID_DEV_BROKER"] is True


def test_development_broker_is_mounted_in_development(app):
    client = app.test_client()
    assert client.get("/dev/eid/.well-known/openid-configuration").json["issuer"] == "http://portal.test/dev/eid"
    assert 'href="/eid/dev/start"' in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize("entry, production, message", [
    ({"issuer": "http://broker.example.lv"}, True, "https"),
    ({"issuer": "http://127.0.0.1:8080"}, True, "https"),
    ({"client_secret": ""}, False, "client_secret"),
    ({"scopes": "profile"}, False, "openid"),
    ({"personal_code_format": "xml"}, False, "personal_code_format"),
    ({"name": "Bad Name"}, False, "name"),
])
def test_unusable_provider_configuration_is_refused(entry, production, message):
    base = {"name": "lv", "issuer": "https://broker.example.lv", "client_id": "c", "client_secret": "s"}
    with pytest.raises(ProviderConfigError, match=message):
        providers_from_config(json.dumps([{**base, **entry}]), {}, production)


def test_provider_secret_from_another_variable():
    [provider] = providers_from_config(json.dumps([{"name": "lv", "issuer": "https://b.example.lv",
                                                    "client_id": "c", "client_secret_env": "LV_SECRET"}]),
                                       {"LV_SECRET": "from-env"}, True)
    assert provider.client_secret == "from-env" and "from-env" not in repr(provider)


# --- Rules and the keyed hash --------------------------------------------------------------------

@pytest.mark.parametrize("value, form, expected", [
    ("PNOLV-010185-10001", eid.ETSI, "LV:01018510001"),
    ("pnolv-010185-10001", eid.ETSI, "LV:01018510001"),
    ("PNOEE-38001085718", eid.ETSI, "EE:38001085718"),
    ("IDCLV-010185-10001", eid.ETSI, None),
    ("PASLV-AB1234567", eid.ETSI, None),
    ("PNOLV-0101851000", eid.ETSI, None),  # ten digits: no Latvian code
    ("010185-10001", eid.PLAIN, "LV:01018510001"),
    ("01018510001", eid.PLAIN, "LV:01018510001"),
    ("0101851000a", eid.PLAIN, None),
    (None, eid.PLAIN, None),
    (12345678901, eid.PLAIN, None),
])
def test_personal_code_from_claim(value, form, expected):
    assert eid.personal_code_from_claim(value, form) == expected


def test_identity_is_found_after_the_secret_is_rotated(db):
    from models.runtime import configure, runtime
    before = runtime.keys
    try:
        configure(keys=Keyring("old-secret"))
        created = models.DigitalIdentity.arrive(JANIS, "test")
        configure(keys=Keyring("new-secret", ["old-secret"]))
        found = models.DigitalIdentity.arrive(JANIS, "test")
        assert found.id == created.id
        assert found.code_hash == Keyring("new-secret").mac("personal-code", JANIS)  # moved to the new key
        assert models.DigitalIdentity.select().count() == 1
    finally:
        configure(keys=before)


# --- Step-up, and linking from the settings -------------------------------------------------------

def make_stale(client, minutes=10):
    """The session signed in ``minutes`` ago, active a moment ago."""
    with client.session_transaction() as session:
        session["login_at"] = session["authenticated_at"] = time.time() - minutes * 60
        session["seen_at"] = time.time()


def test_unlink_needs_a_fresh_sign_in_then_confirming_the_password_lets_it_through(eid_app, client, mailbox):
    user = linked_user(eid_app)
    flow(client)
    make_stale(client)
    response = post_form(client, "/eid/settings/unlink", {}, page="/eid/settings",
                         headers={"Referer": "http://localhost/eid/settings"})
    assert response.status_code == 303 and "/signin/confirm?next=/eid/settings" in response.headers["Location"]
    with eid_app.app_context(), models.db.connection_context():
        assert models.DigitalIdentity.get().user_id == user.id  # nothing changed
    wrong = post_form(client, "/signin/confirm?next=/eid/settings", {"password": "Wrong-Password-1!"})
    assert wrong.status_code == 422
    right = post_form(client, "/signin/confirm?next=/eid/settings", {"password": PASSWORD})
    assert right.status_code == 303 and right.headers["Location"] == "/eid/settings"
    assert post_form(client, "/eid/settings/unlink", {}, page="/eid/settings").status_code == 303
    with eid_app.app_context(), models.db.connection_context():
        assert models.DigitalIdentity.get().user_id is None
    assert [r.details["method"] for r in audit_rows(eid_app, "login.step_up")] == ["password"]
    assert len(audit_rows(eid_app, "eid.unlinked")) == 1
    run_jobs(eid_app)
    assert "vairs nav sasaistīta" in mailbox.last_text("janis@example.lv")  # a notice, in Latvian


def test_e_identity_confirms_a_stale_session_of_its_own_account(eid_app, client):
    linked_user(eid_app)
    flow(client)
    make_stale(client)
    response = flow(client)  # the same person again, from the confirm page's button
    assert response.status_code == 303
    with client.session_transaction() as session:
        assert time.time() - session["authenticated_at"] < 60
        assert time.time() - session["login_at"] > 5 * 60  # the absolute timeout still counts from sign-in
    assert [r.details["method"] for r in audit_rows(eid_app, "login.step_up")] == ["eid"]


def test_signed_in_user_links_e_identity_from_the_settings_after_a_fresh_sign_in(eid_app, client, mailbox):
    from conftest import login
    create_user(eid_app, email="janis@example.lv")
    login(client, "janis@example.lv")
    assert 'href="/eid/test/start"' in client.get("/eid/settings").get_data(as_text=True)
    response = flow(client)
    assert response.status_code == 303 and response.headers["Location"].endswith("/eid/settings")
    with eid_app.app_context(), models.db.connection_context():
        identity = models.DigitalIdentity.get()
        assert identity.user.email == "janis@example.lv"
    assert len(audit_rows(eid_app, "eid.linked")) == 1
    run_jobs(eid_app)
    assert "e-identitāte ir sasaistīta" in mailbox.last_text("janis@example.lv")


def test_linking_from_a_stale_session_is_refused(eid_app, client):
    from conftest import login
    create_user(eid_app, email="janis@example.lv")
    login(client, "janis@example.lv")
    make_stale(client)
    response = flow(client)
    assert response.status_code == 403 and 'id="eid-failed"' in response.get_data(as_text=True)
    with eid_app.app_context(), models.db.connection_context():
        assert not models.DigitalIdentity.select().where(models.DigitalIdentity.user.is_null(False)).exists()
    assert signed_in(client)  # still signed in as before, nothing changed


def test_another_persons_e_identity_in_a_signed_in_session_changes_nothing(eid_app, client):
    user = linked_user(eid_app)
    flow(client)
    response = flow(client, "liga")
    assert response.status_code == 409
    assert [r.details["reason"] for r in audit_rows(eid_app, "eid.failed")] == [eid.OTHER_PERSON]
    with eid_app.app_context(), models.db.connection_context():
        assert [i.user_id for i in models.DigitalIdentity.select().order_by(models.DigitalIdentity.id)] == [user.id]
    assert signed_in(client)


# --- A company that requires e-identity ------------------------------------------------------------

def trusted_only_company(app, user):
    """A company that requires e-identity, the user its main user, with one document."""
    from models.documents import Document
    with app.app_context(), models.db.connection_context():
        company = models.Client.create(kind="legal", name="SIA Tikai Droši", requires_trusted_eid=True)
        models.Membership.grant(user, company, "main")
        document = Document.start(company, "company_questionnaire", user)
        return company.id, document.id


def test_password_session_cannot_act_for_a_company_that_requires_e_identity(eid_app, client):
    from conftest import login
    user = create_user(eid_app, email="janis@example.lv")
    company_id, document_id = trusted_only_company(eid_app, user)
    login(client, "janis@example.lv")
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'id="accounts-withheld"' in page and "SIA Tikai Droši" in page
    assert f'id="account-{company_id}"' not in page
    assert 'href="/eid/test/start"' in page  # offered e-identity instead
    post_form(client, f"/accounts/{company_id}", {}, page="/dashboard")  # switching does not get round it
    assert f'id="account-{company_id}"' not in client.get("/dashboard").get_data(as_text=True)
    assert client.get(f"/documents/{document_id}").status_code == 404


def test_e_identity_session_acts_for_a_company_that_requires_it(eid_app, client):
    user = linked_user(eid_app)
    company_id, document_id = trusted_only_company(eid_app, user)
    flow(client)
    page = client.get("/dashboard").get_data(as_text=True)
    assert f'id="account-{company_id}"' in page and 'id="accounts-withheld"' not in page
    assert client.get(f"/documents/{document_id}").status_code == 200


# --- make run: the development broker inside gunicorn ------------------------------------------

def test_development_broker_signs_a_demo_person_in_through_gunicorn(app, tmp_path):
    """As ``make run`` serves it: gunicorn with the Procfile's workers and threads, the broker
    mounted in the portal itself, the portal fetching discovery, token and JWKS from itself
    over HTTP (any worker may answer any step), demo data with its stated personal codes."""
    import re
    import requests
    from live_portal import CSRF_RE, _free_port, gunicorn_portal
    from models import demo
    with app.app_context(), models.db.connection_context():
        demo.seed()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with gunicorn_portal(app, tmp_path, port=port, extra_env={"BASE_URL": base, "EID_DEV_BROKER": "1"}):
        browser = requests.Session()
        assert 'href="/eid/dev/start"' in browser.get(base + "/login", timeout=30).text
        to_broker = browser.get(base + "/eid/dev/start", allow_redirects=False, timeout=30)
        assert to_broker.status_code == 303 and to_broker.headers["Location"].startswith(base + "/dev/eid/authorize?")
        page = browser.get(to_broker.headers["Location"], timeout=30).text
        sealed = re.search(r'name="request" value="([^"]+)"', page).group(1)
        back = browser.post(base + "/dev/eid/authorize", data={"request": sealed, "person": "janis"},
                            allow_redirects=False, timeout=30)
        link = browser.get(back.headers["Location"], timeout=30)
        assert link.url == base + "/eid/link", link.text[:1000]
        token = CSRF_RE.search(link.text).group(1)
        radio = re.search(r'<input[^>]*name="account"[^>]*>', link.text).group(0)
        account = re.search(r'value="(\d+)"', radio).group(1)
        done = browser.post(base + "/eid/link", data={"csrf_token": token, "account": account,
                                                       "password": demo.PASSWORD}, timeout=30)
        assert done.url == base + "/dashboard" and "Jānis Bērziņš" in done.text


def test_a_broker_that_does_not_answer_costs_the_timeout_and_shows_a_page(tmp_path, sqlite_template, redis_url,
                                                                          smtp_server, signing_trust_dir,
                                                                          monkeypatch):
    import socket
    import blueprints.eid
    monkeypatch.setattr(blueprints.eid, "HTTP_TIMEOUT_SECONDS", 1)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(5)  # accepts connections, never answers
    issuer = f"http://127.0.0.1:{silent.getsockname()[1]}/eid"
    path = tmp_path / "kabinets.sqlite3"
    shutil.copy(sqlite_template, path)
    config = provider_config(type("B", (), {"issuer": issuer})())
    app = build_app(make_config(f"sqlite:///{path}", redis_url, smtp_server.port, SIGNING_TRUST_DIR=signing_trust_dir,
                                EID_PROVIDERS=json.dumps([config]), EID_DEV_BROKER=False))
    try:
        import threading
        client = app.test_client()
        answers = []
        pressing = threading.Thread(target=lambda: answers.append(client.get("/eid/test/start")), daemon=True)
        pressing.start()
        pressing.join(8)  # the timeout is 1 s; a request without one would wait for ever
        assert answers, "the start of the flow waited on a broker that does not answer"
        assert_refused(app, client, answers[0], eid.UNAVAILABLE, 502)
    finally:
        silent.close()
        models.db.close()


@pytest.mark.postgres
def test_identity_and_stated_code_rows_on_each_database(app, db):
    """Migration 010 and the queries of models/identity.py, on SQLite and PostgreSQL."""
    user = create_user(app, email="janis@example.lv")
    other = create_user(app, email="peteris@example.lv", phone="+37122222222")
    with app.app_context():
        models.StatedPersonalCode.state(user, JANIS)
        models.StatedPersonalCode.state(user, JANIS)  # stated again: still one row
        models.StatedPersonalCode.state(other, JANIS)
        assert models.StatedPersonalCode.select().count() == 2
        first = models.DigitalIdentity.arrive(JANIS, "test", "high", ["smartid"])
        again = models.DigitalIdentity.arrive(JANIS, "test")
        assert first.id == again.id and models.DigitalIdentity.select().count() == 1
        assert [u.email for u in again.accounts_to_link(JANIS)] == ["janis@example.lv", "peteris@example.lv"]
        assert again.link(user) is True
        assert again.link(other) is False  # bound already
        someone_else = models.DigitalIdentity.arrive("LV:02027910002", "test")
        assert someone_else.link(user) is False  # the account has an identity already
        assert someone_else.accounts_to_link(JANIS) == [other]  # a linked account is no candidate


def test_the_header_names_the_account_acted_for_and_follows_a_switch(eid_app, client):
    user = linked_user(eid_app)
    with eid_app.app_context(), models.db.connection_context():
        company = models.Client.create(kind="legal", name="SIA Divi Konti")
        models.Membership.grant(user, company, "colleague")
    flow(client)
    header = client.get("/documents").get_data(as_text=True).split("</header>")[0]
    assert 'class="acting-account"' in header and "SIA Divi Konti" not in header  # the private account first
    post_form(client, f"/accounts/{company.id}", {}, page="/dashboard")
    header = client.get("/documents").get_data(as_text=True).split("</header>")[0]
    assert "SIA Divi Konti" in header


@pytest.mark.parametrize("next_url, lands", [("/documents", "/documents"), ("//evil.example/x", "/dashboard"),
                                             ("https://evil.example/", "/dashboard")])
def test_sign_in_returns_to_a_local_next_page_only(eid_app, client, next_url, lands):
    linked_user(eid_app)
    assert urlencode({"next": next_url}) in client.get("/login?" + urlencode({"next": next_url})).get_data(
        as_text=True).replace("&amp;", "&")
    authorize = client.get("/eid/test/start?" + urlencode({"next": next_url})).headers["Location"]
    response = client.get(local_path(choose_at_broker(authorize)))
    assert response.status_code == 303 and response.headers["Location"] == lands


def test_make_runs_invited_demo_employee_joins_the_demo_company_at_her_first_sign_in(eid_app, client):
    """The demo (``make run``): the development broker vouches for Anna's phone, to which SIA Demo
    Būve's invitation went; her first e-identity sign-in is the employee's one extra step."""
    from models import demo
    with eid_app.app_context(), models.db.connection_context():
        demo.seed()
        assert not demo.seed()  # running it again keeps the one pending invitation
        assert models.Invitation.select().count() == 1
    response = flow(client, "anna")
    assert response.status_code == 303 and response.headers["Location"].endswith("/eid/join")
    assert 'action="/eid/join"' in client.get("/eid/join").get_data(as_text=True)
    response = post_form(client, "/eid/join", {})
    assert response.status_code == 303 and response.headers["Location"].endswith("/dashboard")
    assert "SIA Demo Būve" in client.get("/dashboard").get_data(as_text=True)
    with eid_app.app_context(), models.db.connection_context():
        anna = models.User.get(models.User.email == demo.DEMO_INVITEE[0])
        assert anna.phone == demo.DEMO_INVITEE[1] and anna.full_name == "Anna Darbiniece"
        demo.seed()  # she has an account now: no new invitation
        assert models.Invitation.select().count() == 1
