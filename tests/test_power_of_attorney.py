"""Powers of attorney (issue 13, seed 003): a person uploads one for a company they act for, with
the rights it grants; a supervisor verifies it (its validity set: the rights granted) or refuses it
with a note; the access it gave ends by itself when it expires, with a notice 14 days before (once);
the staff page of a document that needs authority shows the submitter's authority."""
import io
from datetime import date, datetime, timedelta

import pytest

import models
import rules
from conftest import create_user, login, post_form
from fixtures_files import exe, pdf
from rules import power_of_attorney as P
from test_main_user import LIGA, sign_out, snapshot, staff_user

NUMBER = "40003000001"

# Conditional updates, dates compared in SQL, the membership uniqueness: on both databases.
pytestmark = pytest.mark.postgres


def colleague(app, email="karlis@example.lv", phone="+37121111117", revoked=False):
    """A colleague of a legal company (default rights: documents, submit, messages; no finance),
    the company having a main user; returns (colleague, main user, company id)."""
    main = create_user(app, email="main@example.lv", phone="+37121111118", kind="legal", role=rules.MAIN)
    with app.app_context(), models.db.connection_context():
        company = models.Membership.get(models.Membership.user == main).client
        company.registration_number = NUMBER
        company.save()
        user = models.User.create(email=email, phone=phone, password_hash=models.hash_password("Parole-123-garā"))
        models.Membership.grant(user, company, rules.COLLEAGUE, revoked_at=models.utcnow() if revoked else None)
    return user, main, company.id


def send(client, company, rights=("finance",), data=None, name="pilnvara.pdf"):
    form = {f"can_{r}": "y" for r in rights}
    form["files"] = (io.BytesIO(data if data is not None else pdf()), name)
    return post_form(client, f"/companies/{company}/power-of-attorney", form,
                     page=f"/companies/{company}/power-of-attorney", content_type="multipart/form-data")


def decide(client, poa_id, decision, note="", start="", end="", rights=("finance",), **more):
    """Staff's decision; ``rights``: what staff read the power of attorney as granting."""
    return post_form(client, f"/staff/powers-of-attorney/{poa_id}",
                     {"decision": decision, "note": note, "valid_from": start, "valid_until": end,
                      **{f"can_{r}": "y" for r in rights}, **more},
                     page=f"/staff/powers-of-attorney/{poa_id}")


def membership(user, company):
    return models.Membership.get(models.Membership.user == user, models.Membership.client == company)


def audit(action):
    return list(models.AuditLog.select().where(models.AuditLog.action == action))


def waiting(app, client, rights=("finance",)):
    user, main, company = colleague(app)
    assert login(client, user.email, password="Parole-123-garā").status_code == 303
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert f'href="/companies/{company}/power-of-attorney"' in dashboard
    assert client.get(f"/companies/{company}/power-of-attorney").status_code == 200
    assert send(client, company, rights).status_code == 303
    assert send(client, company, rights).status_code == 303  # one waiting at a time
    assert models.PowerOfAttorney.select().count() == 1
    page = client.get(f"/companies/{company}/power-of-attorney").get_data(as_text=True)
    assert 'id="power-of-attorney-' in page and 'enctype="multipart/form-data"' not in page
    sign_out(client)
    return user, main, company, models.PowerOfAttorney.get()


def test_upload_verify_grants_the_rights_and_tells_the_person(app, client, db):
    user, main, company, poa = waiting(app, client, ("documents", "finance"))
    assert (poa.status, poa.rights_list, poa.user_id) == (P.WAITING, ["documents", "finance"], user.id)
    assert len(audit("power_of_attorney.uploaded")) == 1
    assert not membership(user, company).can_finance
    login(client, staff_user(app).email)
    assert f'id="power-of-attorney-{poa.id}"' in client.get("/staff/powers-of-attorney").get_data(as_text=True)
    assert "pilnvara.pdf" in client.get(f"/staff/powers-of-attorney/{poa.id}").get_data(as_text=True)
    download = client.get(f"/staff/powers-of-attorney/{poa.id}/file")
    assert download.status_code == 200 and download.data == pdf()
    today = date.today()
    assert decide(client, poa.id, "verify", start=today.isoformat(), end=(today + timedelta(days=60)).isoformat(),
                  rights=("documents", "finance")).status_code == 303
    found = models.PowerOfAttorney.get_by_id(poa.id)
    assert (found.status, found.valid_until, found.added_rights) == (P.VERIFIED, today + timedelta(days=60), "finance")
    assert membership(user, company).can_finance and membership(user, company).revoked_at is None
    [row] = audit("power_of_attorney.verified")
    assert row.client_id == company
    [note] = models.Notification.select().where(models.Notification.template == "poa_verified")
    assert (note.channel, note.recipient) == ("email", user.email)
    assert decide(client, poa.id, "refuse", "Par vēlu.").status_code == 303  # decided already
    assert models.PowerOfAttorney.get_by_id(poa.id).status == P.VERIFIED


def test_refuse_needs_a_note_grants_nothing_and_tells_the_person(app, client, db):
    user, main, company, poa = waiting(app, client)
    login(client, staff_user(app).email)
    assert decide(client, poa.id, "refuse").status_code == 422
    assert decide(client, poa.id, "verify").status_code == 422  # no dates
    assert decide(client, poa.id, "verify", start="2026-05-01", end="2026-04-01").status_code == 422
    assert models.PowerOfAttorney.get_by_id(poa.id).status == P.WAITING
    assert decide(client, poa.id, "refuse", "Paraksts nav derīgs.").status_code == 303
    assert models.PowerOfAttorney.get_by_id(poa.id).status == P.REFUSED
    assert not membership(user, company).can_finance
    assert models.Notification.select().where(models.Notification.template == "poa_refused").count() == 1
    assert len(audit("power_of_attorney.refused")) == 1
    sign_out(client)
    login(client, user.email, password="Parole-123-garā")
    assert "Paraksts nav derīgs." in client.get(f"/companies/{company}/power-of-attorney").get_data(as_text=True)


def verified(poa, until, start=None):
    with models.action():
        assert poa.decide(True, None, "", start or date(2026, 1, 1), until)


def test_expiry_takes_back_the_rights_it_added_and_notices_once(app, client, db):
    user, main, company, poa = waiting(app, client)
    until = models.utcnow().date() + timedelta(days=30)
    verified(poa, until)
    assert membership(user, company).can_finance
    now = datetime.combine(until - timedelta(days=20), datetime.min.time())
    models.expire_powers_of_attorney(now)  # more than 14 days before: no notice yet
    assert models.Notification.select().where(models.Notification.template == "poa_expiring").count() == 0
    now = datetime.combine(until - timedelta(days=14), datetime.min.time())
    models.expire_powers_of_attorney(now)
    models.expire_powers_of_attorney(now + timedelta(days=1))
    told = sorted(n.recipient for n in models.Notification.select().where(
        models.Notification.template == "poa_expiring"))
    assert told == sorted([user.email, main.email])
    assert models.expire_powers_of_attorney(datetime.combine(until, datetime.min.time())) == 0  # its last day
    assert membership(user, company).can_finance
    assert models.expire_powers_of_attorney(datetime.combine(until + timedelta(days=1), datetime.min.time())) == 1
    after = membership(user, company)
    assert not after.can_finance and after.can_documents and after.revoked_at is None
    assert models.PowerOfAttorney.get_by_id(poa.id).status == P.EXPIRED
    [row] = audit("power_of_attorney.expired")
    assert row.client_id == company and row.actor == "scheduler"


def test_expiry_revokes_a_membership_it_created_by_the_scheduled_clean_up(app, client, db):
    user, main, company, poa = waiting(app, client)
    models.Membership.update(revoked_at=models.utcnow()).where(models.Membership.user == user).execute()
    until = models.utcnow().date() + timedelta(days=30)
    verified(poa, until)
    assert membership(user, company).revoked_at is None and membership(user, company).can_finance
    assert models.PowerOfAttorney.get_by_id(poa.id).created_membership
    models.clean_expired(datetime.combine(until + timedelta(days=1), datetime.min.time()))
    assert membership(user, company).revoked_at is not None


def test_verified_ahead_of_its_first_day_gives_access_from_that_day(app, client, db):
    user, main, company, poa = waiting(app, client)
    start = models.utcnow().date() + timedelta(days=3)
    verified(poa, start + timedelta(days=30), start=start)
    assert not membership(user, company).can_finance
    models.expire_powers_of_attorney(datetime.combine(start - timedelta(days=1), datetime.min.time()))
    assert not membership(user, company).can_finance
    models.expire_powers_of_attorney(datetime.combine(start, datetime.min.time()))
    assert membership(user, company).can_finance


def test_expiry_leaves_a_membership_it_did_not_create(app, client, db):
    user, main, company, poa = waiting(app, client, ("documents",))  # the colleague has it already
    until = models.utcnow().date() + timedelta(days=30)
    verified(poa, until)
    assert models.expire_powers_of_attorney(datetime.combine(until + timedelta(days=1), datetime.min.time())) == 1
    after = membership(user, company)
    assert after.revoked_at is None and after.can_documents


def test_outside_scope_is_404(app, client, db):
    user, main, company, poa = waiting(app, client)
    create_user(app, email="other@example.lv", phone="+37121111119", kind="legal", role=rules.MAIN)
    login(client, "other@example.lv")
    assert client.get(f"/companies/{company}/power-of-attorney").status_code == 404
    assert send(client, company).status_code == 404
    assert client.get("/staff/powers-of-attorney").status_code == 404
    assert client.get(f"/staff/powers-of-attorney/{poa.id}").status_code == 404
    sign_out(client)
    login(client, staff_user(app, role="consultant", email="cons@example.lv").email)
    assert client.get("/staff/powers-of-attorney").status_code == 404  # supervisors and above
    sign_out(client)
    login(client, staff_user(app).email)
    assert client.get(f"/staff/powers-of-attorney/{poa.id + 999}").status_code == 404


@pytest.mark.parametrize("rights, data, name", [((), None, "pilnvara.pdf"), (("submit",), None, "pilnvara.pdf"),
                                                (("finance",), exe(), "pilnvara.exe"),
                                                (("finance",), b"", ""), (("finance", "bogus"), b"%PDF", "x.pdf")])
def test_hostile_upload_is_refused_without_a_500(app, client, db, rights, data, name):
    user, main, company = colleague(app)
    login(client, user.email, password="Parole-123-garā")
    assert send(client, company, rights, data, name).status_code == 422
    assert models.PowerOfAttorney.select().count() == 0


@pytest.mark.parametrize("form", [{"decision": "verify", "valid_from": "x" * 5000, "valid_until": "2026-13-45"},
                                  {"decision": "\u202e" * 100, "note": "<script>"},
                                  {"decision": "verify", "valid_from": "1900-01-01", "valid_until": "2999-01-01"}])
def test_hostile_decision_is_refused_without_a_500(app, client, db, form):
    user, main, company, poa = waiting(app, client)
    login(client, staff_user(app).email)
    r = post_form(client, f"/staff/powers-of-attorney/{poa.id}", form, page=f"/staff/powers-of-attorney/{poa.id}")
    assert r.status_code == 422
    assert models.PowerOfAttorney.get_by_id(poa.id).status == P.WAITING


def document_of(app, user, company):
    from models.documents import Document
    with models.action():
        return Document.start(models.Client.get_by_id(company), "loan_application", user).id


def authority_shown(client, app, document_id):
    page = client.get(f"/staff/documents/{document_id}").get_data(as_text=True)
    assert 'id="signing-authority"' in page
    return page.split('data-authority="')[1].split('"')[0]


def test_staff_document_page_shows_the_submitters_authority(app, client, db):
    user, main, company, poa = waiting(app, client)
    document_id = document_of(app, user, company)
    login(client, staff_user(app).email)
    assert authority_shown(client, app, document_id) == P.NEITHER
    verified(poa, models.utcnow().date() + timedelta(days=30))
    assert authority_shown(client, app, document_id) == P.ATTORNEY
    with models.action():  # the register shows the submitter signing jointly
        identity = models.DigitalIdentity.create(code_hash=app.extensions["keys"].mac("personal-code", LIGA))
        identity.link(models.User.get_by_id(user.id))
    snapshot(app, (NUMBER, "Test client", LIGA, "jointly"))
    assert authority_shown(client, app, document_id) == P.REGISTER


def test_the_staff_area_links_the_queue_for_supervisors(app, client, db):
    login(client, staff_user(app).email)
    assert 'href="/staff/powers-of-attorney"' in client.get("/staff").get_data(as_text=True)


@pytest.mark.parametrize("template", ["poa_verified", "poa_refused", "poa_expiring", "poa_access_given"])
@pytest.mark.parametrize("language", ["lv", "en"])
def test_the_messages_render_in_each_language(app, db, template, language):
    from tasks.notifications import render_notification
    user = create_user(app)
    with app.app_context():
        with models.action():
            row = models.Notification.queue("email", "x@example.lv", template, language=language, user=user,
                                            company="SIA Demo Būve", note="Paraksts nav derīgs.",
                                            valid_until="2026-12-31", person="Kārlis")
        subject, text, html = render_notification(row)
    assert subject and "SIA Demo Būve" in text and "SIA Demo Būve" in html
    assert ("2026-12-31" in text) == (template != "poa_refused")


# --- A company the person does not act for yet (issue 13) ----------------------------------------

def outsider(app, email="janis@example.lv", phone="+37121111121"):
    """A person with only their private account; the company (with its main user) exists."""
    _colleague, main, company = colleague(app)
    user = create_user(app, email=email, phone=phone)
    return user, main, company


def send_by_number(client, number, rights=("finance",), data=None, name="pilnvara.pdf"):
    form = {f"can_{r}": "y" for r in rights}
    form["registration_number"] = number
    form["files"] = (io.BytesIO(data if data is not None else pdf()), name)
    return post_form(client, "/power-of-attorney", form, page="/power-of-attorney",
                     content_type="multipart/form-data")


def test_a_person_sends_one_for_a_company_they_do_not_act_for_and_staff_set_the_rights(app, client, db):
    user, main, company = outsider(app)
    login(client, user.email)
    assert 'href="/power-of-attorney"' in client.get("/dashboard").get_data(as_text=True)
    assert client.get(f"/companies/{company}/power-of-attorney").status_code == 404  # not their company
    assert send_by_number(client, "400 0300 0001", ("finance", "documents")).status_code == 303
    assert send_by_number(client, NUMBER).status_code == 303  # one waiting at a time
    [poa] = list(models.PowerOfAttorney.select())
    assert (poa.client_id, poa.user_id, poa.rights_list) == (company, user.id, ["documents", "finance"])
    page = client.get("/power-of-attorney").get_data(as_text=True)
    assert f'id="power-of-attorney-{poa.id}"' in page
    sign_out(client)
    login(client, staff_user(app).email)
    page = client.get(f"/staff/powers-of-attorney/{poa.id}").get_data(as_text=True)
    assert 'checked id="can_finance"' in page and 'checked id="can_services"' not in page  # what they asked
    today = date.today()
    # staff read the power of attorney as granting documents and messages, not finance
    assert decide(client, poa.id, "verify", start=today.isoformat(), end=(today + timedelta(days=30)).isoformat(),
                  rights=("documents", "messages")).status_code == 303
    granted = membership(user, company)
    assert (granted.role, granted.revoked_at, granted.own_items_only) == (rules.COLLEAGUE, None, False)
    assert (granted.can_documents, granted.can_messages, granted.can_finance, granted.can_manage_users) == (
        True, True, False, False)
    assert models.PowerOfAttorney.get_by_id(poa.id).rights_list == ["documents", "messages"]
    [told] = models.Notification.select().where(models.Notification.template == "poa_access_given")
    assert told.recipient == main.email
    models.expire_powers_of_attorney(datetime.combine(today + timedelta(days=31), datetime.min.time()))
    assert membership(user, company).revoked_at is not None


def test_a_number_no_client_has_is_found_in_the_register_or_refused(app, client, db):
    user, main, company = outsider(app)
    snapshot(app, ("40003000077", "SIA Reģistrā", LIGA, "alone"))
    login(client, user.email)
    r = send_by_number(client, "40003000099")
    assert r.status_code == 422 and 'id="registration_number-error"' in r.get_data(as_text=True)
    assert send_by_number(client, "12345").status_code == 422
    assert send_by_number(client, "4" * 5000).status_code == 422
    assert send_by_number(client, NUMBER, rights=()).status_code == 422
    assert models.PowerOfAttorney.select().count() == 0 and models.StoredFile.select().count() == 0
    assert send_by_number(client, "40003000077").status_code == 303
    [poa] = list(models.PowerOfAttorney.select())
    made = models.Client.get_by_id(poa.client_id)
    assert (made.kind, made.name, made.registration_number) == ("legal", "SIA Reģistrā", "40003000077")


def test_staff_must_set_valid_rights(app, client, db):
    user, main, company, poa = waiting(app, client)
    login(client, staff_user(app).email)
    today = date.today().isoformat()
    for rights in ((), ("submit",)):
        r = decide(client, poa.id, "verify", start=today, end="2030-01-01", rights=rights)
        assert r.status_code == 422 and 'class="field-error"' in r.get_data(as_text=True)
    assert models.PowerOfAttorney.get_by_id(poa.id).status == P.WAITING


def test_verifying_for_a_revoked_membership_needs_staffs_tick_and_gives_fresh_access(app, client, db):
    user, main, company, poa = waiting(app, client)  # a colleague with documents, submit, messages
    revoked_at = models.utcnow() - timedelta(days=2)
    models.Membership.update(revoked_at=revoked_at).where(models.Membership.user == user).execute()
    login(client, staff_user(app).email)
    page = client.get(f"/staff/powers-of-attorney/{poa.id}").get_data(as_text=True)
    assert 'id="power-of-attorney-revoked"' in page
    today = date.today()
    dates = {"start": today.isoformat(), "end": (today + timedelta(days=30)).isoformat()}
    r = decide(client, poa.id, "verify", **dates)
    assert r.status_code == 422 and 'id="confirm_revoked-error"' in r.get_data(as_text=True)
    assert membership(user, company).revoked_at is not None
    assert models.PowerOfAttorney.get_by_id(poa.id).status == P.WAITING
    assert decide(client, poa.id, "verify", confirm_revoked="y", **dates).status_code == 303
    fresh = membership(user, company)
    assert fresh.revoked_at is None and fresh.created_at > revoked_at
    # only what staff set: the rights the main user had taken away do not come back
    assert (fresh.can_finance, fresh.can_documents, fresh.can_submit, fresh.can_messages) == (True, False, False, False)
    [row] = audit("power_of_attorney.verified")
    assert row.details["revoked_before"] is True
    [told] = models.Notification.select().where(models.Notification.template == "poa_access_given")
    assert told.recipient == main.email
