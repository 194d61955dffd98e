"""Becoming a company's main user (issue 13, seed 000): by e-identity against the company-register
data (a registrant's company, or a company the register shows the person signing alone for), or
by a signed authorisation that staff verify in their queue; the client is told."""
import io
from datetime import timedelta

import pytest

import models
import rules
from conftest import create_user, login, post_form, run_jobs
import test_eid
from fixtures_files import exe, pdf
from rules import register as R

# The loopback OpenID Connect broker and the portal trusting it (tests/test_eid.py's fixtures).
broker, eid_app = test_eid.broker, test_eid.eid_app

LIGA = "LV:02027910002"
OTHER = "LV:03039010003"
NUMBER, NEW_NUMBER = "40003000001", "40003000002"


def snapshot(app, *rows, age=timedelta(0)):
    """The register in force: rows of (registration number, company, normalised code, rights)."""
    with app.app_context(), models.db.connection_context(), models.action():
        entries = [R.Entry(i, number, name, code, "valdes locekle", rights)
                   for i, (number, name, code, rights) in enumerate(rows, start=2)]
        found = models.RegisterImport.replace(entries, "test", "0" * 64)
        found.imported_at = models.utcnow() - age
        found.save()


def person(app, email="liga@example.lv", phone="+37121111112", code=LIGA, role="registrant", kind="legal"):
    """A client user (by default a company's registrant) whose account is linked to e-identity."""
    user = create_user(app, email=email, phone=phone, kind=kind, role=role)
    with app.app_context(), models.db.connection_context():
        if code:
            identity = models.DigitalIdentity.create(code_hash=app.extensions["keys"].mac("personal-code", code))
            identity.link(user)
        membership = models.Membership.get(models.Membership.user == user)
    return user, membership.client_id


def trusted(client, email="liga@example.lv"):
    """Signed in, and the session marked as an e-identity sign-in (what blueprints/eid.py records)."""
    assert login(client, email).status_code == 303
    with client.session_transaction() as session:
        session["auth"] = {"method": "eid", "provider": "dev", "acr": "high", "amr": ["smartid"], "at": 0}
    return client


def latvian(app, text):
    """What a page in Latvian (the default) shows for a lazy string of the domain."""
    from flask_babel import force_locale
    with app.test_request_context(), force_locale("lv"):
        return str(text)


def sign_out(client):
    assert post_form(client, "/logout", {}, page="/dashboard").status_code == 303


def membership_of(user, client_id):
    return models.Membership.get(models.Membership.user == user, models.Membership.client == client_id)


def audit(action):
    return list(models.AuditLog.select().where(models.AuditLog.action == action))


def confirm(client, client_id, number=""):
    return post_form(client, f"/companies/{client_id}/main-user/eid", {"registration_number": number},
                     page=f"/companies/{client_id}/main-user")


# --- The registrant is told what happens next -------------------------------------------------

def test_registrant_dashboard_says_what_happens_next(app, client, db):
    user, company = person(app)
    login(client, "liga@example.lv")
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'id="main-user-next"' in html and f'href="/companies/{company}/main-user"' in html
    page = client.get(f"/companies/{company}/main-user").get_data(as_text=True)
    assert 'id="main-user-by-eid"' in page and 'id="main-user-by-authorisation"' in page


def test_a_colleague_is_not_told_to_become_main_user_but_may_ask(app, client, db):
    user, company = person(app, role="colleague")
    login(client, "liga@example.lv")
    assert 'id="main-user-next"' not in client.get("/dashboard").get_data(as_text=True)
    assert client.get(f"/companies/{company}/main-user").status_code == 200


def test_password_session_is_offered_e_identity_instead(app, client, db):
    snapshot(app, (NUMBER, "SIA Demo Būve", LIGA, R.ALONE))
    user, company = person(app)
    login(client, "liga@example.lv")
    page = client.get(f"/companies/{company}/main-user").get_data(as_text=True)
    assert f'href="/eid/dev/start?next=/companies/{company}/main-user"' in page
    assert f'action="/companies/{company}/main-user/eid"' not in page
    r = confirm(client, company, NUMBER)
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/companies/{company}/main-user")
    assert membership_of(user, company).role == rules.REGISTRANT
    assert 'id="register-companies"' not in client.get("/dashboard").get_data(as_text=True)


# --- By e-identity against the register --------------------------------------------------------

@pytest.mark.postgres
def test_registrant_with_sole_signing_rights_becomes_main_user(app, client, db):
    snapshot(app, (NUMBER, "SIA Demo Būve", LIGA, R.ALONE))
    user, company = person(app)
    trusted(client)
    assert 'action="/companies/%d/main-user/eid"' % company in client.get(
        f"/companies/{company}/main-user").get_data(as_text=True)
    r = confirm(client, company, "4000 3000 001")
    assert r.status_code == 303 and r.headers["Location"].endswith("/dashboard")
    membership = membership_of(user, company)
    assert membership.role == rules.MAIN and membership.can_manage_users and not membership.own_items_only
    company_row = models.Client.get_by_id(company)
    assert company_row.registration_number == NUMBER and company_row.name == "Test client"  # its own name kept
    [row] = audit("main_user.confirmed_by_register")
    assert row.user_id == user.id and row.client_id == company and row.details == {"registration_number": NUMBER}
    assert 'id="main-user-next"' not in client.get("/dashboard").get_data(as_text=True)
    assert client.get(f"/companies/{company}/main-user").status_code == 404  # nothing more to ask


@pytest.mark.parametrize("rows, age, outcome", [
    ([(NUMBER, "SIA Demo Būve", LIGA, R.JOINTLY)], timedelta(0), R.NEEDS_STAFF),
    ([(NUMBER, "SIA Demo Būve", LIGA, R.NONE)], timedelta(0), R.NO),
    ([(NUMBER, "SIA Demo Būve", OTHER, R.ALONE)], timedelta(0), R.NO),  # someone else signs alone
    ([(NEW_NUMBER, "SIA Cits", LIGA, R.ALONE)], timedelta(0), R.NO),  # alone, but for another company
    ([(NUMBER, "SIA Demo Būve", LIGA, R.ALONE)], R.MAX_AGE + timedelta(hours=1), R.STALE),
    ([], None, R.STALE),
])
def test_without_sole_signing_rights_in_current_register_data_nothing_changes(app, client, db, rows, age, outcome):
    if age is not None:
        snapshot(app, *rows, age=age)
    user, company = person(app)
    trusted(client)
    r = confirm(client, company, NUMBER)
    assert r.status_code == 422
    assert latvian(app, R.OUTCOMES[outcome]) in r.get_data(as_text=True)
    assert membership_of(user, company).role == rules.REGISTRANT
    assert models.Client.get_by_id(company).registration_number is None
    [row] = audit("main_user.register_refused")
    assert row.details["outcome"] == outcome


def test_a_number_another_client_holds_is_refused(app, client, db):
    snapshot(app, (NUMBER, "SIA Demo Būve", LIGA, R.ALONE))
    models.Client.create(kind="legal", name="SIA Demo Būve", registration_number=NUMBER)
    user, company = person(app)
    trusted(client)
    r = confirm(client, company, NUMBER)
    assert r.status_code == 422 and 'id="register-outcome"' in r.get_data(as_text=True)
    assert membership_of(user, company).role == rules.REGISTRANT


def test_without_a_linked_e_identity_the_register_matches_nobody(app, client, db):
    snapshot(app, (NUMBER, "SIA Demo Būve", LIGA, R.ALONE))
    user, company = person(app, code=None)
    trusted(client)  # even a session claiming e-identity
    assert confirm(client, company, NUMBER).status_code == 303
    assert membership_of(user, company).role == rules.REGISTRANT


@pytest.mark.parametrize("number", ["123", "4000300000x", "=cmd|' /C calc'!A0", "4" * 40, ""])
def test_a_bad_registration_number_is_a_form_error(app, client, db, number):
    snapshot(app, (NUMBER, "SIA Demo Būve", LIGA, R.ALONE))
    user, company = person(app)
    trusted(client)
    r = confirm(client, company, number)
    assert r.status_code == 422 and "11" in r.get_data(as_text=True)
    assert membership_of(user, company).role == rules.REGISTRANT


# --- A company from the register list ----------------------------------------------------------

@pytest.mark.postgres
def test_a_company_the_portal_does_not_know_becomes_a_client_with_its_main_user(app, client, db):
    snapshot(app, (NEW_NUMBER, "SIA Bērziņa Darbnīca", LIGA, R.ALONE), (NUMBER, "SIA Demo Būve", LIGA, R.JOINTLY))
    user, _own = person(app, kind="natural", role="self")
    trusted(client)
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'id="register-companies"' in html and "SIA Bērziņa Darbnīca" in html
    assert f'action="/main-user/register/{NEW_NUMBER}"' in html
    assert f'action="/main-user/register/{NUMBER}"' not in html  # jointly: not offered
    r = post_form(client, f"/main-user/register/{NEW_NUMBER}", {}, page="/dashboard")
    assert r.status_code == 303
    company = models.Client.get(models.Client.registration_number == NEW_NUMBER)
    assert (company.kind, company.name, company.country) == ("legal", "SIA Bērziņa Darbnīca", "LV")
    assert membership_of(user, company.id).role == rules.MAIN
    assert f'id="account-{company.id}"' in client.get("/dashboard").get_data(as_text=True)
    assert post_form(client, f"/main-user/register/{NEW_NUMBER}", {}, page="/dashboard").status_code == 303
    assert models.Client.select().where(models.Client.registration_number == NEW_NUMBER).count() == 1
    assert len(audit("main_user.confirmed_by_register")) == 2


def test_a_company_the_portal_knows_gains_the_person_as_a_main_user(app, client, db):
    snapshot(app, (NUMBER, "SIA Demo Būve", LIGA, R.ALONE))
    main = create_user(app, email="main@example.lv", phone="+37121111119", kind="legal", role="main")
    company = models.Membership.get(models.Membership.user == main).client
    company.registration_number = NUMBER
    company.save()
    user, _own = person(app, kind="natural", role="self")
    models.Membership.grant(user, company, rules.COLLEAGUE)
    trusted(client)
    assert post_form(client, f"/main-user/register/{NUMBER}", {}, page="/dashboard").status_code == 303
    assert membership_of(user, company.id).role == rules.MAIN and membership_of(user, company.id).can_finance
    assert membership_of(main, company.id).role == rules.MAIN  # the other main user stays


@pytest.mark.parametrize("rights", [R.JOINTLY, R.NONE])
def test_register_list_refuses_without_sole_rights(app, client, db, rights):
    snapshot(app, (NEW_NUMBER, "SIA Bērziņa Darbnīca", LIGA, rights))
    person(app, kind="natural", role="self")
    trusted(client)
    r = post_form(client, f"/main-user/register/{NEW_NUMBER}", {}, page="/dashboard")
    assert r.status_code == 303
    assert not models.Client.select().where(models.Client.registration_number == NEW_NUMBER).exists()


def test_register_list_needs_an_e_identity_session(app, client, db):
    snapshot(app, (NEW_NUMBER, "SIA Bērziņa Darbnīca", LIGA, R.ALONE))
    person(app, kind="natural", role="self")
    login(client, "liga@example.lv")
    r = post_form(client, f"/main-user/register/{NEW_NUMBER}", {}, page="/dashboard")
    assert r.status_code == 404
    assert not models.Client.select().where(models.Client.registration_number == NEW_NUMBER).exists()


@pytest.mark.parametrize("number", ["1", "4000300000%2F", "%00", "x" * 300])
def test_register_list_with_a_bad_number_is_404(app, client, db, number):
    person(app, kind="natural", role="self")
    trusted(client)
    assert post_form(client, f"/main-user/register/{number}", {}, page="/dashboard").status_code == 404


# --- Another company's page is not there -----------------------------------------------------------

def test_another_persons_company_answers_404(app, client, db):
    other, theirs = person(app, email="other@example.lv", phone="+37121111113", code=OTHER)
    main, mine = person(app, role="main")
    staff = create_user(app, email="staff@example.lv", phone="+37121111114", staff_role="admin")
    trusted(client)
    for url in (f"/companies/{theirs}/main-user", f"/companies/{mine}/main-user", "/companies/999999/main-user",
                "/companies/99999999999999999999/main-user"):
        assert client.get(url).status_code == 404, url
    for url in (f"/companies/{theirs}/main-user/eid", f"/companies/{theirs}/main-user/authorisation"):
        assert post_form(client, url, {"registration_number": NUMBER}, page="/dashboard").status_code == 404, url
    assert models.MainUserRequest.select().count() == 0
    sign_out(client)
    assert login(client, staff.email).status_code == 303
    assert client.get(f"/companies/{theirs}/main-user").status_code == 404


# --- By a signed authorisation, and the staff queue --------------------------------------------------

def send_authorisation(client, company, data=None, name="pilnvara.pdf"):
    return post_form(client, f"/companies/{company}/main-user/authorisation",
                     {"files": (io.BytesIO(data or pdf()), name)}, page=f"/companies/{company}/main-user",
                     content_type="multipart/form-data")


def test_upload_asks_staff_and_waits(app, client, db):
    user, company = person(app)
    login(client, "liga@example.lv")
    r = send_authorisation(client, company)
    assert r.status_code == 303
    [request] = models.MainUserRequest.select()
    assert (request.user_id, request.client_id, request.status) == (user.id, company, R.WAITING)
    assert models.StoredFile.get_by_id(request.stored_file_id).client_id == company
    page = client.get(f"/companies/{company}/main-user").get_data(as_text=True)
    assert 'id="main-user-request"' in page and 'action="/companies/%d/main-user/authorisation"' % company not in page
    assert send_authorisation(client, company).status_code == 303  # one waiting request at a time
    assert models.MainUserRequest.select().count() == 1
    assert len(audit("main_user.requested")) == 1


@pytest.mark.parametrize("data, name", [(exe(), "pilnvara.exe"), (exe(), "pilnvara.pdf"), (b"%PDF", "mazs.pdf"),
                                        (b"", "")])
def test_a_refused_file_asks_nothing(app, client, db, data, name):
    user, company = person(app)
    login(client, "liga@example.lv")
    r = post_form(client, f"/companies/{company}/main-user/authorisation",
                  {"files": (io.BytesIO(data), name)} if name else {},
                  page=f"/companies/{company}/main-user", content_type="multipart/form-data")
    assert r.status_code == 422
    assert models.MainUserRequest.select().count() == 0 and models.StoredFile.select().count() == 0


def staff_user(app, role="supervisor", email="sup@example.lv"):
    return create_user(app, email=email, phone="+37121111115" if role == "supervisor" else "+37121111116",
                       staff_role=role)


def waiting_request(app, client):
    user, company = person(app)
    login(client, "liga@example.lv")
    assert send_authorisation(client, company).status_code == 303
    sign_out(client)
    return user, company, models.MainUserRequest.get()


def decide(client, request_id, decision, note=""):
    return post_form(client, f"/staff/main-user-requests/{request_id}", {"decision": decision, "note": note},
                     page=f"/staff/main-user-requests/{request_id}")


@pytest.mark.postgres
def test_supervisor_grants_and_the_client_is_told(app, client, db, mailbox):
    user, company, request = waiting_request(app, client)
    staff = staff_user(app)
    login(client, staff.email)
    queue = client.get("/staff/main-user-requests").get_data(as_text=True)
    assert f'id="main-user-request-{request.id}"' in queue
    page = client.get(f"/staff/main-user-requests/{request.id}").get_data(as_text=True)
    assert "pilnvara.pdf" in page
    download = client.get(f"/staff/main-user-requests/{request.id}/file")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert download.data == pdf() and len(audit("main_user.file_downloaded")) == 1
    assert decide(client, request.id, "grant", "Pārbaudīts.").status_code == 303
    assert membership_of(user, company).role == rules.MAIN
    assert models.MainUserRequest.get_by_id(request.id).status == R.GRANTED
    [note] = models.Notification.select().where(models.Notification.template == "main_user_granted")
    assert (note.channel, note.recipient) == ("email", user.email)
    [row] = audit("main_user.granted")
    assert row.user_id == staff.id and row.client_id == company
    assert f'id="main-user-request-{request.id}"' not in client.get("/staff/main-user-requests").get_data(as_text=True)
    assert decide(client, request.id, "refuse", "Par vēlu.").status_code == 303  # decided already
    assert models.MainUserRequest.get_by_id(request.id).status == R.GRANTED
    run_jobs(app)
    assert "main user" in mailbox.last_text(user.email) or "galvenais" in mailbox.last_text(user.email)


def test_refusing_needs_a_note_and_tells_the_client_by_email_and_sms(app, client, db):
    user, company, request = waiting_request(app, client)
    login(client, staff_user(app).email)
    assert decide(client, request.id, "refuse").status_code == 422
    assert decide(client, request.id, "maybe", "x").status_code == 422
    assert models.MainUserRequest.get_by_id(request.id).status == R.WAITING
    assert decide(client, request.id, "refuse", "Paraksts nav derīgs.").status_code == 303
    assert membership_of(user, company).role == rules.REGISTRANT
    sent = models.Notification.select().where(models.Notification.template == "main_user_refused")
    assert sorted(n.channel for n in sent) == ["email", "sms"]
    sign_out(client)
    login(client, "liga@example.lv")
    page = client.get(f"/companies/{company}/main-user").get_data(as_text=True)
    assert "Paraksts nav derīgs." in page and f'action="/companies/{company}/main-user/authorisation"' in page


def test_granting_after_the_membership_was_revoked_changes_nothing(app, client, db):
    user, company, request = waiting_request(app, client)
    models.Membership.update(revoked_at=models.utcnow()).where(models.Membership.user == user).execute()
    login(client, staff_user(app).email)
    assert decide(client, request.id, "grant").status_code == 303
    assert models.MainUserRequest.get_by_id(request.id).status == R.WAITING
    assert membership_of(user, company).role == rules.REGISTRANT


def test_only_supervisors_and_above_see_the_queue(app, client, db):
    user, company, request = waiting_request(app, client)
    login(client, staff_user(app, "consultant", "cons@example.lv").email)
    for url in ("/staff/main-user-requests", f"/staff/main-user-requests/{request.id}",
                f"/staff/main-user-requests/{request.id}/file"):
        assert client.get(url).status_code == 404, url
    sign_out(client)
    login(client, "liga@example.lv")
    assert client.get("/staff/main-user-requests").status_code == 404
    sign_out(client)
    login(client, staff_user(app).email)
    assert client.get("/staff/main-user-requests/999999").status_code == 404
    assert decide(client, 999999, "grant").status_code == 404
    assert 'href="/staff/main-user-requests"' in client.get("/staff").get_data(as_text=True)


@pytest.mark.parametrize("template, channel", [("main_user_granted", "email"), ("main_user_refused", "email"),
                                               ("main_user_refused", "sms")])
@pytest.mark.parametrize("language", ["lv", "en"])
def test_the_messages_render_in_each_language(app, db, template, channel, language):
    from tasks.notifications import render_notification
    user = create_user(app)
    with app.app_context():
        with models.action():
            row = models.Notification.queue(channel, "x@example.lv", template, language=language, user=user,
                                            company="SIA Demo Būve", note="Paraksts nav derīgs.")
        subject, text, html = render_notification(row)
    assert "SIA Demo Būve" in text
    if channel == "email":
        assert subject and "Paraksts nav derīgs." in text and "SIA Demo Būve" in html


# --- End to end through a real OpenID Connect broker on loopback -----------------------------------

@pytest.fixture
def eid_client(eid_app):
    return eid_app.test_client()


def test_password_session_signs_in_with_e_identity_on_the_page_and_becomes_main_user(eid_app, eid_client):
    """The registrant signed in with a password presses the e-identity button on the main-user
    page, signs in at the broker (the same person: the account's linked identity), comes back to
    the page, and the register confirms them."""
    from test_eid import JANIS, choose_at_broker, linked_user, local_path
    snapshot(eid_app, (NUMBER, "SIA Demo Būve", JANIS, R.ALONE))
    user = linked_user(eid_app)
    with eid_app.app_context(), models.db.connection_context():
        company = models.Client.create(kind="legal", name="")
        models.Membership.grant(user, company, rules.REGISTRANT)
    assert login(eid_client, "janis@example.lv").status_code == 303
    page = f"/companies/{company.id}/main-user"
    away = eid_client.get(f"/eid/test/start?next={page}")
    assert away.status_code == 303
    back = eid_client.get(local_path(choose_at_broker(away.headers["Location"], "janis", False)))
    assert back.status_code == 303 and back.headers["Location"].endswith(page)
    html = eid_client.get(page).get_data(as_text=True)
    assert f'action="/companies/{company.id}/main-user/eid"' in html and 'name="registration_number"' in html
    assert confirm(eid_client, company.id, NUMBER).status_code == 303
    with eid_app.app_context(), models.db.connection_context():
        assert membership_of(user, company.id).role == rules.MAIN
        assert models.Client.get_by_id(company.id).name == "SIA Demo Būve"  # the register's name, it had none


def test_two_files_or_an_over_long_note_are_refused_without_a_500(app, client, db):
    user, company = person(app)
    login(client, "liga@example.lv")
    r = post_form(client, f"/companies/{company}/main-user/authorisation",
                  {"files": [(io.BytesIO(pdf()), "a.pdf"), (io.BytesIO(pdf()), "b.pdf")]},
                  page=f"/companies/{company}/main-user", content_type="multipart/form-data")
    assert r.status_code == 422 and models.MainUserRequest.select().count() == 0
    assert send_authorisation(client, company).status_code == 303
    sign_out(client)
    login(client, staff_user(app).email)
    request = models.MainUserRequest.get()
    assert decide(client, request.id, "refuse", "x" * (R.MAX_NOTE + 1)).status_code == 422
    assert models.MainUserRequest.get_by_id(request.id).status == R.WAITING


@pytest.mark.postgres
def test_two_board_members_making_the_same_company_a_client_at_once_make_it_once(app, db, monkeypatch):
    """Both sign alone for a company the portal does not know, and press at the same moment:
    one client, both its main users (SQLite writes one at a time; PostgreSQL locks the snapshot)."""
    import threading
    import time
    from models.register import become_main_user
    snapshot(app, (NEW_NUMBER, "SIA Bērziņa Darbnīca", LIGA, R.ALONE),
             (NEW_NUMBER, "SIA Bērziņa Darbnīca", OTHER, R.ALONE))
    liga, _ = person(app, kind="natural", role="self")
    other, _ = person(app, email="other@example.lv", phone="+37121111113", code=OTHER, kind="natural", role="self")
    grant = models.Membership.grant.__func__

    def slow_grant(cls, *args, **kwargs):  # the company made, the transaction still open a while
        made = grant(cls, *args, **kwargs)
        time.sleep(0.4)
        return made
    monkeypatch.setattr(models.Membership, "grant", classmethod(slow_grant))
    errors = []

    def press(user):
        try:
            with app.app_context(), models.db.connection_context(), models.action():
                become_main_user(user, NEW_NUMBER)
        except Exception as error:  # reported below, not lost in the thread
            errors.append(error)
    threads = [threading.Thread(target=press, args=(u,)) for u in (liga, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []
    [company] = models.Client.select().where(models.Client.registration_number == NEW_NUMBER)
    assert membership_of(liga, company.id).role == membership_of(other, company.id).role == rules.MAIN


# --- Staff, after a visit (CMP-2): granting main-user rights, and taking them away -----------------

def visit_company(app, number=NUMBER, name="SIA Vizīte"):
    """A company client with a registrant (no main user yet); returns (registrant, company id)."""
    user, company = person(app, email="reg@example.lv", phone="+37121111120", code=None)
    with app.app_context(), models.db.connection_context():
        models.Client.update(registration_number=number, name=name).where(models.Client.id == company).execute()
    return user, company


def grant_at_visit(client, company, who, note="Pase un reģistra izziņa pārbaudīta klātienē."):
    return post_form(client, f"/staff/main-users/{company}", {"person": who, "note": note},
                     page=f"/staff/main-users/{company}")


def remove_main(client, company, membership_id, note="Vairs nestrādā uzņēmumā.", confirm=False):
    data = {f"main-user-{membership_id}-note": note}
    if confirm:
        data[f"main-user-{membership_id}-last_confirmed"] = "y"
    return post_form(client, f"/staff/main-users/{company}/{membership_id}/remove", data,
                     page=f"/staff/main-users/{company}")


@pytest.mark.postgres
def test_supervisor_finds_the_company_and_grants_main_user_rights_after_a_visit(app, client, db):
    registrant, company = visit_company(app)
    visitor, _own = person(app, email="liga@example.lv", phone="+37121111112", code=LIGA, kind="natural",
                           role="self")
    staff = staff_user(app)
    login(client, staff.email)
    assert 'href="/staff/main-users"' in client.get("/staff/main-user-requests").get_data(as_text=True)
    by_number = client.get("/staff/main-users?q=400030+00001").get_data(as_text=True)
    assert f'href="/staff/main-users/{company}"' in by_number
    by_name = client.get("/staff/main-users?q=vizīte", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'href="/staff/main-users/{company}"' in by_name and "<html" not in by_name
    assert f'href="/staff/main-users/{company}"' not in client.get("/staff/main-users?q=Cits").get_data(as_text=True)
    assert 'id="no-main-user"' in client.get(f"/staff/main-users/{company}").get_data(as_text=True)
    # by the personal code (any way it is written), the account its e-identity signs in to
    assert grant_at_visit(client, company, "020279-10002").status_code == 303
    found = membership_of(visitor, company)
    assert (found.role, found.can_manage_users, found.revoked_at) == (rules.MAIN, True, None)
    [row] = audit("main_user.granted_at_visit")
    assert (row.user_id, row.client_id, row.actor) == (staff.id, company, "staff")
    assert row.details["client_user"] == visitor.id and "klātienē" in row.details["note"]
    [note] = models.Notification.select().where(models.Notification.template == "main_user_granted")
    assert (note.channel, note.recipient) == ("email", visitor.email)
    page = client.get(f"/staff/main-users/{company}").get_data(as_text=True)
    assert f'id="main-user-{found.id}"' in page and 'id="no-main-user"' not in page
    # by e-mail: the registrant's membership turns into a main user's
    assert grant_at_visit(client, company, "REG@example.lv").status_code == 303
    assert membership_of(registrant, company).role == rules.MAIN


def test_grant_after_a_visit_closes_the_persons_waiting_request(app, client, db):
    user, company, request = waiting_request(app, client)
    login(client, staff_user(app).email)
    assert f'href="/staff/main-user-requests/{request.id}"' in client.get(f"/staff/main-users/{company}").get_data(
        as_text=True)
    assert grant_at_visit(client, company, "liga@example.lv").status_code == 303
    assert models.MainUserRequest.get_by_id(request.id).status == R.GRANTED
    assert f'id="main-user-request-{request.id}"' not in client.get("/staff/main-user-requests").get_data(as_text=True)


def test_grant_after_a_visit_needs_a_known_person_and_a_note(app, client, db):
    registrant, company = visit_company(app)
    staff_user(app, role="admin", email="admin@example.lv")
    login(client, "admin@example.lv")
    for who, note in [("nobody@example.lv", "Pārbaudīts."), ("999999-99999", "Pārbaudīts."),
                      ("admin@example.lv", "Pārbaudīts."), ("reg@example.lv", "  "), ("", "x"),
                      ("x" * 5000, "x"), ("reg@example.lv", "y" * 5000)]:
        r = grant_at_visit(client, company, who, note)
        assert r.status_code == 422, who
        assert 'class="field-error"' in r.get_data(as_text=True)
    assert membership_of(registrant, company).role == rules.REGISTRANT
    assert not audit("main_user.granted_at_visit")


def test_staff_take_main_user_rights_away_and_the_last_one_only_when_they_confirm(app, client, db):
    registrant, company = visit_company(app)
    staff = staff_user(app)
    login(client, staff.email)
    assert grant_at_visit(client, company, "reg@example.lv").status_code == 303
    only = membership_of(registrant, company)
    r = remove_main(client, company, only.id)  # the last main user, not confirmed
    assert r.status_code == 422 and f'id="main-user-{only.id}-last_confirmed-error"' in r.get_data(as_text=True)
    assert membership_of(registrant, company).can_manage_users
    assert remove_main(client, company, only.id, note="").status_code == 422
    assert remove_main(client, company, only.id, confirm=True).status_code == 303
    after = membership_of(registrant, company)
    assert (after.role, after.can_manage_users, after.revoked_at) == (rules.COLLEAGUE, False, None)
    assert after.can_documents and not after.own_items_only
    [row] = audit("main_user.removed")
    assert row.details["last"] is True and row.client_id == company
    sent = models.Notification.select().where(models.Notification.template == "main_user_removed")
    assert sorted(n.channel for n in sent) == ["email", "sms"]
    assert 'id="no-main-user"' in client.get(f"/staff/main-users/{company}").get_data(as_text=True)
    assert remove_main(client, company, only.id, confirm=True).status_code == 404  # not a main user now
    # with two main users one may go without the box
    other, _own = person(app, email="liga@example.lv", phone="+37121111112", code=LIGA, kind="natural", role="self")
    assert grant_at_visit(client, company, "reg@example.lv").status_code == 303
    assert grant_at_visit(client, company, "liga@example.lv").status_code == 303
    assert remove_main(client, company, membership_of(other, company).id).status_code == 303
    assert membership_of(registrant, company).can_manage_users and not membership_of(other, company).can_manage_users


def test_only_supervisors_reach_the_main_user_pages(app, client, db):
    registrant, company = visit_company(app)
    login(client, "reg@example.lv")
    for url in ("/staff/main-users", f"/staff/main-users/{company}"):
        assert client.get(url).status_code == 404
    assert grant_at_visit(client, company, "reg@example.lv").status_code == 404
    sign_out(client)
    login(client, staff_user(app, role="consultant", email="cons@example.lv").email)
    assert client.get(f"/staff/main-users/{company}").status_code == 404
    sign_out(client)
    login(client, staff_user(app).email)
    assert client.get(f"/staff/main-users/{company + 999}").status_code == 404
    with models.action():
        private = models.Client.create(kind="natural", name="Privātais")
    assert client.get(f"/staff/main-users/{private.id}").status_code == 404
    assert remove_main(client, company, 99999, confirm=True).status_code == 404
