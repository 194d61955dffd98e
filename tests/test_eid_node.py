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
from conftest import PASSWORD, build_app, create_user, make_config, post_form
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
    """A browser that reads English (the pages' words are checked in English)."""
    client = node_app.test_client()
    with client.session_transaction() as session:
        session["lang"] = "en"
    return client


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


# --- An employee's first sign-in: the one extra step (seed 003) ----------------------------------

ANNA = "LV:05059610005"  # tests/oidc/provider.mjs "anna": no account, verified phone +37120000055


def invite(app, email="anna@firma.lv", phone="+37120000055", **fields):
    """SIA Firma's main user invites a colleague (documents, own items only); the token."""
    with app.app_context(), models.db.connection_context():
        company = models.Client.get_or_none(models.Client.name == "SIA Firma")
        if company is None:
            main = models.User.create(email="main@firma.lv", phone="+37129999999",
                                      password_hash=models.hash_password(PASSWORD))
            company = models.Client.create(kind="legal", name="SIA Firma")
            models.Membership.grant(main, company, "main")
        main = models.User.get(models.User.email == "main@firma.lv")
        invitation, token = models.Invitation.issue(company, main, ["documents"], True, email=email, phone=phone,
                                                    full_name="Anna", link=lambda t: f"/invitations/{t}")
        if fields:
            models.Invitation.update(**fields).where(models.Invitation.id == invitation.id).execute()
        return token


def membership_of(app, email, company="SIA Firma"):
    with app.app_context(), models.db.connection_context():
        return (models.Membership.select().join(models.User).switch(models.Membership).join(models.Client)
                .where(models.User.email == email, models.Client.name == company).first())


def first_sign_in(client, login="anna", next_path=None):
    url = start(client) if next_path is None else client.get(f"/eid/node/start?next={next_path}").headers["Location"]
    return client.get(local_path(sign_in_at_provider(url, login)))


def assert_joined(app, client, response, email="anna@firma.lv", via="link", created=True):
    assert response.status_code == 303 and response.headers["Location"].endswith("/dashboard"), \
        response.get_data(as_text=True)[:800]
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200 and "SIA Firma" in dashboard.get_data(as_text=True)
    member = membership_of(app, email)
    assert member is not None and member.role == "colleague" and member.can_documents
    assert not member.can_finance and member.own_items_only
    [row] = audit_rows(app, "eid.invitation_joined")
    assert row.details["via"] == via and row.details["created"] is created and row.user.email == email
    with app.app_context(), models.db.connection_context():
        assert models.Invitation.get().accepted_by_id == member.user_id
        assert models.DigitalIdentity.get(models.DigitalIdentity.user == member.user_id)


def assert_never_asked_again(app):
    again = app.test_client()
    response = first_sign_in(again)
    assert response.status_code == 303 and response.headers["Location"].endswith("/dashboard")
    assert len(audit_rows(app, "eid.invitation_joined")) == 1


def test_employee_who_followed_the_invitation_link_gets_an_account_and_joins_in_one_step(node_app, client):
    token = invite(node_app, phone="+37120000001")  # not the phone the provider vouches for
    assert client.get(f"/invitations/{token}").status_code == 303
    response = first_sign_in(client, next_path="/invitations")  # "Sign in" on the invitation's page
    assert response.status_code == 303 and response.headers["Location"].endswith("/eid/join")
    page = client.get("/eid/join").get_data(as_text=True)
    assert "SIA Firma" in page and 'action="/eid/join"' in page and "anna@firma.lv" in page
    assert not signed_in(client)
    assert_joined(node_app, client, post_form(client, "/eid/join", {}), via="link")
    with node_app.app_context(), models.db.connection_context():
        user = models.User.get(models.User.email == "anna@firma.lv")
        assert user.phone == "+37120000001" and user.full_name == "Anna Darbiniece"
        assert not user.check_password("")  # no password: e-identity signs it in
    assert_never_asked_again(node_app)


def test_employee_whose_verified_phone_the_main_user_entered_is_offered_the_invitation(node_app, client):
    invite(node_app)  # to +37120000055, the number the provider vouches for
    response = first_sign_in(client)
    assert response.headers["Location"].endswith("/eid/join")
    assert_joined(node_app, client, post_form(client, "/eid/join", {}), via="phone")
    assert_never_asked_again(node_app)


def test_a_phone_number_the_provider_has_not_verified_finds_no_invitation(node_app, client):
    invite(node_app, phone="+37120000066")  # Olga's number, phone_number_verified: false
    response = first_sign_in(client, "olga")
    assert response.headers["Location"].endswith("/eid/link")
    assert "SIA Firma" not in client.get("/eid/link").get_data(as_text=True)


def test_employee_enters_the_invitation_code(node_app, client):
    token = invite(node_app, phone="+37120000001")
    response = first_sign_in(client)
    assert response.headers["Location"].endswith("/eid/link")
    page = client.get("/eid/link").get_data(as_text=True)
    assert 'action="/eid/join/code"' in page
    response = post_form(client, "/eid/join/code", {"code": f"https://portal.test/invitations/{token}"},
                         page="/eid/link")
    assert response.status_code == 303 and response.headers["Location"].endswith("/eid/join")
    assert_joined(node_app, client, post_form(client, "/eid/join", {}), via="code")
    assert_never_asked_again(node_app)


@pytest.mark.parametrize("code", ["not-the-code", "x" * 43])
def test_a_wrong_invitation_code_is_refused(node_app, client, code):
    invite(node_app, phone="+37120000001")
    first_sign_in(client)
    response = post_form(client, "/eid/join/code", {"code": code}, page="/eid/link")
    assert response.status_code == 422 and "not valid" in response.get_data(as_text=True)
    assert [r.details["reason"] for r in audit_rows(node_app, "eid.invitation_refused")] == ["invitation_unknown"]
    assert not signed_in(client) and membership_of(node_app, "anna@firma.lv") is None


def test_an_expired_invitation_is_refused_by_code_and_at_the_join_step(node_app, client):
    from datetime import timedelta
    expired = invite(node_app, phone="+37120000001", expires_at=models.utcnow() - timedelta(minutes=1))
    first_sign_in(client)
    response = post_form(client, "/eid/join/code", {"code": expired}, page="/eid/link")
    assert response.status_code == 422 and "expired" in response.get_data(as_text=True)
    # an invitation that expires while the person looks at the step
    token = invite(node_app, phone="+37120000002")
    post_form(client, "/eid/join/code", {"code": token}, page="/eid/link")
    with node_app.app_context(), models.db.connection_context():
        models.Invitation.update(expires_at=models.utcnow() - timedelta(seconds=1)).execute()
    response = post_form(client, "/eid/join", {})
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)
    assert [r.details["reason"] for r in audit_rows(node_app, "eid.invitation_refused")] == ["invitation_expired"] * 2
    assert not signed_in(client) and membership_of(node_app, "anna@firma.lv") is None
    with node_app.app_context(), models.db.connection_context():
        assert not models.User.select().where(models.User.email == "anna@firma.lv").exists()


def test_another_persons_invitation_is_refused(node_app, client):
    """The invitation went to an account that stated another personal code (Jānis's): Anna,
    holding its link, can neither make an account from it nor join with it."""
    create_user(node_app, email="anna@firma.lv", phone="+37120000001")
    with node_app.app_context(), models.db.connection_context():
        models.StatedPersonalCode.state(models.User.get(models.User.email == "anna@firma.lv"), JANIS)
    token = invite(node_app, phone="+37120000001")
    client.get(f"/invitations/{token}")
    first_sign_in(client)
    page = client.get("/eid/join").get_data(as_text=True)
    assert 'action="/eid/join"' not in page  # no account can be made from it
    response = post_form(client, "/eid/join", {}, page="/eid/link")
    assert response.status_code == 409 and "another person" in response.get_data(as_text=True)
    assert [r.details["reason"] for r in audit_rows(node_app, "eid.invitation_refused")] == ["invitation_other_person"]
    assert not signed_in(client) and membership_of(node_app, "anna@firma.lv") is None
    with node_app.app_context(), models.db.connection_context():
        assert models.DigitalIdentity.get().user_id is None


def test_employee_with_an_account_links_it_with_its_password_and_joins(node_app, client):
    create_user(node_app, email="anna@firma.lv", phone="+37120000001")
    token = invite(node_app, phone="+37120000001")
    client.get(f"/invitations/{token}")
    assert first_sign_in(client, next_path="/invitations").headers["Location"].endswith("/eid/join")
    page = client.get("/eid/join").get_data(as_text=True)
    assert 'action="/eid/join"' not in page and 'href="/eid/link"' in page
    assert "SIA Firma" in client.get("/eid/link").get_data(as_text=True)
    response = post_form(client, "/eid/link", {"identifier": "anna@firma.lv", "password": PASSWORD})
    assert_joined(node_app, client, response, via="link", created=False)
    with client.session_transaction() as session:
        assert session["client_id"] == membership_of(node_app, "anna@firma.lv").client_id
    assert_never_asked_again(node_app)


def test_join_with_identity_makes_nothing_when_refused(node_app):
    """The model function alone: refusals change nothing; a join links and accepts together."""
    from models import company as members
    invite(node_app, phone="+37120000001")
    with node_app.app_context(), models.db.connection_context():
        invitation = models.Invitation.get()
        mine = models.DigitalIdentity.create(code_hash="a" * 64)
        taken = models.DigitalIdentity.create(code_hash="b" * 64)
        taken.link(models.User.get(models.User.email == "main@firma.lv"))
        assert members.join_with_identity(invitation, taken) == (members.OTHER_PERSON, None)
        other = models.User.create(email="x@firma.lv", phone="+37120000077", password_hash="")
        models.StatedPersonalCode.insert(user=other, code_hash="c" * 64).execute()
        assert members.join_with_identity(invitation, mine, user=other) == (members.OTHER_PERSON, None)
        assert not models.User.select().where(models.User.email == "anna@firma.lv").exists()
        outcome, user = members.join_with_identity(invitation, mine, full_name="Anna")
        assert outcome == members.ACCEPTED and user.email == "anna@firma.lv"
        assert models.DigitalIdentity.get_by_id(mine.id).user_id == user.id
        assert members.join_with_identity(models.Invitation.get(), models.DigitalIdentity.create(
            code_hash="d" * 64)) == (members.USED, None)


def test_a_person_whose_account_stated_the_code_links_it_rather_than_making_a_second_one(node_app, client):
    user = create_user(node_app, email="janis@example.lv", phone="+37120000011")
    with node_app.app_context(), models.db.connection_context():
        models.StatedPersonalCode.state(models.User.get_by_id(user.id), JANIS)
    token = invite(node_app, email="janis@firma.lv", phone="+37120000012")
    client.get(f"/invitations/{token}")
    assert first_sign_in(client, "janis").headers["Location"].endswith("/eid/join")
    assert 'action="/eid/join"' not in client.get("/eid/join").get_data(as_text=True)
    refused = post_form(client, "/eid/join", {}, page="/eid/link")
    assert refused.status_code == 409 and not signed_in(client)
    with node_app.app_context(), models.db.connection_context():
        assert not models.User.select().where(models.User.email == "janis@firma.lv").exists()
    response = post_form(client, "/eid/link", {"account": user.id, "password": PASSWORD})
    assert_joined(node_app, client, response, email="janis@example.lv", via="link", created=False)
    with client.session_transaction() as session:
        assert "invitation" not in session and "eid_pending" not in session


# --- Everything in one place (seed 003) ----------------------------------------------------------

def test_after_a_trusted_sign_in_every_account_is_shown_in_its_group_and_can_be_chosen(node_app, client):
    """Jānis's private account, the company he runs as main user and the one he works for as a
    colleague: three groups, kept apart, each account chosen with a plain form."""
    user = linked_user(node_app)  # with a private account (create_user)
    with node_app.app_context(), models.db.connection_context():
        runs = models.Client.create(kind="legal", name="SIA Bērziņa Darbnīca")
        works = models.Client.create(kind="legal", name="SIA Cits Uzņēmums")
        models.Membership.grant(user, runs, "main")
        models.Membership.grant(user, works, "colleague")
    client.get(local_path(sign_in_at_provider(start(client), "janis")))
    html = client.get("/dashboard").get_data(as_text=True)
    groups = html[html.index('id="accounts-title"'):html.index('id="contact-title"')]
    private, managed, colleague = (groups.index(f'id="accounts-{g}"') for g in ("private", "managed", "colleague"))
    assert private < groups.index("Private account") < managed
    assert managed < groups.index("SIA Bērziņa Darbnīca") < colleague < groups.index("SIA Cits Uzņēmums")
    assert f'action="/accounts/{works.id}"' in groups
    response = post_form(client, f"/accounts/{works.id}", {}, page="/dashboard")
    assert response.status_code == 303
    html = client.get("/dashboard").get_data(as_text=True)
    assert f'class="account account--active" id="account-{works.id}"' in html


def test_wrong_invitation_codes_are_throttled_per_address_and_a_right_one_is_given_back(node_app, client):
    from rules.throttle import INVITATION_CODE_PER_SOURCE
    token = invite(node_app, phone="+37120000001")
    first_sign_in(client)
    for _ in range(INVITATION_CODE_PER_SOURCE.amount - 1):
        assert post_form(client, "/eid/join/code", {"code": "wrong"}, page="/eid/link").status_code == 422
    assert post_form(client, "/eid/join/code", {"code": token}, page="/eid/link").status_code == 303  # given back
    assert post_form(client, "/eid/join/code", {"code": "wrong"}, page="/eid/link").status_code == 422
    refused = post_form(client, "/eid/join/code", {"code": token}, page="/eid/link")
    assert refused.status_code == 429 and "Too many attempts" in refused.get_data(as_text=True)
    assert refused.headers["Retry-After"]
    assert len(audit_rows(node_app, "auth.throttled")) == 1
