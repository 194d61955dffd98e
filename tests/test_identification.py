"""Identification (issue 14; seed 004 §5, §8; ONB-8, ONB-9, ONB-12, ONB-13, STF-7): who identifies, the provider's signed
webhook (real signatures, tampering, a wrong secret, replays, unknown sessions, garbage), the
development provider's pages with real uploads, the representatives' personal links, staff's
results by hand, in person and video at an agreed time, and the stage on the task list."""
import json
import time
from datetime import datetime, timedelta
from io import BytesIO

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import adapters
import fixtures_files
import models
from adapters import identification as A
from conftest import assign_clients, create_user, login, post_form
from models import identification as M
from models.applications import Application
from models.identification import Identification, IdentificationEvent
from rules import LEGAL, NATURAL
from rules import identification as R
from rules import onboarding as O

ANNA, STAFF, OTHER = "anna@example.lv", "staff@example.lv", "other@example.lv"
REP = "rep1@example.lv"


# --- Rules ----------------------------------------------------------------------------------------

def _rep(name, email, represents=True):
    return {"full_name": name, "email": email, "represents": represents}


def test_who_identifies_follows_seed_004_section_5():
    data = {"representatives": [_rep("Anna Liepa", "ANNA@example.lv"), _rep("Rep One", REP),
                                _rep("Not Representing", "x@example.lv", represents=False),
                                _rep("Rep One again", REP)]}
    people = R.people_to_identify(LEGAL, ["L_ACCOUNT"], data, ANNA, "Anna Liepa")
    assert [(p.full_name, p.email, p.registrant) for p in people] == [
        ("Anna Liepa", ANNA, True), ("Rep One", REP, False)]
    for services in (["L_SAFEGUARD"], ["L_ACQUIRING", "L_RENEWAL"]):
        assert len(R.people_to_identify(LEGAL, services, data, ANNA, "Anna")) == 2
    # Renewal alone, e-commerce, a natural person: the registrant only, whoever the form names.
    for kind, services in ((LEGAL, ["L_RENEWAL"]), (LEGAL, ["L_ECOM"]), (NATURAL, ["N_NEW"])):
        assert R.people_to_identify(kind, services, data, ANNA, "Anna") == [R.Person("Anna", ANNA, True)]


def test_the_stage_is_done_only_when_everyone_passed_and_waits_on_people_otherwise():
    assert R.stage_status([]) is None
    assert R.stage_status([R.PASSED, R.PASSED]) == O.DONE
    assert R.stage_status([R.PASSED, R.STARTED]) == O.IN_PROGRESS
    for blocking in (R.WAITING, R.FAILED, R.REPEAT, R.IN_PERSON, R.SCHEDULED):
        assert R.stage_status([R.PASSED, R.STARTED, blocking]) == O.ACTION_NEEDED


def test_provider_results_map_to_ours():
    assert {w: R.result_of_provider(w) for w in ("approved", "declined", "retry", "APPROVED", None, 1)} == {
        "approved": R.PASSED, "declined": R.FAILED, "retry": R.REPEAT, "APPROVED": None, None: None, 1: None}


NOW = datetime(2026, 11, 16, 8, 0)  # Monday 16.11.2026, 10:00 in Riga


@pytest.mark.parametrize("local, ok", [
    (datetime(2026, 11, 16, 12, 0), True),     # Monday noon
    (datetime(2026, 11, 17, 9, 0), True),      # opening time
    (datetime(2026, 11, 17, 16, 45), True),    # the slot ends at 17:00
    (datetime(2026, 11, 17, 16, 50), False),   # ... would end at 17:05
    (datetime(2026, 11, 17, 8, 59), False),
    (datetime(2026, 11, 18, 12, 0), False),    # 18 November: a Latvian public holiday
    (datetime(2026, 11, 21, 12, 0), False),    # Saturday
    (datetime(2026, 11, 16, 9, 30), False),    # already past
])
def test_video_identification_only_in_working_hours_of_a_working_day(local, ok):
    assert (R.video_time_problem(local, NOW) is None) is ok


# --- The webhook codec ---------------------------------------------------------------------------

SECRET = b"shared-secret"


def test_a_real_signature_verifies_and_any_change_or_another_secret_does_not():
    body, headers = A.signed_webhook({"event": "e1", "session": "s1", "result": "approved"}, SECRET)
    found = A.parse_webhook(body, headers, SECRET, 300)
    assert (found.event, found.session, found.result) == ("e1", "s1", "approved")
    tampered = body.replace(b"approved", b"declined")
    for refused_body, secret in ((tampered, SECRET), (body, b"another-secret"), (body + b" ", SECRET)):
        with pytest.raises(A.WebhookRefused) as refused:
            A.parse_webhook(refused_body, headers, secret, 300)
        assert refused.value.status == 401
    with pytest.raises(A.WebhookRefused) as refused:
        A.parse_webhook(body, {}, SECRET, 300)
    assert (refused.value.status, refused.value.code) == (401, "missing signature")


def test_an_old_body_is_refused_even_when_signed():
    body, headers = A.signed_webhook({"event": "e1", "session": "s1", "result": "approved"}, SECRET,
                                     now=time.time() - 301)
    with pytest.raises(A.WebhookRefused) as refused:
        A.parse_webhook(body, headers, SECRET, 300)
    assert refused.value.status == 403


@pytest.mark.parametrize("body", [b"not json", b"[]", b"{}", b'{"event": "e", "session": "s", "result": "approved"}',
                                  b'{"event": 1, "session": "s", "result": "approved", "timestamp": 1}',
                                  "{\"event\": \"\u00e9\"}".encode("latin-1")])
def test_a_signed_but_malformed_body_is_a_400(body):
    with pytest.raises(A.WebhookRefused) as refused:
        A.parse_webhook(body, {A.SIGNATURE_HEADER: A.sign(body, SECRET)}, SECRET, 300)
    assert refused.value.status == 400


# --- Through the web -----------------------------------------------------------------------------

def _submitted(app, services=("L_ACCOUNT",), reps=None):
    """Anna's company with a submitted application naming Anna and Rep One as representatives who
    will represent it (and one who will not); identifications prepared as the submit does."""
    user = create_user(app, email=ANNA, full_name="Anna Liepa", kind=LEGAL, role="registrant")
    with app.test_request_context(), models.db.connection_context():
        from blueprints.identification import links
        client = models.Client.get(models.Client.id == models.Membership.get(models.Membership.user == user).client_id)
        client.name = "Zaļā Ēka SIA"
        client.save()
        application = Application.start(client, user, list(services))
        data = {"company_name": "Zaļā Ēka SIA", "representatives": reps if reps is not None else [
            _rep("Anna Liepa", ANNA), _rep("Rep One", REP), _rep("Silent", "silent@example.lv", False)]}
        with models.action():
            application.submit(data, user)
            M.prepare(application, user, links())
    return user, application


@pytest.fixture
def anna(app):
    user, application = _submitted(app)
    browser = app.test_client()
    login(browser, ANNA)
    return user, application, browser


def _row(application, email):
    return Identification.get(Identification.application == application.id, Identification.email == email,
                              Identification.kind == R.PHOTO)


def _webhook(app, session, result="approved", event="evt-1", **extra):
    secret = adapters.of(app).identification.secret
    return A.signed_webhook({"event": event, "session": session, "result": result, "reason": "", **extra}, secret)


def _post(app, body, headers):
    return app.test_client().post("/identification/webhook", data=body, headers=headers)


def _started(app, browser, application, email=ANNA):
    row = _row(application, email)
    r = post_form(browser, f"/applications/{application.id}/identification/{row.id}/start", {},
                  page=f"/applications/{application.id}/identification")
    assert r.status_code == 303, r.get_data(as_text=True)
    return r.headers["Location"], Identification.get_by_id(row.id)


def test_submitting_names_who_identifies_and_invites_the_other_representatives_by_email(app, db, anna):
    _user, application, browser = anna
    rows = M.of_application(application.id)
    assert [(r.full_name, r.user_id is not None, r.invited, r.status) for r in rows] == [
        ("Anna Liepa", True, False, R.WAITING), ("Rep One", False, True, R.WAITING)]
    invitation = models.Notification.get(models.Notification.template == "identification_invitation")
    assert invitation.recipient == REP and invitation.channel == "email"
    assert invitation.opened_params()["path"].startswith("/identification/invitation/")
    assert models.Notification.select().where(models.Notification.recipient == "silent@example.lv").count() == 0
    # Only the token's hash is kept.
    token = invitation.opened_params()["path"].rsplit("/", 1)[1]
    assert rows[1].token_hash == M.token_hash(token) and token not in rows[1].token_hash
    assert Application.get_by_id(application.id).progress[O.PHOTO_ID] == O.ACTION_NEEDED
    page = browser.get(f"/applications/{application.id}/identification").get_data(as_text=True)
    assert f'id="start-identification-{rows[0].id}"' in page and f'id="start-identification-{rows[1].id}"' not in page


def test_the_submit_in_the_web_prepares_the_identifications(app, db):
    from test_onboarding import _company, _representative
    create_user(app, email=ANNA, full_name="Anna Liepa", kind=LEGAL, role="registrant")
    browser = app.test_client()
    login(browser, ANNA)
    r = post_form(browser, "/applications", {"services": "L_ACCOUNT"}, page="/applications")
    edit = r.headers["Location"]
    r = post_form(browser, edit, {**_company(), **_representative(0, email=ANNA), **_representative(1),
                                  "action": "check"})
    assert r.status_code == 303, r.get_data(as_text=True)
    application = Application.get()
    r = post_form(browser, f"/applications/{application.id}/submit", {}, page=f"/applications/{application.id}/check")
    assert r.status_code == 303
    assert [(r.email, r.invited) for r in M.of_application(application.id)] == [(ANNA, False), ("rep1@example.lv", True)]
    dashboard = browser.get("/dashboard").get_data(as_text=True)
    assert f'href="/applications/{application.id}/identification"' in dashboard


@pytest.mark.postgres  # the application's progress rewritten under a row lock
def test_the_registrant_identifies_at_the_development_provider_and_the_stage_is_done(app, db, anna):
    _user, application, browser = anna
    target, row = _started(app, browser, application)
    assert target.startswith(f"/dev/identification/{row.session_ref}?next=") and row.status == R.STARTED
    page = browser.get(target)
    assert page.status_code == 200 and "Anna Liepa" in page.get_data(as_text=True)
    r = post_form(browser, target, {"outcome": "approved",
                                    "document_photo": (BytesIO(fixtures_files.png()), "pase.png"),
                                    "selfie": (BytesIO(fixtures_files.jpeg()), "es.jpg")},
                  page=target, content_type="multipart/form-data")
    assert r.status_code == 303 and r.headers["Location"] == f"/applications/{application.id}/identification"
    row = Identification.get_by_id(row.id)
    assert row.status == R.PASSED and row.document_photo_id and row.selfie_id
    stored = models.StoredFile.get_by_id(row.selfie_id)
    with adapters.of(app).storage.open(stored.key) as stream:
        assert stream.read() == fixtures_files.jpeg()
    # Rep One has not identified yet: the stage still waits; once they pass, it is done.
    assert Application.get_by_id(application.id).progress[O.PHOTO_ID] == O.ACTION_NEEDED
    rep = _row(application, REP)
    with app.app_context(), models.action():
        rep.start(adapters.of(app).identification, "/")
    rep = Identification.get_by_id(rep.id)
    assert _post(app, *_webhook(app, rep.session_ref, event="rep-ok")).status_code == 200
    assert Application.get_by_id(application.id).progress[O.PHOTO_ID] == O.DONE
    page = browser.get(f"/applications/{application.id}/identification").get_data(as_text=True)
    assert 'id="stage-photo_id-status"' in page and 'data-stage-status="done"' in page
    dashboard = browser.get("/dashboard").get_data(as_text=True)
    assert 'id="stage-photo_id"' in dashboard
    assert 'data-stage-status="done"' in dashboard.split('id="stage-photo_id"')[1].split("</li>")[0]


@pytest.mark.postgres  # the unique event id inside a savepoint, on both databases
def test_a_good_webhook_counts_once_and_its_replay_changes_nothing(app, db, anna):
    _user, application, browser = anna
    _target, row = _started(app, browser, application)
    body, headers = _webhook(app, row.session_ref, result="declined", event="evt-declined")
    r = _post(app, body, headers)
    assert r.status_code == 200 and r.get_json() == {"result": "applied"}
    assert Identification.get_by_id(row.id).status == R.FAILED
    counts = (models.Notification.select().count(), models.AuditLog.select().count(),
              IdentificationEvent.select().count())
    # The same event again (a provider retrying, or someone replaying it in the window).
    r = _post(app, body, headers)
    assert r.status_code == 200 and r.get_json() == {"result": "duplicate event"}
    assert (models.Notification.select().count(), models.AuditLog.select().count(),
            IdentificationEvent.select().count()) == counts
    # Failed goes by e-mail and SMS (seed 004 §8.3).
    sent = {(n.channel, n.template) for n in models.Notification.select().where(
        models.Notification.user == row.user_id)}
    assert {("email", "identification_failed"), ("sms", "identification_failed")} <= sent
    notice = models.Notification.get(models.Notification.template == "identification_failed",
                                     models.Notification.channel == "email")
    assert notice.opened_params()["path"] == f"/applications/{application.id}/identification"


def test_a_representative_asked_to_repeat_gets_a_new_personal_link_and_the_old_one_dies(app, db, anna):
    _user, application, _browser = anna
    first = models.Notification.get(models.Notification.template == "identification_invitation").opened_params()["path"]
    rep = _row(application, REP)
    with app.app_context(), models.action():
        rep.start(adapters.of(app).identification, "/")
    assert _post(app, *_webhook(app, Identification.get_by_id(rep.id).session_ref, "retry", "r")).status_code == 200
    notice = models.Notification.get(models.Notification.template == "identification_repeat")
    assert notice.recipient == REP and notice.channel == "email"
    assert not models.Notification.select().where(models.Notification.template == "identification_repeat",
                                                  models.Notification.channel == "sms").exists()  # no phone known
    second = notice.opened_params()["path"]
    assert second.startswith("/identification/invitation/") and second != first
    visitor = app.test_client()
    assert visitor.get(first).status_code == 404
    assert 'id="start-identification"' in visitor.get(second).get_data(as_text=True)


def test_the_webhook_refuses_bad_signatures_old_bodies_garbage_and_unknown_sessions(app, db, anna):
    _user, application, browser = anna
    _target, row = _started(app, browser, application)
    body, headers = _webhook(app, row.session_ref)
    for refused_body, refused_headers, status in [
            (body.replace(b"approved", b"declined"), headers, 401),                      # tampered
            (body, {**headers, A.SIGNATURE_HEADER: A.sign(body, b"wrong")}, 401),        # another secret
            (body, {"Content-Type": "application/json"}, 401),                            # no signature
            (*_webhook(app, row.session_ref, timestamp=int(time.time()) - 3600), 403),   # outside the window
    ]:
        r = _post(app, refused_body, refused_headers)
        assert r.status_code == status, (refused_body, r.get_data(as_text=True))
    assert Identification.get_by_id(row.id).status == R.STARTED
    assert models.AuditLog.select().where(models.AuditLog.action == "identification.webhook_refused").count() == 4
    secret = adapters.of(app).identification.secret
    r = _post(app, b"{not json", {A.SIGNATURE_HEADER: A.sign(b"{not json", secret)})
    assert r.status_code == 400
    r = _post(app, *_webhook(app, "no-such-session"))
    assert r.status_code == 404
    r = _post(app, *_webhook(app, row.session_ref, result="maybe", event="e-maybe"))
    assert r.status_code == 400 and Identification.get_by_id(row.id).status == R.STARTED
    # An earlier attempt's session no longer counts once the person started again.
    old = row.session_ref
    _target, row = _started(app, browser, application)
    assert _post(app, *_webhook(app, old, event="late")).status_code == 404
    assert _post(app, *_webhook(app, row.session_ref, event="now")).status_code == 200


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode),
                      st.dictionaries(st.text(max_size=10), st.one_of(st.none(), st.integers(), st.text(max_size=20),
                                                                       st.booleans()), max_size=6)
                      .map(lambda d: json.dumps(d).encode())),
       sign=st.booleans(), signature=st.text(max_size=80))
def test_fuzz_the_webhook_never_answers_500(app, body, sign, signature):
    secret = adapters.of(app).identification.secret
    header = A.sign(body, secret) if sign else signature
    r = app.test_client().post("/identification/webhook", data=body,
                               headers={A.SIGNATURE_HEADER: header} if header.isprintable() else {})
    assert r.status_code in (400, 401, 403, 404), r.status_code


@pytest.mark.postgres  # the rolled-back transaction takes the stored photos with it
def test_the_development_page_keeps_nothing_when_an_upload_is_refused_or_the_portal_refuses(app, db, anna, tmp_path):
    _user, application, browser = anna
    target, row = _started(app, browser, application)
    r = post_form(browser, target, {"outcome": "approved",
                                    "document_photo": (BytesIO(b"just text, not a photo" * 100), "pase.png"),
                                    "selfie": (BytesIO(fixtures_files.jpeg()), "es.jpg")},
                  page=target, content_type="multipart/form-data")
    assert r.status_code == 422 and 'id="document_photo-error"' in r.get_data(as_text=True)
    r = post_form(browser, target, {"document_photo": (BytesIO(fixtures_files.png()), "pase.png")},
                  page=target, content_type="multipart/form-data")
    assert r.status_code == 422 and 'href="#selfie"' in r.get_data(as_text=True)
    assert models.StoredFile.select().count() == 0
    # Staff settle it meanwhile: the provider's answer is not applied, and its photos are not kept.
    staff = create_user(app, email=STAFF, phone="+37129999999", staff_role="consultant")
    with app.test_request_context(), models.action():
        Identification.get_by_id(row.id).decide(R.PASSED, staff, "Seen at the office")
    r = post_form(browser, target, {"outcome": "declined",
                                    "document_photo": (BytesIO(fixtures_files.png()), "pase.png"),
                                    "selfie": (BytesIO(fixtures_files.jpeg()), "es.jpg")},
                  page=target, content_type="multipart/form-data")
    assert r.status_code == 303
    assert Identification.get_by_id(row.id).status == R.PASSED and models.StoredFile.select().count() == 0
    uploads_dir = tmp_path / "uploads"
    assert not uploads_dir.exists() or not [p for p in uploads_dir.rglob("*") if p.is_file()]


def test_an_invited_representative_identifies_through_the_personal_link_without_an_account(app, db, anna):
    _user, application, _browser = anna
    path = models.Notification.get(models.Notification.template == "identification_invitation").opened_params()["path"]
    visitor = app.test_client()
    page = visitor.get(path)
    assert page.status_code == 200 and 'id="start-identification"' in page.get_data(as_text=True)
    r = post_form(visitor, path, {})
    assert r.status_code == 303 and r.headers["Location"].startswith("/dev/identification/")
    target = r.headers["Location"]
    r = post_form(visitor, target, {"outcome": "approved",
                                    "document_photo": (BytesIO(fixtures_files.png()), "pase.png"),
                                    "selfie": (BytesIO(fixtures_files.jpeg()), "es.jpg")},
                  page=target, content_type="multipart/form-data")
    assert r.status_code == 303 and r.headers["Location"] == path
    assert _row(application, REP).status == R.PASSED
    # The link is used up: it shows the result, and starts nothing any more.
    page = visitor.get(path).get_data(as_text=True)
    assert 'id="start-identification"' not in page and 'data-identification-status="passed"' in page
    r = post_form(visitor, path, {})
    assert r.status_code == 303 and r.headers["Location"] == path and _row(application, REP).status == R.PASSED
    assert visitor.get("/identification/invitation/not-a-token").status_code == 404


def test_an_expired_personal_link_starts_nothing(app, db, anna):
    _user, application, _browser = anna
    path = models.Notification.get(models.Notification.template == "identification_invitation").opened_params()["path"]
    Identification.update(token_expires_at=models.utcnow() - timedelta(seconds=1)).where(
        Identification.email == REP).execute()
    visitor = app.test_client()
    assert 'id="start-identification"' not in visitor.get(path).get_data(as_text=True)
    r = post_form(visitor, path, {})
    assert r.status_code == 303 and _row(application, REP).status == R.WAITING


def test_others_cannot_reach_the_page_nor_start_someone_elses_identification(app, db, anna):
    _user, application, browser = anna
    create_user(app, email=OTHER, phone="+37122222222", kind=LEGAL)
    other = app.test_client()
    login(other, OTHER)
    assert other.get(f"/applications/{application.id}/identification").status_code == 404
    rep = _row(application, REP)
    r = post_form(browser, f"/applications/{application.id}/identification/{rep.id}/start", {},
                  page=f"/applications/{application.id}/identification")
    assert r.status_code == 404 and _row(application, REP).status == R.WAITING
    assert browser.get("/staff/identifications").status_code == 404


@pytest.fixture
def staff_browser(app):
    create_user(app, email=STAFF, phone="+37129999999", staff_role="consultant")
    assign_clients(app, STAFF)  # a consultant works on the clients assigned to them (rules.staff)
    browser = app.test_client()
    login(browser, STAFF)
    return browser


def test_another_consultants_client_is_neither_in_the_queue_nor_reachable(app, db, anna):
    """Identifications follow the consultant rule (STF-11): a consultant not assigned to the
    client sees an empty queue and 404 on the identification's page and actions."""
    _user, application, browser = anna
    row = Identification.select().where(Identification.application == application.id).first()
    with app.app_context(), models.db.connection_context():
        Identification.update(status=R.FAILED).where(Identification.id == row.id).execute()
    create_user(app, email="other@example.lv", phone="+37129999998", staff_role="consultant")
    other = app.test_client()
    login(other, "other@example.lv")
    assert f"/staff/identifications/{row.id}" not in other.get("/staff/identifications").get_data(as_text=True)
    assert other.get(f"/staff/identifications/{row.id}").status_code == 404
    assert other.get(f"/staff/identifications/{row.id}/selfie").status_code == 404
    create_user(app, email=STAFF, phone="+37129999999", staff_role="consultant")
    assign_clients(app, STAFF)
    mine = app.test_client()
    login(mine, STAFF)
    assert f"/staff/identifications/{row.id}" in mine.get("/staff/identifications").get_data(as_text=True)
    assert mine.get(f"/staff/identifications/{row.id}").status_code == 200


def test_staff_see_failed_and_long_unfinished_identifications_and_record_a_result_with_a_reason(
        app, db, anna, staff_browser):
    _user, application, browser = anna
    _target, row = _started(app, browser, application)
    assert _post(app, *_webhook(app, row.session_ref, result="retry", event="r1")).status_code == 200
    rep = _row(application, REP)
    assert 'href="/staff/identifications"' in staff_browser.get("/staff").get_data(as_text=True)
    queue = staff_browser.get("/staff/identifications").get_data(as_text=True)
    assert f'id="identification-{row.id}"' in queue and f'id="identification-{rep.id}"' not in queue
    Identification.update(updated_at=models.utcnow() - R.PENDING_TOO_LONG - timedelta(minutes=1)).where(
        Identification.id == rep.id).execute()
    assert f'id="identification-{rep.id}"' in staff_browser.get("/staff/identifications").get_data(as_text=True)

    page = f"/staff/identifications/{row.id}"
    r = post_form(staff_browser, f"{page}/result", {"decision-status": "passed", "decision-reason": "  "}, page=page)
    assert r.status_code == 422 and 'href="#decision-reason"' in r.get_data(as_text=True)
    assert Identification.get_by_id(row.id).status == R.REPEAT
    r = post_form(staff_browser, f"{page}/result", {"decision-status": "passed",
                                                    "decision-reason": "Checked the passport at the office"}, page=page)
    assert r.status_code == 303
    row = Identification.get_by_id(row.id)
    assert row.status == R.PASSED and row.decided_by.email == STAFF
    entry = models.AuditLog.get(models.AuditLog.action == "identification.decided")
    assert entry.details["reason"] == "Checked the passport at the office" and entry.details["identified"] == "passed"
    assert f'id="identification-{row.id}"' not in staff_browser.get("/staff/identifications").get_data(as_text=True)


def test_staff_require_identification_in_person_and_the_person_is_told_by_email_and_sms(app, db, anna, staff_browser):
    user, application, browser = anna
    row = _row(application, ANNA)
    page = f"/staff/identifications/{row.id}"
    r = post_form(staff_browser, f"{page}/in-person", {"in_person-reason": ""}, page=page)
    assert r.status_code == 422
    r = post_form(staff_browser, f"{page}/in-person", {"in_person-reason": "The photo is unreadable"}, page=page)
    assert r.status_code == 303 and Identification.get_by_id(row.id).status == R.IN_PERSON
    sent = {(n.channel, n.recipient) for n in models.Notification.select().where(
        models.Notification.template == "identification_in_person")}
    assert sent == {("email", ANNA), ("sms", user.phone)}
    mine = browser.get(f"/applications/{application.id}/identification").get_data(as_text=True)
    assert 'data-identification-status="in_person"' in mine and "The photo is unreadable" in mine


def test_staff_agree_a_video_identification_inside_working_hours_and_the_client_sees_the_time(
        app, db, anna, staff_browser):
    _user, application, browser = anna
    row = _row(application, ANNA)
    page = f"/staff/identifications/{row.id}"
    day = models.utcnow().date() + timedelta(days=1)
    while day.weekday() != 5:
        day += timedelta(days=1)
    r = post_form(staff_browser, f"{page}/video", {"video-when": f"{day.isoformat()}T10:00",
                                                   "video-reason": "A second check"}, page=page)
    assert r.status_code == 422 and "darba dienu" in r.get_data(as_text=True).split('id="video-when-error"')[1][:200]
    monday = day + timedelta(days=2)
    from rules.calendar import is_working_day
    while not is_working_day(monday):
        monday += timedelta(days=1)
    r = post_form(staff_browser, f"{page}/video", {"video-when": f"{monday.isoformat()}T18:00",
                                                   "video-reason": "A second check"}, page=page)
    assert r.status_code == 422
    r = post_form(staff_browser, f"{page}/video", {"video-when": f"{monday.isoformat()}T10:30",
                                                   "video-reason": "A second check"}, page=page)
    assert r.status_code == 303
    video = Identification.get(Identification.kind == R.VIDEO)
    assert video.status == R.SCHEDULED and video.user_id == row.user_id
    assert Application.get_by_id(application.id).progress[O.VIDEO_ID] == O.ACTION_NEEDED
    mine = browser.get(f"/applications/{application.id}/identification").get_data(as_text=True)
    assert f"{monday.day:02d}.{monday.month:02d}.{monday.year} 10:30" in mine
    assert {n.channel for n in models.Notification.select().where(
        models.Notification.template == "identification_video")} == {"email", "sms"}
    assert models.AuditLog.select().where(models.AuditLog.action == "identification.video_requested").count() == 1


def test_only_the_webhook_goes_without_a_csrf_token(app, db, anna, staff_browser):
    _user, application, browser = anna
    row = _row(application, ANNA)
    r = staff_browser.post(f"/staff/identifications/{row.id}/result",
                           data={"decision-status": "passed", "decision-reason": "No token"})
    assert r.status_code == 400 and _row(application, ANNA).status == R.WAITING
    r = browser.post(f"/applications/{application.id}/identification/{row.id}/start", data={})
    assert r.status_code == 400 and _row(application, ANNA).status == R.WAITING
    exempt = {rule.endpoint for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("identification.")
              and f"blueprints.identification.{rule.endpoint.split('.')[1]}" in _exempt_views(app)}
    assert exempt == {"identification.webhook"}


def _exempt_views(app):
    return app.extensions["csrf"]._exempt_views


def test_staff_open_the_providers_photos_and_it_is_recorded(app, db, anna, staff_browser):
    _user, application, browser = anna
    target, row = _started(app, browser, application)
    post_form(browser, target, {"outcome": "declined", "document_photo": (BytesIO(fixtures_files.png()), "pase.png"),
                                "selfie": (BytesIO(fixtures_files.jpeg()), "es.jpg")},
              page=target, content_type="multipart/form-data")
    r = staff_browser.get(f"/staff/identifications/{row.id}/selfie")
    assert r.status_code == 200 and r.data == fixtures_files.jpeg()
    assert models.AuditLog.get(models.AuditLog.action == "identification.photo_viewed").details["identification"] == row.id
    other = _row(application, REP)
    assert staff_browser.get(f"/staff/identifications/{other.id}/selfie").status_code == 404
    assert browser.get(f"/staff/identifications/{row.id}/selfie").status_code == 404


def test_the_page_asks_again_only_while_a_providers_result_is_awaited(app, db, anna):
    _user, application, browser = anna
    status = f"/applications/{application.id}/identification/status"
    fragment = browser.get(status, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="identification-list"') and "hx-trigger" not in fragment
    _target, row = _started(app, browser, application)
    page = browser.get(f"/applications/{application.id}/identification").get_data(as_text=True)
    assert f'hx-get="{status}"' in page and 'hx-trigger="every 5s"' in page
    assert _post(app, *_webhook(app, row.session_ref, event="poll-ok")).status_code == 200
    fragment = browser.get(status, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "hx-trigger" not in fragment
    assert 'data-identification-status="passed"' in fragment
    assert getattr(app.view_functions["identification.status"], "is_poll", False)  # no activity: idle clock stays
    assert "<html" in browser.get(status).get_data(as_text=True)  # without htmx: the page
