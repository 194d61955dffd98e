"""A company's users (issue 13): the main user's page, rights, revocation on open sessions,
invitations (single use, expiry, cancel, resend, sign-in or registration first), the company's
activity, who may manage whom (rules.company) and 404 for everyone else."""
import hashlib
import re
from datetime import timedelta

import pytest

import models
import rules
from conftest import PASSWORD, login, post_form, register, run_jobs, sms_to
from models.company import Invitation
from models.documents import Document
from rules import company as R
from rules.throttle import Budget

HX = {"HX-Request": "true"}
HISTORY_ROWS = re.compile(r'id="history-\d+-row"')
LINK = re.compile(r"http://portal\.test(/invitations/[A-Za-z0-9_\-]+)")


# --- The world ---------------------------------------------------------------------------------

def make_company(app, email="anna@example.lv", phone="+37121111111", name="Alfa SIA", full_name="Anna Bērziņa"):
    """A company with its main user; returns (user id, company id, membership id)."""
    with app.app_context(), models.db.connection_context():
        user = models.User.create(email=email, phone=phone, full_name=full_name,
                                  password_hash=models.hash_password(PASSWORD))
        company = models.Client.create(kind=rules.LEGAL, name=name)
        membership = models.Membership.grant(user, company, rules.MAIN)
        return user.id, company.id, membership.id


def add_user(app, company_id, email, phone, role=rules.COLLEAGUE, full_name="", **rights):
    """A user of the company (a colleague unless ``role``); returns (user id, membership id)."""
    with app.app_context(), models.db.connection_context():
        user = models.User.get_or_none(models.User.email == email) or models.User.create(
            email=email, phone=phone, full_name=full_name, password_hash=models.hash_password(PASSWORD))
        membership = models.Membership.grant(user, models.Client.get_by_id(company_id), role, **rights)
        return user.id, membership.id


def membership(app, membership_id):
    with app.app_context(), models.db.connection_context():
        return models.Membership.get_by_id(membership_id)


def audit_rows(app, action):
    with app.app_context(), models.db.connection_context():
        return list(models.AuditLog.select().where(models.AuditLog.action == action).order_by(models.AuditLog.id))


def invitations(app):
    with app.app_context(), models.db.connection_context():
        return list(Invitation.select().order_by(Invitation.id))


@pytest.fixture
def alfa(app):
    """Alfa SIA: Anna (main user) and Ilze (colleague, documents and messages, own items only)."""
    anna, company, anna_m = make_company(app)
    ilze, ilze_m = add_user(app, company, "ilze@example.lv", "+37122222222", full_name="Ilze Kalniņa")
    return {"company": company, "anna": anna, "anna_m": anna_m, "ilze": ilze, "ilze_m": ilze_m}


def signed_in(app, identifier):
    client = app.test_client()
    r = login(client, identifier)
    assert r.status_code == 303, r.get_data(as_text=True)
    return client


def users_url(company):
    return f"/companies/{company}/users"


def invite(client, company, **fields):
    data = {"full_name": "", "email": "", "phone_region": "LV", "phone": "", "language": "lv",
            "can_documents": "y", "can_submit": "y", "can_messages": "y", "scope": "own"}
    data.update(fields)
    return post_form(client, f"/companies/{company}/invitations/new", data)


def link_in_email(mailbox, address):
    match = LINK.search(mailbox.last_text(address))
    assert match, mailbox.last_text(address)
    return match.group(1)


# --- The rules on their own ----------------------------------------------------------------------

A, B = 10, 20
MAIN_A = R.Member(1, 1, A, rules.MAIN, True)
MAIN2_A = R.Member(2, 2, A, rules.MAIN, True)
COLLEAGUE_A = R.Member(3, 3, A, rules.COLLEAGUE, False)
MAIN_B = R.Member(4, 4, B, rules.MAIN, True)


@pytest.mark.parametrize("actor, target, action, mains, expected", [
    (MAIN_A, COLLEAGUE_A, R.EDIT_RIGHTS, 1, None),
    (MAIN_A, COLLEAGUE_A, R.REVOKE, 1, None),
    (MAIN_A, COLLEAGUE_A, R.DEMOTE, 1, R.NOT_MAIN),
    (MAIN_A, MAIN_A, R.EDIT_RIGHTS, 1, R.MAIN_HAS_ALL_RIGHTS),
    (MAIN_A, MAIN_A, R.REVOKE, 1, R.LAST_MAIN_USER),      # the last main user cannot leave
    (MAIN_A, MAIN_A, R.DEMOTE, 1, R.LAST_MAIN_USER),
    (MAIN_A, MAIN_A, R.REVOKE, 2, None),                  # with another one, they may
    (MAIN_A, MAIN_A, R.DEMOTE, 2, None),
    (MAIN_A, MAIN2_A, R.REVOKE, 2, None),
    (COLLEAGUE_A, MAIN_A, R.REVOKE, 2, R.NOT_FOUND),      # a colleague manages nobody
    (COLLEAGUE_A, COLLEAGUE_A, R.EDIT_RIGHTS, 1, R.NOT_FOUND),
    (MAIN_B, COLLEAGUE_A, R.REVOKE, 1, R.NOT_FOUND),      # nor another company's main user
    (MAIN_B, COLLEAGUE_A, R.EDIT_RIGHTS, 1, R.NOT_FOUND),
    (MAIN_A._replace(revoked=True), COLLEAGUE_A, R.REVOKE, 1, R.NOT_FOUND),
    (MAIN_A, COLLEAGUE_A._replace(revoked=True), R.EDIT_RIGHTS, 1, R.NOT_FOUND),
])
def test_who_may_manage_whom(actor, target, action, mains, expected):
    assert R.refusal(actor, target, action, mains) == expected


@pytest.mark.parametrize("rights, problems", [
    ({"documents", "submit"}, []),
    ({"messages"}, []),
    ({"submit"}, [R.SUBMIT_NEEDS_DOCUMENTS]),
    (set(), [R.NO_RIGHTS]),
    ({"manage_users"}, [R.NO_RIGHTS]),  # not one a main user hands out
])
def test_rights_a_main_user_hands_out(rights, problems):
    assert R.rights_problems(rights) == problems
    assert R.rights_fields(rights, True)["can_manage_users"] is False


def test_invitation_status_by_time():
    now = models.utcnow()
    assert R.invitation_status(None, None, now + timedelta(seconds=1), now) == R.PENDING
    assert R.invitation_status(None, None, now, now) == R.EXPIRED
    assert R.invitation_status(now, None, now - timedelta(days=1), now) == R.ACCEPTED
    assert R.invitation_status(None, now, now + timedelta(days=1), now) == R.CANCELLED


# --- The users page --------------------------------------------------------------------------

def test_main_user_sees_the_users_with_rights_and_the_reminder(app, alfa):
    client = signed_in(app, "anna@example.lv")
    page = client.get(users_url(alfa["company"])).get_data(as_text=True)
    assert 'id="responsibility"' in page  # seed 000: the main user keeps access current
    assert "ilze@example.lv" in page and "+37122222222" in page and "Ilze Kalniņa" in page
    assert f'id="member-{alfa["ilze_m"]}-row"' in page and f'id="member-{alfa["anna_m"]}-row"' in page
    assert str(rules.ROLE_LABELS[rules.COLLEAGUE]) in page or "Kolēģis" in page
    fragment = client.get(users_url(alfa["company"]), headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="company-users"') and "<html" not in fragment
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert f'href="/companies/{alfa["company"]}/users"' in dashboard


@pytest.mark.parametrize("who", ["ilze@example.lv", "peteris@example.lv"])
def test_a_colleague_gets_404_everywhere_and_no_link(app, alfa, who):
    # Ilze: the colleague's defaults (own items only); Pēteris: every other right, the whole company.
    add_user(app, alfa["company"], "peteris@example.lv", "+37127777777", own_items_only=False, finance=True,
             services=True)
    client = signed_in(app, who)
    company = alfa["company"]
    for url in (users_url(company), f"/companies/{company}/history", f"/companies/{company}/invitations/new",
                f"/companies/{company}/users/{alfa['ilze_m']}", f"/companies/{company}/users/{alfa['anna_m']}"):
        assert client.get(url).status_code == 404, url
    for url in (f"/companies/{company}/users/{alfa['anna_m']}/revoke", f"/companies/{company}/users/{alfa['anna_m']}",
                f"/companies/{company}/invitations/new"):
        assert post_form(client, url, {"confirm": "y", "can_documents": "y", "scope": "company",
                                       "email": "x@example.lv", "language": "lv"},
                         page="/settings").status_code == 404, url
    assert f"/companies/{company}/users" not in client.get("/dashboard").get_data(as_text=True)
    assert membership(app, alfa["anna_m"]).revoked_at is None


def test_a_main_user_of_another_company_gets_404(app, alfa):
    _bob, beta, bob_m = make_company(app, "bob@example.lv", "+37123333333", "Beta SIA")
    bob = signed_in(app, "bob@example.lv")
    anna = signed_in(app, "anna@example.lv")
    assert invite(anna, alfa["company"], email="jauns@example.lv").status_code == 303
    alfa_invitation = invitations(app)[0].id
    company = alfa["company"]
    for url in (users_url(company), f"/companies/{company}/history", f"/companies/{company}/invitations/new",
                f"/companies/{company}/users/{alfa['ilze_m']}"):
        assert bob.get(url).status_code == 404, url
    for url in (f"/companies/{company}/users/{alfa['ilze_m']}/revoke",
                f"/companies/{company}/invitations/{alfa_invitation}/cancel",
                f"/companies/{company}/invitations/{alfa_invitation}/resend",
                # Beta's own URL naming Alfa's membership or invitation: not found either
                f"/companies/{beta}/users/{alfa['ilze_m']}/revoke",
                f"/companies/{beta}/invitations/{alfa_invitation}/cancel"):
        assert post_form(bob, url, {"confirm": "y"}, page="/settings").status_code == 404, url
    assert bob.get(f"/companies/{beta}/users/{alfa['ilze_m']}").status_code == 404
    assert membership(app, alfa["ilze_m"]).revoked_at is None
    assert invitations(app)[0].cancelled_at is None
    assert bob.get(users_url(beta)).status_code == 200 and bob_m


def test_staff_and_signed_out_visitors_do_not_reach_it(app, alfa):
    from conftest import create_user
    create_user(app, email="staff@example.lv", phone="+37129999999", staff_role="admin")
    staff = signed_in(app, "staff@example.lv")
    assert staff.get(users_url(alfa["company"])).status_code == 404
    anonymous = app.test_client()
    r = anonymous.get(users_url(alfa["company"]))
    assert r.status_code == 302 and "/login" in r.headers["Location"]


# --- Rights and revocation --------------------------------------------------------------------

def test_main_user_changes_a_colleagues_rights(app, alfa):
    client = signed_in(app, "anna@example.lv")
    url = f"/companies/{alfa['company']}/users/{alfa['ilze_m']}"
    r = post_form(client, url, {"can_documents": "y", "can_finance": "y", "scope": "company"})
    assert r.status_code == 303
    m = membership(app, alfa["ilze_m"])
    assert (m.can_documents, m.can_submit, m.can_messages, m.can_finance, m.own_items_only) == (
        True, False, False, True, False)
    assert m.can_manage_users is False
    [row] = audit_rows(app, "company.rights_changed")
    assert row.client_id == alfa["company"] and row.details["rights"] == ["documents", "finance"]
    assert row.details["member"] == "ilze@example.lv"


def test_a_main_user_cannot_hand_out_manage_users(app, alfa):
    """CMP-5 decided (issue 13): "manage users" comes only with main-user rights, which staff
    (after a visit or on a signed authorisation) or the company register confirm; a main user
    gives a colleague every other right, company-wide, but never that one — not by the form,
    not by a crafted POST, not by an invitation."""
    client = signed_in(app, "anna@example.lv")
    url = f"/companies/{alfa['company']}/users/{alfa['ilze_m']}"
    assert 'name="can_manage_users"' not in client.get(url).get_data(as_text=True)
    everything = {f"can_{p}": "y" for p in rules.PERMISSIONS}
    assert post_form(client, url, {**everything, "scope": "company"}).status_code == 303
    m = membership(app, alfa["ilze_m"])
    assert (m.can_finance, m.can_services, m.own_items_only) == (True, True, False)  # all the main user has …
    assert (m.can_manage_users, m.role) == (False, rules.COLLEAGUE)  # … but managing users
    assert invite(client, alfa["company"], email="jauns@example.lv", can_manage_users="y").status_code == 303
    assert 'name="can_manage_users"' not in client.get(f"/companies/{alfa['company']}/invitations/new").get_data(
        as_text=True)
    with app.app_context(), models.db.connection_context():
        [row] = list(models.Invitation.select())
        assert "manage_users" not in row.rights


def test_rights_that_make_no_sense_are_refused_with_messages(app, alfa):
    client = signed_in(app, "anna@example.lv")
    url = f"/companies/{alfa['company']}/users/{alfa['ilze_m']}"
    r = post_form(client, url, {"can_submit": "y", "scope": "company"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="error-summary"' in page and 'id="can_submit-error"' in page
    r = post_form(client, url, {"scope": "nonsense", "can_manage_users": "y"})
    assert r.status_code == 422 and 'id="can_documents-error"' in r.get_data(as_text=True)
    m = membership(app, alfa["ilze_m"])
    assert m.can_messages and m.own_items_only and not m.can_manage_users  # unchanged


@pytest.mark.postgres
def test_the_last_main_user_cannot_revoke_or_demote_themself(app, alfa):
    client = signed_in(app, "anna@example.lv")
    base = f"/companies/{alfa['company']}/users/{alfa['anna_m']}"
    page = client.get(base).get_data(as_text=True)
    assert "/revoke" not in page and "/demote" not in page
    r = post_form(client, base + "/revoke", {"confirm": "y"})
    assert r.status_code == 422 and 'id="error-summary"' in r.get_data(as_text=True)
    r = post_form(client, base + "/demote", {})
    assert r.status_code == 422
    m = membership(app, alfa["anna_m"])
    assert m.revoked_at is None and m.can_manage_users and m.role == rules.MAIN
    # A second main user (confirmed by staff): now Anna may step down, and then leave.
    add_user(app, alfa["company"], "maris@example.lv", "+37124444444", role=rules.MAIN)
    assert post_form(client, base + "/demote", {}).status_code == 303
    m = membership(app, alfa["anna_m"])
    assert m.role == rules.COLLEAGUE and not m.can_manage_users and m.can_finance and not m.own_items_only
    assert client.get(users_url(alfa["company"])).status_code == 404  # no longer manages users


def test_revoking_needs_the_tick(app, alfa):
    client = signed_in(app, "anna@example.lv")
    r = post_form(client, f"/companies/{alfa['company']}/users/{alfa['ilze_m']}/revoke", {})
    assert r.status_code == 422 and 'id="confirm-error"' in r.get_data(as_text=True)
    assert membership(app, alfa["ilze_m"]).revoked_at is None


@pytest.mark.postgres
def test_revocation_takes_effect_on_the_colleagues_open_session(app, alfa):
    with app.app_context(), models.db.connection_context():
        document = Document.create(client=alfa["company"], created_by=alfa["ilze"], doc_type="company_documents")
    ilze = signed_in(app, "ilze@example.lv")
    assert ilze.get(f"/documents/{document.id}").status_code == 200
    assert f'id="account-{alfa["company"]}"' in ilze.get("/dashboard").get_data(as_text=True)

    anna = signed_in(app, "anna@example.lv")
    r = post_form(anna, f"/companies/{alfa['company']}/users/{alfa['ilze_m']}/revoke", {"confirm": "y"})
    assert r.status_code == 303
    # Ilze's session is the same cookie as before; her very next requests no longer reach the company.
    assert ilze.get(f"/documents/{document.id}").status_code == 404
    assert f'id="account-{alfa["company"]}"' not in ilze.get("/dashboard").get_data(as_text=True)
    assert ilze.post(f"/accounts/{alfa['company']}", data={"csrf_token": "x"}).status_code in (400, 404)
    [row] = audit_rows(app, "company.access_revoked")
    assert row.client_id == alfa["company"] and row.user_id == alfa["anna"]
    page = anna.get(users_url(alfa["company"])).get_data(as_text=True)
    assert "ilze@example.lv" not in page


# --- Invitations --------------------------------------------------------------------------------

def test_invite_by_email_register_and_accept(app, alfa, mailbox):
    anna = signed_in(app, "anna@example.lv")
    r = invite(anna, alfa["company"], email="Jana@Example.lv", full_name="Jana Ozola",
               can_submit="", can_messages="", scope="company")
    assert r.status_code == 303
    [invitation] = invitations(app)
    assert invitation.email == "jana@example.lv" and invitation.can_documents and not invitation.can_messages
    assert not invitation.own_items_only
    page = anna.get(users_url(alfa["company"])).get_data(as_text=True)
    assert f'id="invitation-{invitation.id}-row"' in page and "jana@example.lv" in page
    [sent] = audit_rows(app, "company.invitation_sent")
    assert sent.client_id == alfa["company"] and sent.details["invited"] == "jana@example.lv"
    run_jobs(app)
    assert "Alfa SIA" in mailbox.last_text("jana@example.lv") and "Anna Bērziņa" in mailbox.last_text("jana@example.lv")
    path = link_in_email(mailbox, "jana@example.lv")
    token = path.rsplit("/", 1)[1]
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    with app.app_context(), models.db.connection_context():  # the token itself is kept nowhere
        row = Invitation.get_by_id(invitation.id)
        assert token not in repr(row.__data__)
        assert all(token not in (n.params or "") for n in models.Notification.select())

    jana = app.test_client()
    r = jana.get(path)
    assert r.status_code == 303 and r.headers["Location"].endswith("/invitations")
    page = jana.get("/invitations").get_data(as_text=True)
    assert "Alfa SIA" in page and token not in page
    assert re.search(r'href="/login\?next=(/|%2F)invitations"', page) and re.search(r'href="/register\?next=(/|%2F)invitations"', page)
    jana.get("/register?next=/invitations")
    r = register(jana, app, mailbox, email="jana@example.lv", phone="20000222")
    assert r.headers["Location"].endswith("/invitations")
    r = post_form(jana, "/invitations", {})
    assert r.status_code == 303 and r.headers["Location"].endswith("/dashboard")
    with app.app_context(), models.db.connection_context():
        user = models.User.get(models.User.email == "jana@example.lv")
        m = models.Membership.get(models.Membership.user == user, models.Membership.client == alfa["company"])
        assert (m.role, m.can_documents, m.can_submit, m.can_messages, m.own_items_only, m.can_manage_users) == (
            rules.COLLEAGUE, True, False, False, False, False)
    assert "Alfa SIA" in jana.get("/dashboard").get_data(as_text=True)
    [accepted] = audit_rows(app, "company.invitation_accepted")
    assert accepted.client_id == alfa["company"]
    # Used once: the same link again, in any browser, is a clear refusal.
    other = app.test_client()
    other.get(path)
    r = other.get("/invitations")
    assert r.status_code == 410 and "Alfa SIA" not in r.get_data(as_text=True)


def test_invite_by_sms_an_existing_account_signs_in_and_accepts(app, alfa):
    _bob, beta, _m = make_company(app, "bob@example.lv", "+37123333333", "Beta SIA")
    anna = signed_in(app, "anna@example.lv")
    assert invite(anna, alfa["company"], phone="23333333").status_code == 303
    run_jobs(app)
    [text] = sms_to(app, "+37123333333")
    path = LINK.search(text).group(1)
    bob = app.test_client()
    bob.get(path)
    r = post_form(bob, "/login?next=/invitations", {"identifier": "bob@example.lv", "password": PASSWORD},
                  page="/login")
    assert r.status_code == 303 and r.headers["Location"].endswith("/invitations")
    page = bob.get("/invitations").get_data(as_text=True)
    assert "Alfa SIA" in page and 'action="/invitations"' in page
    assert post_form(bob, "/invitations", {}).status_code == 303
    dashboard = bob.get("/dashboard").get_data(as_text=True)
    assert f'id="account-{alfa["company"]}"' in dashboard and f'id="account-{beta}"' in dashboard


def test_the_same_answer_whether_or_not_the_address_has_an_account(app, alfa):
    anna = signed_in(app, "anna@example.lv")
    said = []
    for address in ("ilze@example.lv", "nobody@example.lv"):
        assert invite(anna, alfa["company"], email=address).status_code == 303
        page = anna.get(users_url(alfa["company"])).get_data(as_text=True)
        flash = re.search(r'<p class="flash flash--success">(.*?)</p>', page, re.S).group(1)
        said.append(flash.replace(address, "ADDRESS"))
    assert said[0] == said[1]
    with app.app_context(), models.db.connection_context():
        rows = list(models.Notification.select().where(models.Notification.template != "new_device_sign_in")
                    .order_by(models.Notification.id))  # the sign-in's own notice is not the invitation's
    assert [(n.template, n.user_id, n.status) for n in rows] == [("company_invitation", None, "pending")] * 2


def test_accepting_while_already_a_member_changes_nothing(app, alfa):
    with app.app_context(), models.db.connection_context():
        invitation, token = Invitation.issue(models.Client.get_by_id(alfa["company"]), None, {"finance"}, False,
                                             email="ilze@example.lv", link=lambda t: f"/invitations/{t}")
    ilze = signed_in(app, "ilze@example.lv")
    ilze.get(f"/invitations/{token}")
    assert post_form(ilze, "/invitations", {}).status_code == 303
    assert not membership(app, alfa["ilze_m"]).can_finance
    with app.app_context(), models.db.connection_context():
        assert Invitation.get_by_id(invitation.id).accepted_at is None


def _issued(app, company, **kwargs):
    with app.app_context(), models.db.connection_context():
        return Invitation.issue(models.Client.get_by_id(company), None, {"documents"}, True,
                                email=kwargs.pop("email", "jana@example.lv"), link=lambda t: f"/invitations/{t}",
                                **kwargs)


def test_an_expired_invitation_is_refused_with_a_clear_page(app, alfa):
    _from_jana = make_company(app, "jana@example.lv", "+37125555555", "Jana privāti")
    invitation, token = _issued(app, alfa["company"])
    with app.app_context(), models.db.connection_context():
        Invitation.update(expires_at=models.utcnow() - timedelta(seconds=1)).where(
            Invitation.id == invitation.id).execute()
    jana = signed_in(app, "jana@example.lv")
    jana.get(f"/invitations/{token}")
    r = jana.get("/invitations")
    assert r.status_code == 410 and 'id="invitation"' in r.get_data(as_text=True)
    assert post_form(jana, "/invitations", {}, page="/settings").status_code == 404  # forgotten by now
    with app.app_context(), models.db.connection_context():
        assert not models.Membership.select().where(models.Membership.client == alfa["company"],
                                                    models.Membership.user == _from_jana[0]).exists()


def test_cancel_kills_the_link(app, alfa):
    anna = signed_in(app, "anna@example.lv")
    invitation, token = _issued(app, alfa["company"])
    r = post_form(anna, f"/companies/{alfa['company']}/invitations/{invitation.id}/cancel", {}, page=users_url(alfa["company"]))
    assert r.status_code == 303
    assert f'id="invitation-{invitation.id}-row"' not in anna.get(users_url(alfa["company"])).get_data(as_text=True)
    visitor = app.test_client()
    visitor.get(f"/invitations/{token}")
    assert visitor.get("/invitations").status_code == 410
    [row] = audit_rows(app, "company.invitation_cancelled")
    assert row.client_id == alfa["company"] and row.details["invitation"] == invitation.id
    # Cancelled once: a second cancel or a resend changes nothing.
    post_form(anna, f"/companies/{alfa['company']}/invitations/{invitation.id}/resend", {})
    assert len(audit_rows(app, "company.invitation_resent")) == 0


def test_resend_gives_a_new_link_and_kills_the_old_one(app, alfa, mailbox):
    anna = signed_in(app, "anna@example.lv")
    invitation, old = _issued(app, alfa["company"])
    r = post_form(anna, f"/companies/{alfa['company']}/invitations/{invitation.id}/resend", {},
                  page=users_url(alfa["company"]))
    assert r.status_code == 303
    run_jobs(app)
    new = link_in_email(mailbox, "jana@example.lv").rsplit("/", 1)[1]
    assert new != old
    visitor = app.test_client()
    visitor.get(f"/invitations/{old}")
    assert visitor.get("/invitations").status_code == 404
    visitor.get(f"/invitations/{new}")
    assert visitor.get("/invitations").status_code == 200
    [row] = audit_rows(app, "company.invitation_resent")
    assert row.client_id == alfa["company"]


def test_invitation_form_checks_the_contact_like_registration(app, alfa):
    anna = signed_in(app, "anna@example.lv")
    r = invite(anna, alfa["company"])
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="email-error"' in page and 'id="error-summary"' in page
    r = invite(anna, alfa["company"], email="not-an-address", phone="12")
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="email-error"' in page and 'id="phone-error"' in page
    r = invite(anna, alfa["company"], email="x@example.lv", can_documents="")
    assert r.status_code == 422 and 'id="can_submit-error"' in r.get_data(as_text=True)
    assert invitations(app) == []


def test_invitations_are_rate_limited_per_company(app, alfa, monkeypatch):
    from rules import throttle
    monkeypatch.setattr(throttle, "INVITATIONS_PER_COMPANY", Budget("invitations/company", 2, timedelta(days=1)))
    anna = signed_in(app, "anna@example.lv")
    assert invite(anna, alfa["company"], email="a1@example.lv").status_code == 303
    assert invite(anna, alfa["company"], email="a2@example.lv").status_code == 303
    r = invite(anna, alfa["company"], email="a3@example.lv")
    assert r.status_code == 429 and r.headers.get("Retry-After")
    assert len(invitations(app)) == 2


# --- Activity ---------------------------------------------------------------------------------

@pytest.mark.postgres
def test_the_company_activity_by_person_a_page_at_a_time(app, alfa):
    _bob, beta, _m = make_company(app, "bob@example.lv", "+37123333333", "Beta SIA")
    with app.app_context(), models.db.connection_context():
        ilze, anna = models.User.get_by_id(alfa["ilze"]), models.User.get_by_id(alfa["anna"])
        for n in range(35):
            models.AuditLog.record("document.created", user=ilze, client=alfa["company"], document=n)
        models.AuditLog.record("company.invitation_sent", user=anna, client=alfa["company"], invited="x@example.lv")
        models.AuditLog.record("login.success", user=ilze)  # a person's own sign-in is not the company's
        models.AuditLog.record("document.created", user=models.User.get_by_id(_bob), client=beta, document=999)
    client = signed_in(app, "anna@example.lv")
    url = f"/companies/{alfa['company']}/history"
    first = client.get(url).get_data(as_text=True)
    assert len(HISTORY_ROWS.findall(first)) == 30 and 'rel="next"' in first and "Nr. 999" not in first
    older = re.search(r'href="([^"]*before=[^"]*)" rel="next"', first).group(1).replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    assert len(HISTORY_ROWS.findall(second)) == 6  # 36 company rows (Anna's sign-in just now is not one)
    only_anna = client.get(f"{url}?person={alfa['anna']}").get_data(as_text=True)
    assert len(HISTORY_ROWS.findall(only_anna)) == 1 and "x@example.lv" in only_anna
    not_theirs = client.get(f"{url}?person={_bob}").get_data(as_text=True)  # another company's user: ignored
    assert len(HISTORY_ROWS.findall(not_theirs)) == 30
    fragment = client.get(older, headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="history"')


def test_hostile_input_never_gives_a_500(app, alfa):
    client = signed_in(app, "anna@example.lv")
    company = alfa["company"]
    for url in (f"/companies/{company}/history?person=%00&before=9" + "9" * 80, f"/companies/{company}/history?person=-1",
                f"/companies/{company}/users?before=abc&after=%ff", f"/companies/{company}/users/99999999999999",
                "/companies/99999999999999/users", "/invitations/" + "x" * 5000, "/invitations/%00%ff",
                "/invitations"):
        assert client.get(url).status_code in (200, 303, 404, 410), url
    long = "ž" * 5000
    r = invite(client, company, email=long, phone=long, full_name=long, language="xx", scope=long,
               phone_region="ZZ")
    assert r.status_code == 422
    r = post_form(client, f"/companies/{company}/users/{alfa['ilze_m']}", {"scope": long, "can_documents": long})
    assert r.status_code in (303, 422)
    visitor = app.test_client()
    with visitor.session_transaction() as session:
        session["invitation"] = {"not": "a string"}
    assert visitor.get("/invitations").status_code == 404


@pytest.mark.postgres
def test_two_acceptances_at_once_use_the_token_once(app, alfa):
    """Both requests loaded the pending invitation before either accepted (a race): the
    conditional update lets one through; the other finds it used and grants nothing."""
    _jana = add_user(app, alfa["company"], "jana@example.lv", "+37125555555")  # only for the account
    invitation, token = _issued(app, alfa["company"])
    with app.app_context(), models.db.connection_context():
        models.Membership.update(revoked_at=models.utcnow()).where(models.Membership.id == _jana[1]).execute()
        first, second = Invitation.find(token), Invitation.find(token)
        jana = models.User.get_by_id(_jana[0])
        maris = models.User.create(email="maris@example.lv", phone="+37126666666", password_hash="x")
        with models.action():
            assert first.accept(jana) == "accepted"
        with models.action():
            assert second.accept(maris) == "used"
        assert models.Membership.get_by_id(_jana[1]).revoked_at is None  # a revoked membership comes back
        assert not models.Membership.select().where(models.Membership.user == maris).exists()


def test_the_invitation_goes_in_the_chosen_language(app, alfa, mailbox):
    anna = signed_in(app, "anna@example.lv")
    assert invite(anna, alfa["company"], email="john@example.lv", phone="27777777", language="en").status_code == 303
    run_jobs(app)
    assert "invites you to act for Alfa SIA" in mailbox.last_text("john@example.lv")
    assert mailbox.to("john@example.lv")[-1]["Subject"] == "You are invited to act for a company in the client cabinet"
    [text] = sms_to(app, "+37127777777")
    assert text.startswith("Kabinets: Anna Bērziņa invites you to act for Alfa SIA") and LINK.search(text)


@pytest.mark.postgres
def test_a_main_user_revoked_meanwhile_can_no_longer_revoke(app, alfa):
    """Anna's request read her membership before Māris revoked her: the action reads it again."""
    _maris, maris_m = add_user(app, alfa["company"], "maris@example.lv", "+37124444444", role=rules.MAIN)
    with app.app_context(), models.db.connection_context():
        anna_then = models.Membership.get_by_id(alfa["anna_m"])
        with models.action():
            assert models.company.revoke(models.Membership.get_by_id(maris_m), anna_then) is None
        with models.action():
            assert models.company.revoke(anna_then, models.Membership.get_by_id(alfa["ilze_m"])) == R.NOT_FOUND
        assert models.Membership.get_by_id(alfa["ilze_m"]).revoked_at is None


def test_a_boosted_link_answered_404_loads_as_a_whole_page(app, alfa):
    """htmx swaps no 4xx answer: without this, the revoked colleague's click would seem to do nothing."""
    ilze = signed_in(app, "ilze@example.lv")
    boosted = ilze.get(users_url(alfa["company"]), headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert boosted.status_code == 404 and boosted.headers["HX-Redirect"] == users_url(alfa["company"])
    fragment = ilze.get(users_url(alfa["company"]), headers=HX)  # a fragment's request: left to its page
    assert fragment.status_code == 404 and "HX-Redirect" not in fragment.headers
