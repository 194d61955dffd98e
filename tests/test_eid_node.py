"""E-identity sign-in against a second, independent OpenID Connect provider: panva's
``oidc-provider`` in Node.js (tests/oidc/, started by ``tests/oidc_provider.py``), configured
through ``EID_PROVIDERS`` like a real broker. A person signs in through the provider's own login
and consent pages; each attack (a tampered state, a replayed code, a changed nonce, a code issued
to another client) ends on the failure page with an ``eid.failed`` audit row, nobody signed in."""
import json
import shutil

import pytest

import models
from blueprints.extensions import limiter
from conftest import build_app, create_user, make_config
from oidc_broker import local_path, query_of
from oidc_provider import (CLIENT_ID, OTHER_CLIENT_ID, OTHER_CLIENT_SECRET, client_entry, provider_config,
                           running_provider, sign_in_at_provider)
from rules import identity as eid

JANIS = "LV:01018510001"
CALLBACK = "http://portal.test/eid/node/callback"


@pytest.fixture(scope="module")
def node_issuer():
    clients = [client_entry([CALLBACK]),
               client_entry([CALLBACK], OTHER_CLIENT_ID, OTHER_CLIENT_SECRET)]
    with running_provider(clients) as issuer:
        yield issuer


@pytest.fixture
def node_app(tmp_path, sqlite_template, redis_url, smtp_server, signing_trust_dir, node_issuer):
    path = tmp_path / "kabinets.sqlite3"
    shutil.copy(sqlite_template, path)
    app = build_app(make_config(f"sqlite:///{path}", redis_url, smtp_server.port,
                                UPLOAD_DIR=str(tmp_path / "uploads"), SIGNING_TRUST_DIR=signing_trust_dir,
                                EID_PROVIDERS=json.dumps([provider_config(node_issuer)])))
    with app.app_context():
        limiter.reset()
    yield app
    models.db.close()


@pytest.fixture
def client(node_app):
    return node_app.test_client()


def start(client):
    response = client.get("/eid/node/start")
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def audit_rows(app, action):
    with app.app_context(), models.db.connection_context():
        return list(models.AuditLog.select().where(models.AuditLog.action == action).order_by(models.AuditLog.id))


def signed_in(client):
    return client.get("/dashboard").status_code == 200


def assert_refused(app, client, response, reason, status=400):
    assert response.status_code == status, response.get_data(as_text=True)[:800]
    assert 'id="eid-failed"' in response.get_data(as_text=True)
    assert [row.details["reason"] for row in audit_rows(app, "eid.failed")] == [reason]
    assert not signed_in(client)
    assert not audit_rows(app, "login.eid")


def linked_user(app, email="janis@example.lv", code=JANIS):
    user = create_user(app, email=email)
    with app.app_context(), models.db.connection_context():
        identity = models.DigitalIdentity.create(code_hash=app.extensions["keys"].mac("personal-code", code))
        identity.link(user)
    return user


def test_the_portal_reads_the_providers_discovery_and_asks_for_pkce_state_and_nonce(client, node_issuer):
    url = start(client)
    assert url.startswith(node_issuer + "/auth?")
    query = query_of(url)
    assert query["client_id"] == CLIENT_ID and query["redirect_uri"] == CALLBACK
    assert query["code_challenge_method"] == "S256" and query["state"] and query["nonce"]


def test_a_linked_person_signs_in_through_the_providers_login_and_consent_pages(node_app, client):
    user = linked_user(node_app)
    back = sign_in_at_provider(start(client), "janis")
    assert back.startswith(CALLBACK + "?") and "code" in query_of(back)
    response = client.get(local_path(back))
    assert response.status_code == 303 and response.headers["Location"].endswith("/dashboard")
    assert signed_in(client)
    [row] = audit_rows(node_app, "login.eid")
    assert row.user_id == user.id and row.details["provider"] == "node"


def test_first_sign_in_through_the_provider_creates_the_identity_from_its_serial_number(node_app, client):
    response = client.get(local_path(sign_in_at_provider(start(client), "ilze")))
    assert response.status_code == 303 and response.headers["Location"].endswith("/eid/link")
    assert not signed_in(client)
    with node_app.app_context(), models.db.connection_context():
        identity = models.DigitalIdentity.get()
        assert identity.code_hash == node_app.extensions["keys"].mac("personal-code", "LV:04049510004")
        assert identity.user_id is None and identity.last_provider == "node"


def test_cancelling_at_the_provider_signs_nobody_in(node_app, client):
    back = sign_in_at_provider(start(client), abort=True)
    assert query_of(back)["error"] == "access_denied"
    assert_refused(node_app, client, client.get(local_path(back)), eid.CANCELLED)


def test_a_token_without_a_personal_code_signs_nobody_in(node_app, client):
    response = client.get(local_path(sign_in_at_provider(start(client), "nocode")))
    assert_refused(node_app, client, response, eid.NO_PERSONAL_CODE)


def test_a_tampered_state_is_refused(node_app, client):
    linked_user(node_app)
    back = sign_in_at_provider(start(client), "janis")
    state = query_of(back)["state"]
    response = client.get(local_path(back.replace(f"state={state}", f"state={state[:-2]}xx")))
    assert_refused(node_app, client, response, eid.STATE)


def test_a_replayed_code_is_refused_by_the_provider(node_app, client):
    """The code is used once; a copy of the browser's cookie (with the flow's state and PKCE
    verifier) replaying the same answer reaches the provider, which refuses the code again."""
    linked_user(node_app)
    back = sign_in_at_provider(start(client), "janis")
    copied = node_app.test_client()
    copied.set_cookie("kabinets_session", client.get_cookie("kabinets_session").value)
    assert client.get(local_path(back)).status_code == 303 and signed_in(client)
    response = copied.get(local_path(back))
    assert response.status_code == 400 and 'id="eid-failed"' in response.get_data(as_text=True)
    assert [row.details["reason"] for row in audit_rows(node_app, "eid.failed")] == [eid.CODE_REFUSED]
    assert not signed_in(copied)
    assert len(audit_rows(node_app, "login.eid")) == 1


def test_an_id_token_for_another_nonce_is_refused(node_app, client):
    """The authorization request's nonce changed on the way: the provider puts the changed one in
    the ID token, which then does not match the one kept in the session."""
    linked_user(node_app)
    url = start(client)
    nonce = query_of(url)["nonce"]
    back = sign_in_at_provider(url.replace(f"nonce={nonce}", "nonce=somebody-elses-nonce"), "janis")
    assert_refused(node_app, client, client.get(local_path(back)), eid.TOKEN_INVALID)


def test_a_code_issued_to_another_client_is_refused(node_app, client):
    """The flow was sent to the provider as another client (same redirect URI): the code it gives
    is not ours, and the provider refuses to exchange it for the portal's client."""
    linked_user(node_app)
    url = start(client)
    back = sign_in_at_provider(url.replace(f"client_id={CLIENT_ID}", f"client_id={OTHER_CLIENT_ID}"), "janis")
    assert "code" in query_of(back)
    assert_refused(node_app, client, client.get(local_path(back)), eid.CODE_REFUSED)


def test_an_id_token_for_another_client_is_refused(tmp_path, sqlite_template, redis_url, smtp_server,
                                                   signing_trust_dir, node_issuer):
    """The portal configured as one client id but holding another's credentials gets ID tokens
    whose ``aud`` is that other client: refused (``aud`` must be our own client id)."""
    path = tmp_path / "kabinets.sqlite3"
    shutil.copy(sqlite_template, path)
    config = provider_config(node_issuer, client_id=OTHER_CLIENT_ID, secret=OTHER_CLIENT_SECRET)
    app = build_app(make_config(f"sqlite:///{path}", redis_url, smtp_server.port,
                                UPLOAD_DIR=str(tmp_path / "uploads"), SIGNING_TRUST_DIR=signing_trust_dir,
                                EID_PROVIDERS=json.dumps([config])))
    # the token endpoint is told it is OTHER_CLIENT_ID; the ID token is checked against CLIENT_ID
    app.extensions["eid_providers"]["node"] = app.extensions["eid_providers"]["node"].__class__(
        **{**app.extensions["eid_providers"]["node"].__dict__, "client_id": CLIENT_ID})
    try:
        client = app.test_client()
        linked_user(app)
        back = sign_in_at_provider(start(client), "janis")
        assert_refused(app, client, client.get(local_path(back)), eid.TOKEN_INVALID)
    finally:
        models.db.close()
