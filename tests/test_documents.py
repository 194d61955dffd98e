"""Documents through the Flask client: the status table pair by pair, scoping, the list's
poll, double submits, notifications, signing with a container or the signing service."""
import hashlib
import html
import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from werkzeug.datastructures import FileStorage

import models
import uploads
from conftest import assign_clients, create_user, form_token, login, run_jobs
from models.documents import Document, DocumentEvent, DocumentVersion, SigningInvitation, TransitionRefused
from rules import documents as R
import adapters
from adapters import signing
from pki import hierarchy
from portal import create_app, init_signing_trust
from test_signing import build_container

STAFF = "konsultants@example.lv"
CLIENT = "anna@example.lv"
VALUES = {"amount": "15 000,50", "term_months": "24", "purpose": "New machines for the workshop"}
PDF = b"%PDF-1.4\n" + b"% a contract to sign\n" * 80
# A signer as the container check records one it accepted (uploads.containers).
TRUSTED_SIGNER = {"name": "Anna Liepa", "serial": "PNOLV-1", "chain": "trusted", "revocation": "good"}


@pytest.fixture(autouse=True)
def _uploads_in_tmp(request, tmp_path):
    if "app" in request.fixturenames:  # tests of the plain table need no app
        request.getfixturevalue("app").config["UPLOAD_DIR"] = str(tmp_path / "uploads")


@pytest.fixture
def people(app):
    create_user(app, email=CLIENT, phone="+37121111111", full_name="Anna Liepa")
    create_user(app, email=STAFF, phone="+37123333333", staff_role="consultant", full_name="Kārlis Konsultants")
    assign_clients(app, STAFF)


def model_context(app):
    """Where these tests call the models: an app context binds the domain to this test's app
    (its database, keys, storage and signing adapter); no request is needed."""
    return app.app_context()


def stored(app, client_id, name="ligums.pdf", data=PDF):
    with model_context(app):
        client = models.Client.get_by_id(client_id)
        return uploads.store_files([FileStorage(io.BytesIO(data), filename=name)], R.SIGNED_CONTAINER_POLICY
                                   if name.endswith((".edoc", ".asice")) else R.DOCUMENT_TYPES["loan_application"].policy,
                                   None, client)[0]


def document_in(app, status, email=CLIENT, doc_type="loan_application"):
    """A document brought to ``status`` through the model's transitions (not the views)."""
    assign_clients(app, STAFF)  # a client created since the consultant was is theirs too
    with model_context(app):
        user = models.User.get(models.User.email == email)
        staff = models.User.get(models.User.email == STAFF)
        client = models.Membership.get(models.Membership.user == user).client
        d = Document.start(client, doc_type, user)
        if status == R.NEW:
            return d.id
        d.transition(R.SUBMIT, by=user, values=dict(VALUES, amount="15000.50"), nonce=None)
        if status == R.PROCESSING:
            return d.id
        if status in (R.INFO_NEEDED, R.DRAFT):
            d.transition(R.REQUEST_INFO, by=staff, comments={"amount": "The amount is above the limit."})
            if status == R.DRAFT:
                d.transition(R.SAVE, by=user, values=dict(VALUES, amount="14000.00"))
            return d.id
        d.transition(R.ACCEPT, by=staff)
        d.transition(R.PREPARE_PACKAGE, by=staff, files=[stored(app, client.id)])
        if status == R.READY:
            return d.id
        d.transition(R.AGREE, by=user)
        if status == R.SIGNING:
            return d.id
        container = stored(app, client.id, "signed.edoc", build_container({"ligums.pdf": PDF}))
        d.transition(R.UPLOAD_SIGNED, by=user, container=container, signers=[TRUSTED_SIGNER])
        return d.id


def status_of(document_id):
    return Document.get_by_id(document_id).status


def token(client):
    return form_token(client, "/dashboard")


def package_container(app, document_id):
    """The current package of a document, signed into an ASiC-E container."""
    version = Document.get_by_id(document_id).latest_version("package")
    files = {}
    for f in version.files():
        with adapters.of(app).storage.open(f.key) as stream:
            files[f.original_name] = stream.read()
    return build_container(files)


# --- The status table, written out: an accidental edit of rules/documents.py fails here ------------

GOLDEN_STATUSES = ("new", "processing", "info_needed", "draft", "ready_for_signing", "signing", "signed")
GOLDEN_ACTIONS = {
    "client": ("edit", "save", "submit", "add_files", "agree", "ask", "upload_signed", "sign_with_service"),
    "staff": ("accept", "request_info", "prepare_package", "resend"),
    "service": ("signing_completed",),
}
# (status, actor, action) → status after it, in table order (the order buttons are offered in).
GOLDEN_TRANSITIONS = [
    (("new", "client", "edit"), "new"),
    (("new", "client", "save"), "new"),
    (("new", "client", "submit"), "processing"),
    (("processing", "staff", "accept"), "processing"),
    (("processing", "staff", "request_info"), "info_needed"),
    (("processing", "staff", "prepare_package"), "ready_for_signing"),
    (("info_needed", "client", "edit"), "info_needed"),
    (("info_needed", "client", "add_files"), "info_needed"),
    (("info_needed", "client", "submit"), "processing"),
    (("info_needed", "client", "save"), "draft"),
    (("draft", "client", "edit"), "draft"),
    (("draft", "client", "save"), "draft"),
    (("draft", "client", "submit"), "processing"),
    (("ready_for_signing", "client", "agree"), "signing"),
    (("ready_for_signing", "client", "ask"), "ready_for_signing"),
    (("ready_for_signing", "staff", "resend"), "ready_for_signing"),
    (("signing", "staff", "resend"), "ready_for_signing"),
    (("signing", "client", "upload_signed"), "signed"),
    (("signing", "client", "sign_with_service"), "signing"),
    (("signing", "service", "signing_completed"), "signed"),
]


def test_the_status_table_is_the_agreed_one():
    """Seed 004 §6.4 as agreed. Changing the table is a decision: change this copy with it."""
    assert R.STATUSES == GOLDEN_STATUSES
    assert R.ACTIONS_BY_ACTOR == GOLDEN_ACTIONS
    assert list(R.TRANSITIONS.items()) == GOLDEN_TRANSITIONS


# --- Every (status, actor, action) at the model level ---------------------------------------------

MODEL_PAIRS = [(s, a, act) for s in R.STATUSES for a in (R.CLIENT, R.STAFF, R.SERVICE)
               for act in R.ACTIONS_BY_ACTOR[a]]


def transition_data(app, document, action):
    """Valid data for ``action`` on ``document``, as the views would pass it."""
    client_id = document.client_id
    if action == R.SAVE:
        return {"values": dict(VALUES, amount="15000.50")}
    if action == R.SUBMIT:
        return {"values": dict(VALUES, amount="15000.50"), "nonce": f"model-{document.id}"}
    if action == R.ADD_FILES:
        return {"new_files": [stored(app, client_id, "papildu.pdf")]}
    if action == R.ASK:
        return {"question": "Kāpēc 24 mēneši?"}
    if action == R.UPLOAD_SIGNED:
        return {"container": stored(app, client_id, "signed.edoc", build_container({"ligums.pdf": PDF})),
                "signers": [TRUSTED_SIGNER]}
    if action == R.REQUEST_INFO:
        return {"comments": {"purpose": "Say which machines."}}
    if action in (R.PREPARE_PACKAGE, R.RESEND):
        return {"files": [stored(app, client_id)], "note": "Lūdzu, parakstiet."}
    if action == R.SIGNING_COMPLETED:
        return {"invitation": SigningInvitation.create(document=document, status="pending"),
                "signers": [{"name": "Anna Liepa", "serial": "PNOLV-1"}]}
    return {}  # edit, agree, sign_with_service, accept


def actor_user(actor):
    if actor == R.SERVICE:
        return None  # the signing service's callback acts as nobody
    return models.User.get(models.User.email == (CLIENT if actor == R.CLIENT else STAFF))


@pytest.mark.postgres
@pytest.mark.parametrize("status, actor, action", MODEL_PAIRS, ids=[f"{s}-{a}-{x}" for s, a, x in MODEL_PAIRS])
def test_status_table_pair_in_the_model(app, db, people, status, actor, action):
    document_id = document_in(app, status)
    expected = R.next_status(status, actor, action)
    with model_context(app):
        user = actor_user(actor)
        if action == R.PREPARE_PACKAGE and status == R.PROCESSING:  # the package follows acceptance
            Document.get_by_id(document_id).transition(R.ACCEPT, by=actor_user(R.STAFF))
        document = Document.get_by_id(document_id)
        before = (document.status, document.revision, DocumentEvent.select().count())
        data = transition_data(app, document, action)
        assert document.may(action, user) is (expected is not None)
        if expected is None or action == R.EDIT:  # EDIT only says the form may be opened
            with pytest.raises(TransitionRefused):
                document.transition(action, by=user, **data)
            after = Document.get_by_id(document_id)
            assert (after.status, after.revision, DocumentEvent.select().count()) == before
            return
        event = document.transition(action, by=user, **data)
    after = Document.get_by_id(document_id)
    assert after.status == expected and after.revision == before[1] + 1
    assert (event.action, event.actor, event.from_status, event.to_status) == (action, actor, status, expected)
    assert DocumentEvent.get_by_id(event.id).to_status == expected


@pytest.mark.postgres
def test_a_document_changed_meanwhile_refuses_the_second_change(app, db, people):
    """The revision guard: two requests holding the same revision cannot both move it."""
    document_id = document_in(app, R.READY)
    with model_context(app):
        user = actor_user(R.CLIENT)
        first, second = Document.get_by_id(document_id), Document.get_by_id(document_id)
        first.transition(R.AGREE, by=user)
        with pytest.raises(TransitionRefused, match="pa to laiku ir mainīts"):  # "changed meanwhile"
            second.transition(R.ASK, by=user, question="Vai var 36?")
    document = Document.get_by_id(document_id)
    assert document.status == R.SIGNING and not document.question_open
    assert [e.action for e in document.history()][-1] == R.AGREE


# --- The same actions through HTTP: each view once allowed and once refused ------------------------

def client_request(http, app, document_id, action):
    """The HTTP request a client makes for ``action`` (with valid data)."""
    t = token(http)
    base = f"/documents/{document_id}"
    if action == R.EDIT:
        return http.get(base + "/edit")
    if action in (R.SAVE, R.SUBMIT):
        return http.post(base + "/edit", data={"csrf_token": t, "action": action, "nonce": f"n-{action}-{document_id}",
                                               **VALUES})
    if action == R.ADD_FILES:
        return http.post(base + "/files", data={"csrf_token": t, "files": (io.BytesIO(PDF), "papildu.pdf")},
                         content_type="multipart/form-data")
    if action == R.AGREE:
        return http.post(base + "/agree", data={"csrf_token": t})
    if action == R.ASK:
        return http.post(base + "/questions", data={"csrf_token": t, "question": "Kāpēc 24 mēneši?"})
    if action == R.UPLOAD_SIGNED:
        data = package_container(app, document_id) if Document.get_by_id(document_id).latest_version("package") \
            else build_container({"x.pdf": PDF})
        return http.post(base + "/signed", data={"csrf_token": t, "container": (io.BytesIO(data), "paka.edoc")},
                         content_type="multipart/form-data")
    if action == R.SIGN_WITH_SERVICE:
        return http.post(base + "/signing-service", data={"csrf_token": t})
    raise AssertionError(action)


def staff_request(http, app, document_id, action):
    t = token(http)
    base = f"/staff/documents/{document_id}"
    if action == R.ACCEPT:
        return http.post(base + "/accept", data={"csrf_token": t})
    if action == R.REQUEST_INFO:
        return http.post(base + "/request-info", data={"csrf_token": t, "comment_purpose": "Say which machines."})
    if action == R.PREPARE_PACKAGE:
        if status_of(document_id) == R.PROCESSING:  # the package follows acceptance
            with model_context(app):
                Document.get_by_id(document_id).transition(R.ACCEPT, by=models.User.get(models.User.email == STAFF))
        return http.post(base + "/package", data={"csrf_token": t, "include_submission": "y",
                                                  "files": (io.BytesIO(PDF), "ligums.pdf")},
                         content_type="multipart/form-data")
    if action == R.RESEND:
        return http.post(base + "/resend", data={"csrf_token": t, "note": "Pievienots pielikums.",
                                                 "files": (io.BytesIO(PDF), "pielikums.pdf")},
                         content_type="multipart/form-data")
    raise AssertionError(action)


HTTP_PAIRS = [
    (R.NEW, R.CLIENT, R.EDIT), (R.SIGNED, R.CLIENT, R.EDIT),
    (R.NEW, R.CLIENT, R.SAVE), (R.READY, R.CLIENT, R.SAVE),
    (R.DRAFT, R.CLIENT, R.SUBMIT), (R.SIGNING, R.CLIENT, R.SUBMIT),
    (R.INFO_NEEDED, R.CLIENT, R.ADD_FILES), (R.NEW, R.CLIENT, R.ADD_FILES),
    (R.READY, R.CLIENT, R.AGREE), (R.PROCESSING, R.CLIENT, R.AGREE),
    (R.READY, R.CLIENT, R.ASK), (R.SIGNING, R.CLIENT, R.ASK),
    (R.SIGNING, R.CLIENT, R.UPLOAD_SIGNED), (R.READY, R.CLIENT, R.UPLOAD_SIGNED),
    (R.SIGNING, R.CLIENT, R.SIGN_WITH_SERVICE), (R.SIGNED, R.CLIENT, R.SIGN_WITH_SERVICE),
    (R.PROCESSING, R.STAFF, R.ACCEPT), (R.NEW, R.STAFF, R.ACCEPT),
    (R.PROCESSING, R.STAFF, R.REQUEST_INFO), (R.DRAFT, R.STAFF, R.REQUEST_INFO),
    (R.PROCESSING, R.STAFF, R.PREPARE_PACKAGE), (R.SIGNED, R.STAFF, R.PREPARE_PACKAGE),
    (R.SIGNING, R.STAFF, R.RESEND), (R.INFO_NEEDED, R.STAFF, R.RESEND),
]


def test_the_http_pairs_try_each_view_allowed_and_refused():
    for actor in (R.CLIENT, R.STAFF):
        for action in R.ACTIONS_BY_ACTOR[actor]:
            outcomes = {R.allowed(s, a, x) for s, a, x in HTTP_PAIRS if (a, x) == (actor, action)}
            assert outcomes == {True, False}, (actor, action)


@pytest.mark.parametrize("status, actor, action", HTTP_PAIRS, ids=[f"{s}-{a}-{x}" for s, a, x in HTTP_PAIRS])
def test_status_table_pair_through_http(client, app, db, people, status, actor, action):
    document_id = document_in(app, status)
    login(client, CLIENT if actor == R.CLIENT else STAFF)
    before = status_of(document_id)
    response = (client_request if actor == R.CLIENT else staff_request)(client, app, document_id, action)
    expected = R.next_status(status, actor, action)
    if expected is None:
        assert response.status_code == 409, response.get_data(as_text=True)[:500]
        assert status_of(document_id) == before
    else:
        assert response.status_code in (200, 303), response.get_data(as_text=True)[:2000]
        assert status_of(document_id) == expected
        if action != R.EDIT:
            assert models.AuditLog.select().where(models.AuditLog.action == f"document.{action}").exists()


@pytest.mark.postgres
@pytest.mark.parametrize("status", [R.SIGNING, R.READY, R.SIGNED])  # every status: at the model level
def test_signing_service_callback_only_completes_in_signing(client, app, db, people, status):
    document_id = document_in(app, status)
    invitation = SigningInvitation.create(document=document_id, status="pending")
    body, headers = _callback(app, invitation.token)
    response = client.post("/signing-service/callback", data=body, headers=headers)
    if status == R.SIGNING:
        assert response.status_code == 200 and status_of(document_id) == R.SIGNED
    else:
        assert response.status_code == 409 and status_of(document_id) == status


def _callback(app, invitation_token, name="Anna Liepa"):
    return signing.signed_callback({"invitation": invitation_token, "status": "signed",
                                    "signers": [{"name": name, "serial": "PNOLV-1"}]},
                                   adapters.of(app).signing.secret)


def test_every_table_row_names_known_statuses_actors_and_actions():
    for (status, actor, action), target in R.TRANSITIONS.items():
        assert status in R.STATUSES and target in R.STATUSES
        assert action in R.ACTIONS_BY_ACTOR[actor]
    # Client actions stop at Signing (seed 004 §6.4.2.1).
    assert not R.actions_for(R.SIGNED, R.CLIENT) and not R.actions_for(R.PROCESSING, R.CLIENT)


# --- Scoping --------------------------------------------------------------------------------------

@pytest.mark.postgres
def test_someone_elses_document_is_404_everywhere(client, app, db, people):
    create_user(app, email="cits@example.lv", phone="+37122222222")
    document_id = document_in(app, R.READY)
    package = Document.get_by_id(document_id).latest_version("package").files()[0]
    login(client, "cits@example.lv")
    t = token(client)
    for url in (f"/documents/{document_id}", f"/documents/{document_id}/edit", f"/documents/{document_id}/row",
                f"/documents/{document_id}/files/{package.id}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/documents/{document_id}/agree", data={"csrf_token": t}).status_code == 404
    assert f"document-{document_id}-row" not in client.get("/documents").get_data(as_text=True)
    assert status_of(document_id) == R.READY


@pytest.mark.postgres
def test_colleague_limited_to_own_items_sees_only_theirs(client, app, db, people):
    create_user(app, email="valde@example.lv", phone="+37124444444", kind="legal", role="main")
    company = models.Membership.get(models.Membership.user == models.User.get(models.User.email == "valde@example.lv")).client
    colleague = models.User.create(email="kolegis@example.lv", phone="+37125555555",
                                   password_hash=models.hash_password("Zilais-Kalns7!"))
    models.Membership.grant(colleague, company, "colleague")
    boss_doc = document_in(app, R.NEW, email="valde@example.lv", doc_type="company_documents")
    own_doc = document_in(app, R.NEW, email="kolegis@example.lv", doc_type="company_documents")
    login(client, "kolegis@example.lv")
    listing = client.get("/documents").get_data(as_text=True)
    assert f"document-{own_doc}-row" in listing and f"document-{boss_doc}-row" not in listing
    assert client.get(f"/documents/{boss_doc}").status_code == 404
    assert client.get(f"/documents/{own_doc}").status_code == 200


@pytest.mark.postgres
def test_member_who_may_see_but_not_submit_cannot_act(client, app, db, people):
    document_id = document_in(app, R.READY)
    membership = models.Membership.get(models.Membership.user == models.User.get(models.User.email == CLIENT))
    models.Membership.update(can_submit=False).where(models.Membership.id == membership.id).execute()
    login(client, CLIENT)
    assert client.get(f"/documents/{document_id}").status_code == 200
    assert client.post(f"/documents/{document_id}/agree", data={"csrf_token": token(client)}).status_code == 404
    assert client.get(f"/documents/{document_id}/edit").status_code == 404
    assert status_of(document_id) == R.READY


@pytest.mark.postgres
def test_clients_get_404_in_the_staff_document_pages(client, app, db, people):
    document_id = document_in(app, R.PROCESSING)
    login(client, CLIENT)
    for url in ("/staff/documents", f"/staff/documents/{document_id}"):
        assert client.get(url).status_code == 404
    assert client.post(f"/staff/documents/{document_id}/accept", data={"csrf_token": token(client)}).status_code == 404


@pytest.mark.postgres
def test_download_is_an_attachment_that_never_renders(client, app, db, people):
    document_id = document_in(app, R.READY)
    package = Document.get_by_id(document_id).latest_version("package").files()[0]
    login(client, CLIENT)
    response = client.get(f"/documents/{document_id}/files/{package.id}")
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    other = document_in(app, R.NEW)
    assert client.get(f"/documents/{other}/files/{package.id}").status_code == 404  # not that document's file


# --- The list and its poll ------------------------------------------------------------------------

@pytest.mark.postgres
def test_list_polls_while_a_row_waits_and_answers_204_when_unchanged(client, app, db, people):
    processing = document_in(app, R.PROCESSING)
    document_in(app, R.NEW)
    login(client, CLIENT)
    page = client.get("/documents").get_data(as_text=True)
    assert 'hx-trigger="every 5s"' in page and f'id="document-{processing}-row"' in page
    poll_url = re.search(r'hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")
    unchanged = client.get(poll_url, headers={"HX-Request": "true"})
    assert unchanged.status_code == 204 and unchanged.data == b""

    with model_context(app):
        Document.get_by_id(processing).transition(R.REQUEST_INFO, by=models.User.get(models.User.email == STAFF),
                                                  comments={"amount": "Too much."})
    changed = client.get(poll_url, headers={"HX-Request": "true"})
    html = changed.get_data(as_text=True)
    assert changed.status_code == 200
    assert f'<tr id="document-{processing}-row" hx-swap-oob="true">' in html
    assert html.count("<tr ") == 1  # only the changed row
    assert 'id="documents-poll"' in html and "hx-trigger" not in html  # nothing waits: polling ends
    compressed = client.get(poll_url, headers={"HX-Request": "true", "Accept-Encoding": "br"})
    print(f"\nROW UPDATE FRAGMENT: {len(changed.data)} bytes ({len(compressed.data)} bytes br); "
          f"UNCHANGED REFRESH: {len(unchanged.data)} bytes body, status 204")


@pytest.mark.postgres
def test_unchanged_poll_loads_no_rows(client, app, db, people):
    document_in(app, R.PROCESSING)
    login(client, CLIENT)
    page = client.get("/documents").get_data(as_text=True)
    poll_url = re.search(r'hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")
    statements = []
    original = models.db.obj.execute_sql

    def counting(sql, *args, **kwargs):
        statements.append(sql)
        return original(sql, *args, **kwargs)
    models.db.obj.execute_sql = counting
    try:
        assert client.get(poll_url, headers={"HX-Request": "true"}).status_code == 204
    finally:
        models.db.obj.execute_sql = original
    document_reads = [s for s in statements if 'FROM "document"' in s]
    assert len(document_reads) == 1 and "COUNT" in document_reads[0].upper()


@pytest.mark.postgres
def test_a_new_document_redraws_the_whole_list_body(client, app, db, people):
    document_in(app, R.PROCESSING)
    login(client, CLIENT)
    page = client.get("/documents").get_data(as_text=True)
    poll_url = re.search(r'hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")
    added = document_in(app, R.NEW)
    html = client.get(poll_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert '<tbody id="documents-rows" hx-swap-oob="true">' in html and f"document-{added}-row" in html


def test_poll_does_not_keep_the_session_alive(client, app, db, people):
    document_in(app, R.PROCESSING)
    login(client, CLIENT)
    page = client.get("/documents").get_data(as_text=True)
    poll_url = re.search(r'hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")
    with client.session_transaction() as s:
        s["seen_at"] -= 120  # two minutes idle
        idle_since = s["seen_at"]
    client.get(poll_url, headers={"HX-Request": "true"})
    with client.session_transaction() as s:
        assert s["seen_at"] == idle_since


def test_submit_from_the_list_swaps_the_row_in_place(client, app, db, people):
    document_id = document_in(app, R.NEW)
    with model_context(app):
        Document.get_by_id(document_id).transition(R.SAVE, by=models.User.get(models.User.email == CLIENT),
                                                   values=VALUES)
    login(client, CLIENT)
    response = client.post(f"/documents/{document_id}/submit", data={"csrf_token": token(client), "nonce": "abc"},
                           headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and status_of(document_id) == R.PROCESSING
    assert f'<tr id="document-{document_id}-row" hx-swap-oob="true">' in html
    assert 'hx-trigger="every 5s"' in html and 'id="flashes" class="flashes" hx-swap-oob="true"' in html
    print(f"\nROW ACTION RESPONSE: {len(response.data)} bytes")


def test_submit_from_the_list_without_javascript_redirects_to_the_list(client, app, db, people):
    document_id = document_in(app, R.NEW)
    with model_context(app):
        Document.get_by_id(document_id).transition(R.SAVE, by=models.User.get(models.User.email == CLIENT),
                                                   values=VALUES)
    login(client, CLIENT)
    response = client.post(f"/documents/{document_id}/submit", data={"csrf_token": token(client), "nonce": "abc"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/documents")


def test_incomplete_document_submitted_from_the_list_opens_its_form(client, app, db, people):
    document_id = document_in(app, R.NEW)
    login(client, CLIENT)
    response = client.post(f"/documents/{document_id}/submit", data={"csrf_token": token(client), "nonce": "abc"})
    assert response.status_code == 303 and "check=1" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="amount-error"' in page and status_of(document_id) == R.NEW


# --- Editing, versions, history --------------------------------------------------------------------

@pytest.mark.postgres
def test_double_submit_makes_one_version(client, app, db, people):
    document_id = document_in(app, R.NEW)
    login(client, CLIENT)
    data = {"csrf_token": token(client), "action": "submit", "nonce": "one-form", **VALUES}
    first = client.post(f"/documents/{document_id}/edit", data=data)
    second = client.post(f"/documents/{document_id}/edit", data=data)
    assert first.status_code == second.status_code == 303
    assert DocumentVersion.select().where(DocumentVersion.document == document_id).count() == 1
    assert status_of(document_id) == R.PROCESSING


def test_labot_shows_each_staff_comment_beside_its_field(client, app, db, people):
    document_id = document_in(app, R.INFO_NEEDED)
    login(client, CLIENT)
    page = client.get(f"/documents/{document_id}/edit").get_data(as_text=True)
    comment = page.index('id="amount-comment"')
    assert "The amount is above the limit." in page[comment:comment + 200]
    assert 'aria-describedby="amount-comment"' in page
    assert 'id="purpose-comment"' not in page


@pytest.mark.postgres
def test_client_fixes_and_resubmits_after_information_needed(client, app, db, people):
    document_id = document_in(app, R.INFO_NEEDED)
    login(client, CLIENT)
    r = client.post(f"/documents/{document_id}/edit", data={"csrf_token": token(client), "action": "save",
                                                             **dict(VALUES, amount="9 000")})
    assert r.status_code == 303 and status_of(document_id) == R.DRAFT
    r = client.post(f"/documents/{document_id}/edit", data={"csrf_token": token(client), "action": "submit",
                                                             "nonce": "fix-1", **dict(VALUES, amount="9 000")})
    assert r.status_code == 303 and status_of(document_id) == R.PROCESSING
    versions = Document.get_by_id(document_id).versions()
    assert [v.number for v in versions] == [2, 1] and versions[0].values["amount"] == "9000.00"
    history = [e.action for e in Document.get_by_id(document_id).history()]
    assert history == ["created", "submit", "request_info", "save", "submit"]


def test_bad_values_are_refused_with_messages_and_nothing_saved(client, app, db, people):
    document_id = document_in(app, R.NEW)
    login(client, CLIENT)
    r = client.post(f"/documents/{document_id}/edit", data={"csrf_token": token(client), "action": "save",
                                                             "amount": "daudz", "term_months": "-3"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="amount-error"' in page and 'id="term_months-error"' in page
    assert Document.get_by_id(document_id).values == {}


def test_submit_without_required_fields_is_422(client, app, db, people):
    document_id = document_in(app, R.NEW)
    login(client, CLIENT)
    r = client.post(f"/documents/{document_id}/edit", data={"csrf_token": token(client), "action": "submit",
                                                             "nonce": "x", "amount": "100"})
    assert r.status_code == 422 and 'id="purpose-error"' in r.get_data(as_text=True)
    assert status_of(document_id) == R.NEW


@pytest.mark.postgres
def test_rejected_upload_keeps_nothing(client, app, db, people):
    document_id = document_in(app, R.NEW)
    login(client, CLIENT)
    files_before = models.StoredFile.select().count()
    r = client.post(f"/documents/{document_id}/edit", data={
        "csrf_token": token(client), "action": "save", **VALUES,
        "files": [(io.BytesIO(PDF), "ok.pdf"), (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 2000), "virus.pdf")]},
        content_type="multipart/form-data")
    assert r.status_code == 422 and "virus.pdf" in r.get_data(as_text=True)
    assert models.StoredFile.select().count() == files_before
    assert Document.get_by_id(document_id).values == {}


@pytest.mark.postgres
def test_history_merges_client_and_staff_actions_in_time_order(client, app, db, people):
    document_id = document_in(app, R.SIGNED)
    history = Document.get_by_id(document_id).history()
    assert [(e.actor, e.action) for e in history] == [
        ("client", "created"), ("client", "submit"), ("staff", "accept"), ("staff", "prepare_package"),
        ("client", "agree"), ("client", "upload_signed")]
    login(client, CLIENT)
    page = client.get(f"/documents/{document_id}").get_data(as_text=True)
    assert "Kārlis Konsultants" in page and 'id="signers"' in page and "Anna Liepa" in page


# --- Staff ------------------------------------------------------------------------------------------

@pytest.mark.postgres
def test_staff_queue_puts_processing_first_and_oldest_first(client, app, db, people):
    ready_with_question = document_in(app, R.READY)
    with model_context(app):
        Document.get_by_id(ready_with_question).transition(
            R.ASK, by=models.User.get(models.User.email == CLIENT), question="?")
    older = document_in(app, R.PROCESSING)
    newer = document_in(app, R.PROCESSING)
    document_in(app, R.NEW)
    login(client, STAFF)
    page = client.get("/staff/documents").get_data(as_text=True)
    queue = page[page.index('id="documents-queue"'):page.index("</table>", page.index('id="documents-queue"'))]
    order = [int(x) for x in re.findall(r'id="staff-document-(\d+)"', queue)]
    assert order == [older, newer, ready_with_question]


def test_staff_see_missing_authority_and_must_confirm_it(client, app, db, people):
    create_user(app, email="valde@example.lv", phone="+37124444444", kind="legal", role="main")
    company = models.Membership.get(models.Membership.user == models.User.get(models.User.email == "valde@example.lv")).client
    colleague = models.User.create(email="kolegis@example.lv", phone="+37125555555",
                                   password_hash=models.hash_password("Zilais-Kalns7!"))
    models.Membership.grant(colleague, company, "colleague")
    document_id = document_in(app, R.PROCESSING, email="kolegis@example.lv")
    login(client, STAFF)
    page = client.get(f"/staff/documents/{document_id}").get_data(as_text=True)
    assert 'id="authority_checked"' in page
    r = client.post(f"/staff/documents/{document_id}/accept", data={"csrf_token": token(client)})
    assert r.status_code == 422 and Document.get_by_id(document_id).accepted_at is None
    r = client.post(f"/staff/documents/{document_id}/accept",
                    data={"csrf_token": token(client), "authority_checked": "y"})
    assert r.status_code == 303 and Document.get_by_id(document_id).accepted_at is not None


def test_staff_must_write_a_comment_to_ask_for_information(client, app, db, people):
    document_id = document_in(app, R.PROCESSING)
    login(client, STAFF)
    r = client.post(f"/staff/documents/{document_id}/request-info", data={"csrf_token": token(client)})
    assert r.status_code == 422 and status_of(document_id) == R.PROCESSING


def test_package_cannot_be_prepared_before_acceptance(client, app, db, people):
    document_id = document_in(app, R.PROCESSING)
    login(client, STAFF)
    r = client.post(f"/staff/documents/{document_id}/package", data={
        "csrf_token": token(client), "files": (io.BytesIO(PDF), "ligums.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 422 and status_of(document_id) == R.PROCESSING


@pytest.mark.postgres
def test_question_then_resend_makes_a_new_package_version(client, app, db, people):
    document_id = document_in(app, R.READY)
    login(client, CLIENT)
    client.post(f"/documents/{document_id}/questions", data={"csrf_token": token(client), "question": "Vai var 36?"})
    assert Document.get_by_id(document_id).waiting  # the question waits on us
    client.post("/logout", data={"csrf_token": token(client)})
    login(client, STAFF)
    assert "Vai var 36?" in client.get(f"/staff/documents/{document_id}").get_data(as_text=True)
    r = client.post(f"/staff/documents/{document_id}/resend", data={
        "csrf_token": token(client), "note": "Jā.", "files": (io.BytesIO(PDF + b"v2"), "grafiks.pdf")},
        content_type="multipart/form-data")
    assert r.status_code == 303
    document = Document.get_by_id(document_id)
    assert document.status == R.READY and not document.question_open and not document.waiting
    assert [f.original_name for f in document.latest_version("package").files()] == ["ligums.pdf", "grafiks.pdf"]


# --- Notifications ----------------------------------------------------------------------------------

@pytest.mark.postgres
def test_information_needed_and_ready_for_signing_are_emailed(client, app, db, people, mailbox):
    document_id = document_in(app, R.PROCESSING)
    login(client, STAFF)
    client.post(f"/staff/documents/{document_id}/request-info",
                data={"csrf_token": token(client), "comment_amount": "Too much."})
    run_jobs(app)
    assert len(mailbox.to(CLIENT)) == 1 and f"/documents/{document_id}" in mailbox.last_text(CLIENT)
    with model_context(app):
        d = Document.get_by_id(document_id)
        user = models.User.get(models.User.email == CLIENT)
        d.transition(R.SUBMIT, by=user, values=dict(VALUES, amount="100.00"))
        d.transition(R.ACCEPT, by=models.User.get(models.User.email == STAFF))
    client.post(f"/staff/documents/{document_id}/package", data={
        "csrf_token": token(client), "include_submission": "y", "files": (io.BytesIO(PDF), "ligums.pdf")},
        content_type="multipart/form-data")
    run_jobs(app)
    assert len(mailbox.to(CLIENT)) == 2 and f"/documents/{document_id}" in mailbox.last_text(CLIENT)
    assert mailbox.to(CLIENT)[-1]["Subject"] != mailbox.to(CLIENT)[0]["Subject"]


# --- Signing ----------------------------------------------------------------------------------------

@pytest.mark.postgres
def test_signed_container_of_the_package_signs_the_document(client, app, db, people):
    document_id = document_in(app, R.SIGNING)
    login(client, CLIENT)
    r = client.post(f"/documents/{document_id}/signed", data={
        "csrf_token": token(client), "container": (io.BytesIO(package_container(app, document_id)), "paka.edoc")},
        content_type="multipart/form-data")
    assert r.status_code == 303 and status_of(document_id) == R.SIGNED
    signed = Document.get_by_id(document_id).latest_version("signed")
    assert [s["name"] for s in signed.signer_list] == ["Jānis Bērziņš"]
    signer = signed.signer_list[0]
    assert (signer["chain"], signer["revocation"]) == ("trusted", "good")
    assert signer["path"][0] == "Kabinets Test Root CA"
    page = html.unescape(client.get(f"/documents/{document_id}").get_data(as_text=True))
    assert "Jānis Bērziņš" in page
    assert "Sertifikāta ķēde: uzticama (Kabinets Test Root CA → Kabinets Test Qualified CA)" in page
    staff = client.application.test_client()
    login(staff, STAFF)
    staff_page = html.unescape(staff.get(f"/staff/documents/{document_id}").get_data(as_text=True))
    assert "Sertifikāta ķēde: uzticama" in staff_page and "nav atsaukts (pārbaudīts)" in staff_page


@pytest.mark.postgres
@pytest.mark.parametrize("case", ["tampered", "unsigned", "other-files", "mimetype-compressed"])
def test_bad_signed_container_is_refused_and_nothing_kept(client, app, db, people, case):
    document_id = document_in(app, R.SIGNING)
    good = {"ligums.pdf": PDF}
    data = {"tampered": lambda: build_container(good, tamper={"ligums.pdf": PDF + b"changed"}),
            "unsigned": lambda: build_container(good, with_signature=False),
            "other-files": lambda: build_container({"cits.pdf": PDF + b"other"}),
            "mimetype-compressed": lambda: build_container(good, compress_mimetype=True)}[case]()
    files_before = models.StoredFile.select().count()
    login(client, CLIENT)
    r = client.post(f"/documents/{document_id}/signed", data={
        "csrf_token": token(client), "container": (io.BytesIO(data), "paka.asice")}, content_type="multipart/form-data")
    assert r.status_code == 422 and 'id="container-error"' in r.get_data(as_text=True)
    assert status_of(document_id) == R.SIGNING and models.StoredFile.select().count() == files_before


def untrusted_signer(case):
    now = datetime.now(timezone.utc)
    return {"impostor": lambda: hierarchy().impostor("Anna", "Liepa", "PNOLV-010101-10101"),
            "expired": lambda: hierarchy().signer("Anna", "Liepa", "PNOLV-010101-10101",
                                                  not_before=now - timedelta(days=400),
                                                  not_after=now - timedelta(days=10)),
            "revoked": lambda: hierarchy().signer("Anna", "Liepa", "PNOLV-010101-10101",
                                                  revoked_at=now - timedelta(days=1))}[case]()


# The Latvian reasons the client reads (translations/lv/LC_MESSAGES/messages.po).
UNTRUSTED_REASONS_LV = {
    "impostor": "Parakstītāja Anna Liepa sertifikātu nav izdevis mums uzticams kvalificēts uzticamības "
                "pakalpojumu sniedzējs: tas nav kvalificēts elektroniskais paraksts.",
    "expired": "Parakstītāja Anna Liepa sertifikāts parakstīšanas brīdī nebija derīgs (tā termiņš bija beidzies "
               "vai vēl nebija sācies).",
    "revoked": "Parakstītāja Anna Liepa sertifikāts ir atsaukts.",
}


@pytest.mark.postgres
@pytest.mark.parametrize("case", ["impostor", "expired", "revoked"])
def test_signature_not_chaining_to_a_trusted_ca_is_refused_with_the_reason(client, app, db, people, case):
    """Refused, not held: the document stays in "Parakstīšana", the client reads why (in
    Latvian), nothing is stored, and the refusal is in the audit log."""
    document_id = document_in(app, R.SIGNING)
    files = {f.original_name: PDF for f in Document.get_by_id(document_id).latest_version("package").files()}
    data = build_container(files, [untrusted_signer(case)])
    files_before = models.StoredFile.select().count()
    login(client, CLIENT)
    r = client.post(f"/documents/{document_id}/signed", data={
        "csrf_token": token(client), "container": (io.BytesIO(data), "paka.edoc")}, content_type="multipart/form-data")
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="container-error"' in page
    assert UNTRUSTED_REASONS_LV[case] in html.unescape(page)
    document = Document.get_by_id(document_id)
    assert document.status == R.SIGNING and document.latest_version("signed") is None
    assert models.StoredFile.select().count() == files_before
    refusal = models.AuditLog.get(models.AuditLog.action == "document.signed_container_refused")
    assert refusal.details["document"] == document_id
    assert refusal.details["refused_signers"][0]["name"] == "Anna Liepa"


def test_the_model_refuses_a_signer_without_a_trusted_chain(app, db, people):
    """Defence in depth: whatever calls the model, a signer the trust check did not accept
    never makes a document "Parakstīts"."""
    document_id = document_in(app, R.SIGNING)
    with model_context(app):
        document = Document.get_by_id(document_id)
        container = stored(app, document.client_id, "signed.edoc", build_container({"ligums.pdf": PDF}))
        for signer in ({"name": "Anna Liepa"}, dict(TRUSTED_SIGNER, chain="untrusted")):
            with pytest.raises(TransitionRefused):
                document.transition(R.UPLOAD_SIGNED, by=actor_user(R.CLIENT), container=container,
                                    signers=[TRUSTED_SIGNER, signer])
    assert status_of(document_id) == R.SIGNING


def test_development_without_a_trust_store_refuses_containers_with_the_reason(client, app, db, people, tmp_path):
    app.config["SIGNING_TRUST_DIR"] = ""  # development: instance/signing-trust, here an empty folder
    app.instance_path = str(tmp_path)
    init_signing_trust(app)
    document_id = document_in(app, R.SIGNING)
    login(client, CLIENT)
    r = client.post(f"/documents/{document_id}/signed", data={
        "csrf_token": token(client), "container": (io.BytesIO(package_container(app, document_id)), "paka.edoc")},
        content_type="multipart/form-data")
    assert r.status_code == 422 and status_of(document_id) == R.SIGNING
    assert ("Parakstītus konteinerus pašlaik nevaram pieņemt: nav norādīta neviena uzticama sertifikācijas "
            "iestāde. Lūdzu, sazinieties ar mums.") in html.unescape(r.get_data(as_text=True))


@pytest.mark.parametrize("trust_dir, says", [("", "SIGNING_TRUST_DIR must name"), ("empty", "holds no certificate")])
def test_production_without_a_trust_store_refuses_to_start(tmp_path, trust_dir, says):
    """No default in production (not even development's instance/signing-trust), and an empty one is refused."""
    if trust_dir:
        (tmp_path / trust_dir).mkdir()
    with pytest.raises(RuntimeError, match=says):
        create_app({"PORTAL_ENV": "production", "SECRET_KEY": "production-test-secret",
                    "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", "MAIL_BACKEND": "smtp",
                    "SMS_BACKEND": "http", "SMS_GATEWAY_URL": "http://127.0.0.1:9/sms", "SIGNING_BACKEND": "none",
                    "SIGNING_TRUST_DIR": str(tmp_path / trust_dir) if trust_dir else ""})


@pytest.mark.postgres
def test_signing_service_invitation_and_callback(client, app, db, people, mailbox):
    document_id = document_in(app, R.SIGNING)
    login(client, CLIENT)
    r = client.post(f"/documents/{document_id}/signing-service", data={"csrf_token": token(client)})
    assert r.status_code == 303 and "/signing-service/dev/" in r.headers["Location"]
    document = Document.get_by_id(document_id)
    invitation = document.pending_invitation()
    assert document.waiting and invitation is not None
    run_jobs(app)
    assert invitation.token in mailbox.last_text(CLIENT)
    body, headers = _callback(app, invitation.token)
    assert client.post("/signing-service/callback", data=body,
                       headers=dict(headers, **{signing.SIGNATURE_HEADER: "0" * 64})).status_code == 403
    assert client.post("/signing-service/callback", data=body, headers=headers).status_code == 200
    assert client.post("/signing-service/callback", data=body, headers=headers).json["result"] == "already done"
    document = Document.get_by_id(document_id)
    assert document.status == R.SIGNED and not document.waiting
    assert [s["name"] for s in document.latest_version("signed").signer_list] == ["Anna Liepa"]


def test_dev_signing_page_completes_through_the_callback(client, app, db, people):
    document_id = document_in(app, R.SIGNING)
    login(client, CLIENT)
    location = client.post(f"/documents/{document_id}/signing-service",
                           data={"csrf_token": token(client)}).headers["Location"]
    page = client.get(location).get_data(as_text=True)
    assert "ligums.pdf" in page and "Anna Liepa" in page
    r = client.post(location, data={"csrf_token": token(client), "signer_name": "Anonymous Person"})
    assert r.status_code == 303 and status_of(document_id) == R.SIGNED
    # The signer is the signed-in person, whatever the form says.
    signers = Document.get_by_id(document_id).latest_version("signed").signer_list
    assert [s["name"] for s in signers] == ["Anna Liepa"]


def lead_and_flashes(page):
    """The text of the status line under the title and of the flash messages, tags dropped."""
    def text(fragment):
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())
    lead = re.search(r'<p class="lead">(.*?)</p>', page, re.S).group(1)
    flashes = re.findall(r'<p class="flash flash--\w+">(.*?)</p>', page, re.S)
    return text(lead), [text(f) for f in flashes]


def test_dev_signing_says_in_latvian_what_happened_and_signed_once(client, app, db, people):
    """Not the callback's code ("Parakstīšanas pakalpojums ziņo: signed."), and the status
    line says "Parakstīts" once, not "Parakstīts Parakstīts."."""
    document_id, location = dev_invitation(app, client)
    login(client, CLIENT)
    r = client.post(location, data={"csrf_token": token(client)}, follow_redirects=True)
    lead, flashes = lead_and_flashes(r.get_data(as_text=True))
    assert flashes == ["Parakstītā pakete ir pieņemta. Parakstīja: Anna Liepa."]
    assert lead.count("Parakstīts") == 1 and lead.startswith("Parakstīts "), lead


@pytest.mark.parametrize("result", ["signed", "already done", "refused by the document's status",
                                    "refused", "unknown invitation", "ignored"])
def test_every_callback_answer_reaches_the_dev_page_as_a_latvian_sentence(app, db, people, result):
    """The callback answers the service in codes; the development page says each in words
    (the ones other than "signed" need a race to reach the page)."""
    from blueprints.documents.signing_service import _dev_outcome
    document_id = document_in(app, R.SIGNING)
    with app.test_request_context("/"):
        invitation = SigningInvitation.create(document=document_id)
        message, kind = _dev_outcome(result, invitation, "Anna Liepa")
    assert kind == ("success" if result == "signed" else "info" if result == "already done" else "error")
    assert result not in message and message.endswith(".")
    assert re.search("[āēīūšžčņļķģ]", message), message  # Latvian, the default language


def test_dev_signing_service_is_refused_in_production(client, app, db, people):
    app.config["PORTAL_ENV"] = "production"
    invitation = SigningInvitation.create(document=document_in(app, R.SIGNING))
    assert client.get(f"/signing-service/dev/{invitation.token}").status_code == 404
    login(client, CLIENT)
    assert client.get(f"/signing-service/dev/{invitation.token}").status_code == 404


def dev_invitation(app, client):
    """A document in Signing with an invitation made for CLIENT; (document id, the link)."""
    document_id = document_in(app, R.SIGNING)
    login(client, CLIENT)
    location = client.post(f"/documents/{document_id}/signing-service",
                           data={"csrf_token": token(client)}).headers["Location"]
    assert "/signing-service/dev/" in location
    client.post("/logout", data={"csrf_token": token(client)})
    return document_id, location


def nothing_signed(document_id):
    invitation = SigningInvitation.get(SigningInvitation.document == document_id)
    return status_of(document_id) == R.SIGNING and invitation.status == "pending"


def test_a_dev_signing_link_without_sign_in_signs_nothing(client, app, db, people):
    document_id, location = dev_invitation(app, client)
    assert client.get(location).status_code == 302  # to the sign-in page
    visitor_token = form_token(client, "/login")  # a visitor's own session has a CSRF token too
    r = client.post(location, data={"csrf_token": visitor_token, "signer_name": "Anonymous Person"})
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert nothing_signed(document_id)


@pytest.mark.parametrize("who", ["other client", "colleague", "staff"])
def test_a_dev_signing_link_of_someone_else_is_404(client, app, db, people, who):
    document_id, location = dev_invitation(app, client)
    if who == "other client":
        create_user(app, email="cits@example.lv", phone="+37124444444")
    elif who == "colleague":  # may act on the same document, but the invitation is Anna's
        create_user(app, email="cits@example.lv", phone="+37124444444")
        with model_context(app):
            colleague = models.User.get(models.User.email == "cits@example.lv")
            models.Membership.grant(colleague, Document.get_by_id(document_id).client, "main")
    email = STAFF if who == "staff" else "cits@example.lv"
    login(client, email)
    assert client.get(location).status_code == 404
    assert client.post(location, data={"csrf_token": token(client), "signer_name": "X"}).status_code == 404
    assert nothing_signed(document_id)


def test_a_dev_signing_link_stops_when_its_person_loses_the_account(client, app, db, people):
    document_id, location = dev_invitation(app, client)
    models.Membership.update(revoked_at=models.utcnow()).execute()
    login(client, CLIENT)
    assert client.get(location).status_code == 404
    assert nothing_signed(document_id)


def test_without_a_signing_service_the_package_is_only_uploaded(client, app, db, people):
    """SIGNING_BACKEND=none (production without a service): no invitation is offered or made."""
    app.config["SIGNING_BACKEND"] = "none"
    from portal import init_domain
    init_domain(app)
    document_id = document_in(app, R.SIGNING)
    login(client, CLIENT)
    page = client.get(f"/documents/{document_id}").get_data(as_text=True)
    assert "documents/%d/signed" % document_id in page and "sign-with-service" not in page
    r = client.post(f"/documents/{document_id}/signing-service", data={"csrf_token": token(client)})
    assert r.status_code == 409 and SigningInvitation.select().count() == 0
    assert status_of(document_id) == R.SIGNING


def test_blank_pdf_questionnaire_downloads(client, app, db, people):
    login(client, CLIENT)
    r = client.get("/documents/forms/company_questionnaire.pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF-") and r.data.rstrip().endswith(b"%%EOF")
    assert client.get("/documents/forms/loan_application.pdf").status_code == 404


def test_pages_render_in_both_languages(client, app, db, people):
    ids = {s: document_in(app, s) for s in R.STATUSES}
    login(client, CLIENT)
    for lang in ("lv", "en"):
        with client.session_transaction() as s:
            s["lang"] = lang
        assert client.get("/documents").status_code == 200
        for document_id in ids.values():
            assert client.get(f"/documents/{document_id}").status_code == 200
    client.post("/logout", data={"csrf_token": token(client)})
    login(client, STAFF)
    assert client.get("/staff/documents").status_code == 200
    for document_id in ids.values():
        assert client.get(f"/staff/documents/{document_id}").status_code == 200


def test_new_document_offers_only_the_types_of_the_account(client, app, db, people):
    login(client, CLIENT)
    page = client.get("/documents").get_data(as_text=True)
    assert 'value="client_questionnaire"' in page and 'value="company_documents"' not in page
    r = client.post("/documents", data={"csrf_token": token(client), "doc_type": "company_documents"})
    assert r.status_code == 422 and Document.select().count() == 0
    r = client.post("/documents", data={"csrf_token": token(client), "doc_type": "client_questionnaire"})
    assert r.status_code == 303 and Document.get().status == R.NEW


def test_sha256_of_stored_files_is_kept(app, db, people):
    document_id = document_in(app, R.READY)
    f = Document.get_by_id(document_id).latest_version("package").files()[0]
    assert f.sha256 == hashlib.sha256(PDF).hexdigest()


def test_row_action_refused_from_the_list_shows_the_real_status(client, app, db, people):
    document_id = document_in(app, R.PROCESSING)
    login(client, CLIENT)
    r = client.post(f"/documents/{document_id}/agree", data={"csrf_token": token(client)},
                    headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and f'data-status="{R.PROCESSING}"' in html and "flash--error" in html


def test_upload_forms_still_need_the_csrf_token(client, app, db, people):
    document_id = document_in(app, R.NEW)
    login(client, CLIENT)
    r = client.post(f"/documents/{document_id}/edit", data={"action": "save", **VALUES})
    assert r.status_code == 400 and Document.get_by_id(document_id).values == {}


BIG_BODY = 152 * 1024 * 1024  # above the 150 MB policies, below the 160 MB backstop


def post_declaring(client, url, length=None):
    """A multipart POST whose Content-Length says ``length`` (None: its real length). The size
    cap reads only that header, so a big one is answered before a byte of the body is read."""
    return client.post(url, data={"csrf_token": token(client)}, content_type="multipart/form-data",
                       environ_overrides={"CONTENT_LENGTH": str(length)} if length else {})


UPLOAD_URLS = ["/documents/{}/edit", "/documents/{}/files", "/documents/{}/signed"]


@pytest.mark.parametrize("doc_type", ["client_questionnaire", "loan_application"])  # 150 and 200 MB policies
def test_uploads_to_someone_elses_or_a_missing_document_are_404_whatever_the_size(client, app, db, people,
                                                                                   doc_type):
    create_user(app, email="cits@example.lv", phone="+37124444444")
    theirs = document_in(app, R.NEW, email="cits@example.lv", doc_type=doc_type)
    missing = theirs + 1000
    login(client, CLIENT)
    for url in UPLOAD_URLS:
        for document_id in (theirs, missing):
            for length in (None, BIG_BODY):
                r = post_declaring(client, url.format(document_id), length)
                assert r.status_code == 404, (url, document_id == theirs, length, r.status_code)


def test_a_big_upload_to_ones_own_document_still_gets_413(client, app, db, people):
    mine = document_in(app, R.NEW, doc_type="client_questionnaire")
    login(client, CLIENT)
    assert post_declaring(client, f"/documents/{mine}/edit", BIG_BODY).status_code == 413
    assert post_declaring(client, f"/documents/{mine}/signed", 51 * 1024 * 1024).status_code == 413


def test_staff_uploads_to_a_missing_document_are_404_whatever_the_size(client, app, db, people):
    login(client, STAFF)
    for url in ("/staff/documents/4242/package", "/staff/documents/4242/resend"):
        for length in (None, BIG_BODY):
            assert post_declaring(client, url, length).status_code == 404, (url, length)


def test_unchanged_poll_sends_no_cookie(client, app, db, people):
    document_in(app, R.PROCESSING)
    login(client, CLIENT)
    page = client.get("/documents").get_data(as_text=True)
    poll_url = re.search(r'hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")
    with client.session_transaction() as s:
        s["seen_at"] -= 60
    r = client.get(poll_url, headers={"HX-Request": "true"})
    assert r.status_code == 204 and "Set-Cookie" not in r.headers
    head = "".join(f"{k}: {v}\r\n" for k, v in r.headers.items())
    print(f"\nUNCHANGED REFRESH HEADERS: {len(head)} bytes")


def test_amounts_are_shown_the_latvian_way(client, app, db, people):
    document_id = document_in(app, R.PROCESSING)
    login(client, CLIENT)
    assert "15\u00a0000,50\u00a0€" in client.get(f"/documents/{document_id}").get_data(as_text=True).replace(" €", "\u00a0€")
    editable = document_in(app, R.INFO_NEEDED)
    assert 'value="15000,50"' in client.get(f"/documents/{editable}/edit").get_data(as_text=True)


def test_pdf_questionnaire_is_submitted_with_its_file(client, app, db, people):
    create_user(app, email="valde@example.lv", phone="+37124444444", kind="legal", role="main")
    document_id = document_in(app, R.NEW, email="valde@example.lv", doc_type="company_questionnaire")
    login(client, "valde@example.lv")
    page = client.get(f"/documents/{document_id}/edit").get_data(as_text=True)
    assert "/documents/forms/company_questionnaire.pdf" in page
    r = client.post(f"/documents/{document_id}/edit", data={"csrf_token": token(client), "action": "submit",
                                                             "nonce": "q1"})
    assert r.status_code == 422 and 'id="files-error"' in r.get_data(as_text=True)
    r = client.post(f"/documents/{document_id}/edit", data={
        "csrf_token": token(client), "action": "submit", "nonce": "q2",
        "files": (io.BytesIO(PDF), "anketa.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 303 and status_of(document_id) == R.PROCESSING
    version = Document.get_by_id(document_id).latest_version("submission")
    assert [f.original_name for f in version.files()] == ["anketa.pdf"]


# --- Issue 11: what a client trips on in the list, the package and the signed container -----------

def row_of(page, document_id):
    start = page.index(f'id="document-{document_id}-row"')
    return page[start:page.index("</tr>", start)]


def test_information_needed_row_offers_no_blind_resubmit(client, app, db, people):
    """The list leads to what we asked for; a "Submit" posted from a stale list opens the
    document's page with the comments, where "Submit again" sends it."""
    asked = document_in(app, R.INFO_NEEDED)
    fresh = document_in(app, R.NEW)
    login(client, CLIENT)
    page = client.get("/documents").get_data(as_text=True)
    assert f"/documents/{asked}/submit" not in row_of(page, asked)
    assert f"/documents/{asked}/edit" in row_of(page, asked)
    assert f"/documents/{fresh}/submit" in row_of(page, fresh)  # a new document is still one click
    r = client.post(f"/documents/{asked}/submit", data={"csrf_token": token(client), "nonce": "stale-row"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/documents/{asked}#comments")
    assert status_of(asked) == R.INFO_NEEDED
    r = client.post(f"/documents/{asked}/submit", data={"csrf_token": token(client), "nonce": "stale-row"},
                    headers={"HX-Request": "true"})
    assert f"/documents/{asked}#comments" in r.headers["HX-Location"] and status_of(asked) == R.INFO_NEEDED
    shown = client.get(f"/documents/{asked}").get_data(as_text=True)
    comments = shown.index('id="comments"')
    assert shown.index("The amount is above the limit.", comments) < shown.index('id="resubmit-document"', comments)
    r = client.post(f"/documents/{asked}/resubmit", data={"csrf_token": token(client), "nonce": "read-it"})
    assert r.status_code == 303 and status_of(asked) == R.PROCESSING


def test_ready_for_signing_row_leads_to_the_package_not_a_blind_agree(client, app, db, people):
    """The package is agreed to on the document's page, where its files are listed."""
    ready = document_in(app, R.READY)
    login(client, CLIENT)
    row = row_of(client.get("/documents").get_data(as_text=True), ready)
    assert f"/documents/{ready}/agree" not in row and f"/documents/{ready}#package" in row
    shown = client.get(f"/documents/{ready}").get_data(as_text=True)
    package = shown.index('id="package"')
    assert shown.index(f"/documents/{ready}/agree", package) > package


def start_as_client(client, doc_type, **extra):
    return client.post("/documents", data={"csrf_token": token(client), "doc_type": doc_type, **extra})


@pytest.mark.postgres
def test_a_second_questionnaire_is_refused_while_the_first_is_open(client, app, db, people):
    first = document_in(app, R.NEW, doc_type="client_questionnaire")
    Document.update(status=R.PROCESSING).where(Document.id == first).execute()
    login(client, CLIENT)
    for extra in ({}, {"another": "client_questionnaire"}):  # no confirmation starts a second one
        r = start_as_client(client, "client_questionnaire", **extra)
        page = html.unescape(r.get_data(as_text=True))
        assert r.status_code == 422 and Document.select().count() == 1
        assert f"Jums jau ir “Klienta anketa (privātpersona)” Nr. {first} (“Apstrādē”)" in page
        assert f'href="/documents/{first}"' in page and 'id="start-another"' not in page
    with model_context(app), pytest.raises(TransitionRefused):
        Document.start(Document.get_by_id(first).client, "client_questionnaire", None)
    Document.update(status=R.SIGNED).where(Document.id == first).execute()
    assert start_as_client(client, "client_questionnaire").status_code == 303  # a signed one is done


def test_another_loan_application_is_started_only_when_confirmed(client, app, db, people):
    first = document_in(app, R.PROCESSING)
    login(client, CLIENT)
    r = start_as_client(client, "loan_application")
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and Document.select().count() == 1
    assert f'href="/documents/{first}"' in page and 'name="another" value="loan_application"' in page
    assert start_as_client(client, "loan_application", another="contract_amendment").status_code == 422
    r = start_as_client(client, "loan_application", another="loan_application")
    assert r.status_code == 303 and Document.select().count() == 2


def package_with_two_contracts(client, app):
    """A package staff prepared with two different files both called "līgums.pdf" and a copy
    of the first under another name (the same document once)."""
    document_id = document_in(app, R.PROCESSING)
    with model_context(app):
        Document.get_by_id(document_id).transition(R.ACCEPT, by=models.User.get(models.User.email == STAFF))
    login(client, STAFF)
    r = client.post(f"/staff/documents/{document_id}/package", data={
        "csrf_token": token(client), "files": [(io.BytesIO(PDF), "līgums.pdf"), (io.BytesIO(PDF + b"2"), "līgums.pdf"),
                                                (io.BytesIO(PDF), "kopija.pdf")]},
        content_type="multipart/form-data")
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    client.post("/logout", data={"csrf_token": token(client)})
    return document_id


def test_package_file_names_are_distinct_in_the_list_and_the_zip(client, app, db, people):
    import zipfile
    document_id = package_with_two_contracts(client, app)
    login(client, CLIENT)
    page = html.unescape(client.get(f"/documents/{document_id}").get_data(as_text=True))
    package = page[page.index('id="package"'):page.index("</section>", page.index('id="package"'))]
    assert re.findall(r"download>([^<]+)</a>", package)[:-1] == ["līgums.pdf", "līgums (2).pdf"]
    version = Document.get_by_id(document_id).latest_version("package").number
    assert f'href="/documents/{document_id}/versions/{version}/files.zip"' in package
    r = client.get(f"/documents/{document_id}/versions/{version}/files.zip")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.data)) as bundle:
        assert bundle.namelist() == ["līgums.pdf", "līgums (2).pdf"]
        assert [bundle.read(n) for n in bundle.namelist()] == [PDF, PDF + b"2"]
    assert r.headers["Content-Disposition"] == (
        f"attachment; filename=\"Aizdevuma pieteikums Nr. {document_id} parakstisanai, {version}. versija.zip\"; "
        f"filename*=UTF-8''Aizdevuma%20pieteikums%20Nr.%20{document_id}%20parakst%C4%AB%C5%A1anai%2C%20{version}."
        "%20versija.zip")
    assert r.headers["X-Content-Type-Options"] == "nosniff" and "no-store" in r.headers["Cache-Control"]
    assert int(r.headers["Content-Length"]) == len(r.data)


@pytest.mark.postgres
def test_a_version_zip_is_only_for_whom_may_see_the_document(client, app, db, people):
    document_id = document_in(app, R.READY)
    url = f"/documents/{document_id}/versions/2/files.zip"
    create_user(app, email="cits@example.lv", phone="+37122222222")
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"] and not anonymous.data.startswith(b"PK")
    login(client, "cits@example.lv")
    assert client.get(url).status_code == 404
    assert client.get(f"/documents/{document_id}/versions/1/files.zip").status_code == 404
    client.post("/logout", data={"csrf_token": token(client)})
    login(client, CLIENT)
    assert client.get(url).status_code == 200
    assert client.get(f"/documents/{document_id}/versions/1/files.zip").status_code == 404  # no files in it
    assert client.get(f"/documents/{document_id}/versions/9/files.zip").status_code == 404
    assert not models.AuditLog.select().where(models.AuditLog.action == "document.version_downloaded").exists()
    client.post("/logout", data={"csrf_token": token(client)})
    login(client, STAFF)
    assert client.get(url).status_code == 200  # staff too, and it is recorded
    assert models.AuditLog.select().where(models.AuditLog.action == "document.version_downloaded").exists()


@pytest.mark.postgres
def test_the_signed_container_downloads_for_its_owner_only(client, app, db, people):
    document_id = document_in(app, R.SIGNED)
    signing = document_in(app, R.SIGNING)
    container = Document.get_by_id(document_id).latest_version("signed").files()[0]
    with adapters.of(app).storage.open(container.key) as stream:
        data = stream.read()
    url = f"/documents/{document_id}/signed-container"
    create_user(app, email="cits@example.lv", phone="+37122222222")
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    login(client, "cits@example.lv")
    assert client.get(url).status_code == 404
    client.post("/logout", data={"csrf_token": token(client)})
    login(client, CLIENT)
    assert f'href="{url}"' in client.get(f"/documents/{document_id}").get_data(as_text=True)
    r = client.get(url)
    assert r.status_code == 200 and r.data == data
    assert r.headers["Content-Disposition"] == (
        f"attachment; filename=\"Aizdevuma pieteikums Nr. {document_id}, parakstita pakete.edoc\"; "
        f"filename*=UTF-8''Aizdevuma%20pieteikums%20Nr.%20{document_id}%2C%20parakst%C4%ABt%C4%81%20pakete.edoc")
    assert "sandbox" in r.headers["Content-Security-Policy"]
    assert client.get(f"/documents/{signing}/signed-container").status_code == 404  # not signed yet
    assert 'id="download-signed"' not in client.get(f"/documents/{signing}").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": token(client)})
    login(client, STAFF)
    assert client.get(url).status_code == 200
    assert models.AuditLog.select().where(models.AuditLog.action == "document.signed_container_downloaded").exists()
    assert client.get(f"/documents/{document_id}/files/{container.id}").status_code == 200  # one file: recorded too
    assert models.AuditLog.select().where(models.AuditLog.action == "document.file_downloaded").exists()


def test_upload_hints_say_what_the_policy_asks(client, app, db, people):
    """One document per file and the types and sizes, from the policy (rules/uploads.py)."""
    document_id = document_in(app, R.NEW)
    signing = document_in(app, R.SIGNING)
    login(client, CLIENT)
    policy = R.DOCUMENT_TYPES["loan_application"].policy
    assert policy.one_document_per_file and not R.SIGNED_CONTAINER_POLICY.one_document_per_file
    page = html.unescape(client.get(f"/documents/{document_id}/edit").get_data(as_text=True))
    hint = page[page.index('id="files-hint"'):page.index("</p>", page.index('id="files-hint"'))]
    assert "Katru dokumentu pievienojiet atsevišķā failā; visas viena dokumenta lapas – vienā failā." in hint
    assert ", ".join(sorted(e.upper() for e in policy.extensions)) in hint
    page = html.unescape(client.get(f"/documents/{signing}").get_data(as_text=True))
    hint = page[page.index('id="container-hint"'):page.index("</p>", page.index('id="container-hint"'))]
    assert "EDOC" in hint and "atsevišķā failā" not in hint  # one container holds every document


def test_signing_at_the_service_leaves_a_container_to_download(client, app, db, people):
    """What the service returns after signing is kept: an ASiC-E container of the package
    (the development service's signature is not qualified, so it is not trusted back)."""
    import zipfile

    from uploads.containers import check_container
    document_id = document_in(app, R.SIGNING)
    login(client, CLIENT)
    location = client.post(f"/documents/{document_id}/signing-service",
                           data={"csrf_token": token(client)}).headers["Location"]
    assert client.post(location, data={"csrf_token": token(client)}).status_code == 303
    assert status_of(document_id) == R.SIGNED
    page = client.get(f"/documents/{document_id}").get_data(as_text=True)
    assert f'href="/documents/{document_id}/signed-container"' in page
    r = client.get(f"/documents/{document_id}/signed-container")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/vnd.etsi.asic-e+zip"
    assert ".asice" in r.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(r.data)) as container:
        assert container.namelist()[:2] == ["mimetype", "ligums.pdf"] and container.read("ligums.pdf") == PDF
    report = check_container(r.data, [hashlib.sha256(PDF).hexdigest()], trust=app.extensions["signing_trust"])
    assert [str(p) for p in report.problems if "not issued by a qualified" not in str(p)] == []
    assert [s["name"] for s in report.refused] == ["Anna Liepa"]  # signed, by an untrusted development key


def test_a_service_container_the_policy_refuses_still_signs_with_the_package_files(client, app, db, people,
                                                                                   monkeypatch):
    import dataclasses
    monkeypatch.setattr(R, "SIGNED_CONTAINER_POLICY", dataclasses.replace(R.SIGNED_CONTAINER_POLICY, max_file_size=100))
    document_id = document_in(app, R.SIGNING)
    login(client, CLIENT)
    location = client.post(f"/documents/{document_id}/signing-service",
                           data={"csrf_token": token(client)}).headers["Location"]
    assert client.post(location, data={"csrf_token": token(client)}).status_code == 303
    assert status_of(document_id) == R.SIGNED
    assert [f.original_name for f in Document.get_by_id(document_id).latest_version("signed").files()] == ["ligums.pdf"]
    assert client.get(f"/documents/{document_id}/signed-container").status_code == 404


@pytest.mark.postgres
def test_a_questionnaire_open_under_a_colleague_is_refused_without_showing_it(client, app, db, people):
    """One per account, also when the open one is a colleague's the user may not see."""
    create_user(app, email="valde@example.lv", phone="+37124444444", kind="legal", role="main")
    company = models.Membership.get(models.Membership.user == models.User.get(models.User.email == "valde@example.lv")).client
    colleague = models.User.create(email="kolegis@example.lv", phone="+37125555555",
                                   password_hash=models.hash_password("Zilais-Kalns7!"))
    models.Membership.grant(colleague, company, "colleague")
    bosses = document_in(app, R.NEW, email="valde@example.lv", doc_type="company_questionnaire")
    login(client, "kolegis@example.lv", password="Zilais-Kalns7!")
    r = start_as_client(client, "company_questionnaire")
    page = html.unescape(r.get_data(as_text=True))
    assert r.status_code == 422 and Document.select().count() == 1
    assert "Šim kontam šī anketa jau ir atvērta" in page and f"/documents/{bosses}" not in page
