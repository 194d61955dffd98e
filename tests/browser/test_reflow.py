"""Every page of every role fits a 320 px wide screen (WCAG 1.4.10 reflow), JavaScript on and off.

axe-core cannot see sideways scrolling, so this test measures it: each page is opened in a
320 px wide tab and fails when ``document.documentElement.scrollWidth > window.innerWidth``,
naming the elements that reach past the edge. The data is hostile on purpose: a 300-character
subject without a space, e-mail addresses of 130 characters, file and company names that do not
break, comments and answers made of one long word, and a document in every status.

The pages come from the app's URL map: every GET route is either visited, with its arguments
filled by the signed-in person's own objects, or listed in ``NOT_PAGES`` with the reason it is
not a page (a file, a poll, a fragment). A new page makes
``test_the_reflow_test_visits_every_page_of_the_url_map`` fail until it is added here.

``REFLOW_SHOTS=/some/dir`` also screenshots every page at 320 and 1280 px.
"""
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path

import pytest
from playwright.sync_api import expect

import models
import rules
from models.applications import Application
from models.documents import Document
from models.messages import CLIENT, STAFF, Thread, ThreadRating
from rules import documents as R
from rules import outbox

from conftest import PASSWORD  # tests/conftest.py

from .conftest import Person
from .helpers import Axe, fill_client_step, fill_contact_step, request_recovery, sign_in, submit

WIDTH = 320
SHOTS = os.environ.get("REFLOW_SHOTS")

# --- Hostile content -------------------------------------------------------------------------

LONG_WORD = ("Nepieciešamāinformācijaparpieteikumu" * 10)[:300]       # 300 characters, no space
LONG_DOMAIN = "starptautiskas-logistikas-un-buvniecibas-pakalpojumu-sniedzejs.example.lv"
LONG_FILE = ("Bankas_konta_izraksts_par_periodu_no_2026_gada_1_janvara_lidz_2026_gada_31_decembrim_"
             "ar_visiem_pielikumiem_un_parakstiem.pdf")
LONG_COMPANY = "SIA Starptautiskāsloģistikasunbūvniecībaspakalpojumusniedzējs"
LONG_SIGNER = "Jānis Bērziņš-Kalniņš-Ozoliņš (Starptautiskāsloģistikasunbūvniecībaspakalpojumusniedzējs)"
LONG_CA = "EParakstsQualifiedCertificationAuthorityForNaturalPersons2026"

# Routes that are not pages: files, polls and fragments htmx asks for. Everything else in the
# URL map that answers GET is visited below.
NOT_PAGES = {
    "main_user.staff_file": "the signed authorisation's download",
    "power_of_attorney.staff_file": "the signed power of attorney's download",
    "static": "stylesheet and scripts",
    "main.health": "the load balancer's JSON health check",
    "documents.rows": "the documents list's poll (an htmx fragment or 204)",
    "documents.row": "one row of the documents list (an htmx fragment)",
    "documents.download": "a file download",
    "documents.download_signed": "the signed container, a file download",
    "documents.download_version": "a version's files as a zip",
    "documents.questionnaire_pdf": "a PDF",
    "applications.receipt": "a PDF",
    "identification.staff_file": "an identification photo's download",
    "identification.status": "the identification list's poll (an htmx fragment; without htmx the page)",
    "applications.decision_pdf": "a decision as a PDF",
    "applications.staff_decision_pdf": "a decision as a PDF",
    "messages.attachment": "a file download",
    "messages.poll": "a thread's poll (an htmx fragment or 204)",
    "eid.start": "redirects to the identity provider",
    "eid.callback": "the identity provider's answer: redirects, or the failure page (tests/browser/test_eid.py)",
    "dev_broker.discovery": "the development broker's discovery document (JSON)",
    "dev_broker.jwks": "the development broker's keys (JSON)",
    "finance.invoice_pdf": "a PDF",
    "finance.invoice_qr": "the payment QR code, an SVG image",
    "finance.credit_note_pdf": "a PDF",
    "staff.audit_csv": "the audit log as a CSV download",
    "staff.documents_csv": "the documents queue as a CSV download",
    "staff.messages_csv": "the messages queue as a CSV download",
    "operations.ready": "the readiness check's JSON",
    "operations.metrics": "Prometheus' text format",
    # rq-dashboard (blueprints/operations.py): its own Bootstrap layout, not the portal's; an
    # administrator's desktop tool (tests/browser/test_job_dashboard.py opens it).
    **{f"rq_dashboard.{name}": "rq-dashboard's page, JSON or file (an administrator's tool)" for name in (
        "favicon", "job_info", "job_view", "jobs_overview", "list_jobs", "list_queues", "list_workers",
        "queues_overview", "requeue_all", "static", "workers_overview")},
}


def long_email(tag):
    """An address of about 130 characters: a 64-character local part and a long domain."""
    local = (tag + ".ar.loti.garu.e.pasta.adresi.kas.neietilpst.nevienaa.rindaa")[:64].rstrip(".")
    return f"{local}@{LONG_DOMAIN}"


_phones = iter(range(100, 1000))


def phone():
    return f"+371275{next(_phones):05d}"


# --- The world: people of every role and their objects ------------------------------------------

@dataclass
class Role:
    name: str
    email: str
    pages: list = field(default_factory=list)  # (label, path, expected status)
    forms: list = field(default_factory=list)  # (label, path, a field of the form) sent empty


@dataclass
class World:
    roles: dict
    invitation_tokens: list


def _stored(client, user, name=LONG_FILE, extension="pdf"):
    return models.StoredFile.create(key="reflow-" + secrets.token_hex(12), sha256="0" * 64, size=15,
                                    original_name=name, extension=extension,
                                    content_type="application/pdf", client=client, uploaded_by=user)


def _documents_in_every_status(client, user, staff):
    """One loan application in each status (two in Ready for signing: with and without a
    question), every answer, comment, file name and signer name as long as it gets."""
    values = {"amount": "123456789.00", "term_months": "360", "purpose": LONG_WORD}
    comments = {"purpose": LONG_WORD, R.FILES_FIELD: LONG_WORD, R.GENERAL_FIELD: LONG_WORD}
    signer = {"name": LONG_SIGNER, "chain": "trusted", "path": [LONG_SIGNER, LONG_CA, LONG_CA + "Root"],
              "revocation": R.REVOCATION_GOOD}

    def started():
        document = Document.start(client, "loan_application", user)
        document.transition(R.SAVE, by=user, values=values,
                            new_files=[_stored(client, user), _stored(client, user, LONG_WORD[:120] + ".docx", "docx")])
        return document

    def submitted():
        document = started()
        document.transition(R.SUBMIT, by=user)
        return document

    def ready():
        document = submitted()
        document.transition(R.ACCEPT, by=staff, authority_checked=True, note=LONG_WORD)
        document.transition(R.PREPARE_PACKAGE, by=staff, files=[_stored(client, staff)], note=LONG_WORD)
        return document

    documents = {R.NEW: started(), R.PROCESSING: submitted()}
    info = submitted()
    info.transition(R.REQUEST_INFO, by=staff, comments=comments)
    documents[R.INFO_NEEDED] = info
    draft = submitted()
    draft.transition(R.REQUEST_INFO, by=staff, comments=comments)
    draft.transition(R.SAVE, by=user, values=values)
    documents[R.DRAFT] = draft
    documents[R.READY] = ready()
    asked = ready()
    asked.transition(R.ASK, by=user, question=LONG_WORD)
    documents["ready_with_question"] = asked
    signing = ready()
    signing.transition(R.AGREE, by=user)
    signing.transition(R.SIGN_WITH_SERVICE, by=user)
    documents[R.SIGNING] = signing
    signed = ready()
    signed.transition(R.AGREE, by=user)
    signed.transition(R.UPLOAD_SIGNED, by=user, container=_stored(client, user, LONG_FILE[:-4] + ".edoc", "edoc"),
                      signers=[signer])
    documents[R.SIGNED] = signed
    return documents


def _threads(client, user, staff):
    """An answered thread with a 300-character subject, a long word, a long attachment name and
    a rating; and one waiting for our answer."""
    answered = Thread.create(client=client, created_by=user, subject=LONG_WORD)
    answered.add_message(CLIENT, author=user, body=LONG_WORD, files=[_stored(client, user)])
    answered.add_message(STAFF, author=staff, body=LONG_WORD + "\n\n" + long_email("atbilde"))
    ThreadRating.create(thread=answered, user=user, score=2, comment=LONG_WORD)
    waiting = Thread.create(client=client, created_by=user, subject=LONG_WORD[:120])
    waiting.add_message(CLIENT, author=user, body=LONG_WORD, files=[_stored(client, user)])
    return answered, waiting


def _staff_records():
    """What only staff see: notifications to deal with, the development outbox, the audit log."""
    for status in (outbox.FAILED, outbox.UNKNOWN):
        models.Notification.create(channel="email", recipient=long_email("pazinojums"), template="document_signed",
                                   status=status, attempts=5, error=LONG_WORD)
    models.DevOutbox.create(channel="email", recipient=long_email("izejosie"), subject=LONG_WORD,
                            body=LONG_WORD + "\n" + long_email("saite"))
    models.AuditLog.record("document.created", actor=long_email("audits"), ip="2001:db8:85a3::8a2e:370:7334",
                           note=LONG_WORD, file=LONG_FILE)


def _invoices(client, staff):
    """A partly paid invoice with a description of one long word, and an overdue one."""
    from datetime import date, timedelta
    from decimal import Decimal

    from models.finance import Invoice
    today = date.today()
    partly = Invoice.issue(client, staff, Decimal("123456789.99"), today + timedelta(days=30), LONG_WORD,
                           purpose_ref="application:" + LONG_WORD[:90])
    partly.record_payment(Decimal("1234567.89"), today, by=staff, note=LONG_WORD)
    partly.issue_credit_note(Decimal("12345678.90"), LONG_WORD, staff)
    overdue = Invoice.issue(client, staff, Decimal("150.00"), today - timedelta(days=5), LONG_WORD[:120],
                            issued_on=today - timedelta(days=20))
    return partly, overdue


def _statement_entry():
    """An imported statement entry nobody could match: a long payer and long payment details."""
    from models.finance import BankStatement, StatementEntry
    from rules import finance as F
    statement = BankStatement.create(account="LV80BANK0000435195001", digest="0" * 64)
    StatementEntry.create(statement=statement, account=statement.account, entry_key="reflow-1",
                          amount="987654321.00", debtor=LONG_WORD[:140], text=LONG_WORD[:140],
                          reference="RF00" + "9" * 21, status=F.UNMATCHED, reason=F.REASON_NO_INVOICE)


def _services(client, staff, user):
    """A loan with a long schedule and a long programme name, and a permit with a long number
    and a request about it (issue 15)."""
    from datetime import date, timedelta
    from decimal import Decimal

    from models.services import Service, ServiceRequest
    from rules import services as S
    today = date.today()
    schedule = [(today + timedelta(days=30 * n), Decimal("123456789.99")) for n in range(1, 13)]
    loan = Service.save_from(None, client, staff, {"category": S.LOAN, "number": LONG_WORD[:50],
                                                   "name": LONG_WORD[:200], "amount": Decimal("999999999.99"),
                                                   "valid_from": today, "valid_until": schedule[-1][0],
                                                   "note": LONG_WORD}, schedule)
    permit = Service.save_from(None, client, staff, {"category": S.PERMIT, "number": "RF-" + LONG_WORD[:40],
                                                     "name": LONG_WORD[:200], "valid_until": today}, [])
    ServiceRequest.submit(permit, S.EXTEND, LONG_WORD, user)
    return loan, permit


def _service_pages(role, services):
    loan, permit = services
    reached = 404 if role.name == "colleague" else 200  # a colleague has no right "services" by default
    role.pages += [("services", "/services", reached), ("service loan", f"/services/{loan.id}", reached),
                   ("service permit", f"/services/{permit.id}", reached)]
    if reached == 200:
        role.forms += [("service request, errors", f"/services/{permit.id}", "#details")]


def _client_pages(role, client, documents, threads, invitation, invoices):
    answered, waiting = threads
    finance = 404 if role.name == "colleague" else 200  # a colleague has no right "finance" by default
    role.pages += [("finance", "/finance", finance)]
    role.pages += [(f"invoice {n}", f"/finance/invoices/{i.id}", finance) for n, i in enumerate(invoices)]
    role.pages += [("dashboard", "/dashboard", 200), ("documents", "/documents", 200)]
    for status, document in documents.items():
        role.pages.append((f"document {status}", f"/documents/{document.id}", 200))
        if status in (R.NEW, R.INFO_NEEDED, R.DRAFT):
            role.pages.append((f"edit {status}", f"/documents/{document.id}/edit", 200))
    role.pages += [("messages", "/messages", 200), ("new message", "/messages/new", 200),
                   ("thread answered", f"/messages/{answered.id}", 200),
                   ("thread waiting", f"/messages/{waiting.id}", 200),
                   ("dev signing service", f"/signing-service/dev/{invitation}", 200)]
    role.forms += [("new message, errors", "/messages/new", "#body")]


def _person(**extra):
    return {"full_name": LONG_WORD[:200], "personal_code": "", "birth_date": "02.03.1980", **extra}


def _applications(role, client, user):
    """An application of the client's kind as long as it gets: a complete draft (its "check your
    answers" page), the same submitted, and a draft with what is missing marked."""
    if client.kind == rules.NATURAL:
        services = ["N_NEW"]
        data = {**_person(personal_code="010101-10006", birth_date="01.01.1901"), "residence_permit": False,
                "language": "lv"}
        unfinished = ["N_NEW", "N_EXTRA"]
    else:
        services = ["L_ACCOUNT"]
        owner = {**_person(citizenship="DE", residence="DE"), "share": "33,33"}
        data = {"company_name": LONG_COMPANY, "registration_number": "40003000001", "registration_date": "15.03.2012",
                "industry": "professional", "language": "lv", "personal_manager": "", "employees": "250+",
                "us_related": True, "licensed_payment_institution": False,
                "representatives": [{**_person(citizenship="EE"), "position": LONG_WORD[:200],
                                     "representation_type": "attorney", "email": long_email("parstavis"),
                                     "represents": True}] * 2,
                "owners_natural": [owner, owner],
                "owners_legal": [{"company_name": LONG_COMPANY, "registration_number": LONG_WORD[:40],
                                  "registration_date": "01.01.2001", "country": "LT", "share": "33,34"}],
                "ubos": [{**_person(citizenship="DE", tax_residence="DE"), "share": "100"}],
                "submitter": {**_person(), "latvian": False, "role": "authorised"}}
        unfinished = ["L_ACCOUNT", "L_ACQUIRING", "L_ECOM"]
    draft = Application.create(client=client, created_by=user, kind=client.kind, services=services, data=data)
    submitted = Application.create(client=client, created_by=user, kind=client.kind, services=services, data=data,
                                   status="submitted", submitted_at=models.utcnow())
    missing = Application.create(client=client, created_by=user, kind=client.kind, services=unfinished,
                                 data={"company_name": LONG_WORD[:200]} if client.kind == rules.LEGAL else {})
    # Decided, with its fee invoice, and a service to add (issues 14, 15): the client's and staff's pages.
    from datetime import date, timedelta
    from decimal import Decimal

    from models.decisions import ApplicationDecision
    from models.finance import Invoice
    from rules import decisions as DR
    if client.kind == rules.NATURAL:  # the company's stays undecided: staff see the decision form there
        ApplicationDecision.create(application=submitted, service=services[0],
                                   question=DR.questions_for(services[0])[0],
                                   code=DR.choices_for(services[0])[1].code, positive=False, reason=LONG_WORD)
    Invoice.issue(client, None, Decimal("123456789.99"), date.today() + timedelta(days=30), LONG_WORD[:200],
                  purpose="commission_fee", application=submitted)
    role.submitted_application = submitted
    role.pages += [("applications", "/applications", 200),
                   ("application form", f"/applications/{draft.id}/edit", 200),
                   ("application, check your answers", f"/applications/{draft.id}/check", 200),
                   ("application submitted", f"/applications/{submitted.id}", 200),
                   ("application form, what is missing", f"/applications/{missing.id}/edit?check=1", 200)]
    return _identifications(role, client, user, submitted)


def _identifications(role, client, user, submitted):
    """Who identifies for the submitted application (the registrant, or the long-named
    representative invited by a personal link), its page, the development provider's page, and a
    video identification agreed with a long note. Returns a row for the staff pages."""
    from adapters import of
    from models.identification import Identification, Links, prepare, token_hash
    from rules import identification as I
    from rules.calendar import next_working_day
    links = Links(lambda t: f"/identification/invitation/{t}", lambda a: f"/applications/{a}/identification")
    rows = prepare(submitted, user, links)
    row = rows[0]
    role.pages += [("identification", f"/applications/{submitted.id}/identification", 200)]
    if row.invited:
        token = f"reflow-{role.name}-{secrets.token_hex(8)}"
        Identification.update(token_hash=token_hash(token)).where(Identification.id == row.id).execute()
        role.pages += [("identification by personal link", f"/identification/invitation/{token}", 200)]
    target = Identification.get_by_id(row.id).start(of(models.runtime.runtime.owner).identification,
                                                    f"/applications/{submitted.id}/identification")
    role.pages += [("development identification provider", target, 200)]
    role.forms += [("development identification provider, errors", target, "#document_photo")]
    when = datetime.combine(next_working_day(models.utcnow().date()), time(8, 0))  # 10:00 in Riga
    staff = models.User.get(models.User.staff_role == "consultant")
    Identification.get_by_id(row.id).ask_for_video(staff, when, LONG_WORD, links=links)
    Identification.update(status=I.FAILED, reason=LONG_WORD).where(Identification.id == row.id).execute()
    return row


def _account_pages(role):
    role.pages += [("settings", "/settings", 200), ("change password", "/password/change", 200),
                   ("new e-mail", "/settings/contact/email", 200), ("new phone", "/settings/contact/phone", 200),
                   ("e-identity", "/eid/settings", 200), ("confirm it is you", "/signin/confirm", 200),
                   ("your sessions", "/settings/sessions", 200), ("two-step sign-in", "/settings/two-step", 200),
                   ("passkeys", "/settings/passkeys", 200),
                   ("not found", "/no-such-page", 404), ("method not allowed", "/logout", 405)]
    role.forms += [("change password, errors", "/password/change", "#current_password"),
                   ("new e-mail, errors", "/settings/contact/email", "#email"),
                   ("new phone, errors", "/settings/contact/phone", "#phone")]


def _company_pages(role, company, main, colleague, main_m, colleague_m):
    """The main user's pages of the company's users (issue 13): the list with an invitation to a
    long address and name, each member's page, the invitation form, the activity with long
    details, and the invitation's acceptance page."""
    from models.company import Invitation
    _invitation, token = Invitation.issue(company, main, {"documents", "submit", "messages", "finance"}, True,
                                          email=long_email("uzaicinats"), phone=phone(),
                                          full_name=f"Ilze {LONG_WORD[:60]}", link=lambda t: f"/invitations/{t}")
    for n in range(3):
        models.AuditLog.record("document.file_downloaded", user=colleague, client=company, document=n,
                               file=LONG_FILE, note=LONG_WORD)
    models.AuditLog.record("company.invitation_sent", user=main, client=company, invited=long_email("uzaicinats"),
                           rights=["documents", "submit", "messages", "finance"], own_items_only=True)
    base = f"/companies/{company.id}"
    role.pages += [("company users", f"{base}/users", 200),
                   ("company colleague", f"{base}/users/{colleague_m.id}", 200),
                   ("company main user", f"{base}/users/{main_m.id}", 200),
                   ("company invite", f"{base}/invitations/new", 200),
                   ("company activity", f"{base}/history", 200),
                   ("company activity of one", f"{base}/history?person={colleague.id}", 200),
                   ("invitation to accept", f"/invitations/{token}", 200)]
    role.forms += [("company invite, errors", f"{base}/invitations/new", "#email"),
                   ("company revoke, errors", f"{base}/users/{colleague_m.id}", "#confirm")]


@pytest.fixture(scope="module")
def world(live_server):
    """Six people, one of each role, and everything they can open, made once for the module."""
    if models.db.obj is not live_server.database:
        models.db.initialize(live_server.database)
    with live_server.app.app_context(), models.db.connection_context():
        def user(tag, full_name, staff_role=None):
            return models.User.create(email=long_email(tag), phone=phone(), full_name=full_name,
                                      staff_role=staff_role, password_hash=models.hash_password(PASSWORD))

        staff = {name: user(name, f"{name.title()} Darbiniece-{LONG_WORD[:40]}", name)
                 for name in ("consultant", "supervisor", "admin")}
        private, main, colleague = (user("privata.persona", f"Jānis Bērziņš {LONG_WORD[:50]}"),
                                    user("valdes.loceklis", "Līga Ozola"), user("kolegis", "Pēteris Kalniņš"))
        person = models.Client.create(kind=rules.NATURAL, name=f"Jānis Bērziņš {LONG_WORD[:50]}",
                                      citizenship="LV")
        company = models.Client.create(kind=rules.LEGAL, name=LONG_COMPANY, country="LV",
                                       registration_number="40003000001", consultant=staff["consultant"])
        models.Membership.grant(private, person, rules.SELF)
        main_m = models.Membership.grant(main, company, rules.MAIN)
        colleague_m = models.Membership.grant(colleague, company, rules.COLLEAGUE)

        roles, tokens, companys_invoices, identifications = {}, [], [], []
        for name, u, client in (("private", private, person), ("main", main, company),
                                ("colleague", colleague, company)):
            role = roles[name] = Role(name, u.email)
            documents = _documents_in_every_status(client, u, staff["consultant"])
            threads = _threads(client, u, staff["consultant"])
            invitation = documents[R.SIGNING].pending_invitation().token
            tokens.append(invitation)
            invoices = _invoices(client, staff["supervisor"]) if name != "colleague" else companys_invoices
            if name == "main":
                companys_invoices = invoices
            if name != "colleague":
                services = _services(client, staff["supervisor"], u)
                _service_pages(role, services)
                if name == "main":
                    companys_services = services
            else:
                _service_pages(role, companys_services)
            _client_pages(role, client, documents, threads, invitation, invoices)
            if name != "colleague":  # a colleague has no right to the services
                identifications.append(_applications(role, client, u))
            _account_pages(role)
            if name == "main":
                companys = documents, threads
        _staff_records()
        _company_pages(roles["main"], company, main, colleague, main_m, colleague_m)
        _statement_entry()
        # A colleague asks for main-user rights (issue 13): their page, and the request in the staff queue.
        from models.register import MainUserRequest
        asked = MainUserRequest.create(client=company, user=colleague, stored_file=_stored(company, colleague),
                                       note=LONG_WORD)
        roles["colleague"].pages += [("main-user rights", f"/companies/{company.id}/main-user", 200)]
        # And sends a power of attorney (issue 13, seed 003): listed on their page, in the staff queue.
        from models.power_of_attorney import PowerOfAttorney
        attorney = PowerOfAttorney.create(client=company, user=colleague, stored_file=_stored(company, colleague),
                                          rights="documents,finance", note=LONG_WORD)
        roles["colleague"].pages += [("power of attorney", f"/companies/{company.id}/power-of-attorney", 200),
                                     ("powers of attorney by number", "/power-of-attorney", 200)]

        # Staff open the company's documents and threads (the main user's, long names and all).
        documents, (answered, waiting) = companys
        # Passed to the consultant with a note of one long word (issue 15): their "Passed to me".
        Thread.update(assigned_to=staff["consultant"], assigned_note=LONG_WORD).where(Thread.id == waiting.id).execute()
        Document.update(assigned_to=staff["consultant"], assigned_note=LONG_WORD).where(
            Document.id == documents[R.PROCESSING].id).execute()
        for name, u in staff.items():
            role = roles[name] = Role(name, u.email)
            role.pages += [("dashboard", "/dashboard", 200), ("staff area", "/staff", 200),
                           ("document queue", "/staff/documents", 200),
                           ("message queue", "/staff/messages", 200),
                           ("staff thread answered", f"/staff/messages/{answered.id}", 200),
                           ("staff thread waiting", f"/staff/messages/{waiting.id}", 200)]
            decided = [r.submitted_application for r in roles.values() if hasattr(r, "submitted_application")]
            role.pages += [("staff applications", "/staff/applications", 200)]
            # The company is the consultant's client; the private person's is nobody's (issue 15).
            reached = lambda client_id, u=u: 200 if client_id == company.id or u.has_staff_role("supervisor") else 404  # noqa: E731
            role.pages += [(f"staff application {a.kind}", f"/staff/applications/{a.id}", reached(a.client_id))
                           for a in decided]
            undecided = next(a for a in decided if a.kind == rules.LEGAL)
            role.forms += [("record a decision, errors", f"/staff/applications/{undecided.id}", "#reason")]
            if u.has_staff_role("supervisor"):
                role.forms += [("issue the fee invoice, errors", f"/staff/applications/{undecided.id}",
                                "#description")]
            role.pages += [(f"staff document {status}", f"/staff/documents/{d.id}", 200)
                           for status, d in documents.items()]
            # The company is the consultant's client (issue 15); the private person is nobody's.
            statements = 200 if u.has_staff_role("supervisor") else 404
            role.pages += [("staff invoices", "/staff/finance", 200),
                           ("issue an invoice", "/staff/finance/invoices/new", 200),
                           ("bank statements", "/staff/finance/statements", statements)]
            role.pages += [(f"staff invoice {n}", f"/staff/finance/invoices/{i.id}", 200)
                           for n, i in enumerate(companys_invoices)]
            services_role = statements  # supervisors and above, like the bank statements
            role.pages += [("staff services", "/staff/services", services_role),
                           ("staff services, client search", f"/staff/services?q={LONG_COMPANY[:20]}", services_role),
                           ("staff services of a client", f"/staff/services?client={company.id}", services_role),
                           ("staff add a service", f"/staff/services/new?client={company.id}", services_role),
                           ("staff add a service, no client chosen", "/staff/services/new", 404),
                           ("staff service", f"/staff/services/{companys_services[0].id}", services_role)]
            role.pages += [("clients", "/staff/clients", 200), ("client 360", f"/staff/clients/{company.id}", 200),
                           ("clients found", f"/staff/clients?q={LONG_COMPANY[:12]}", 200),
                           ("private client 360", f"/staff/clients/{person.id}", statements),
                           ("passed to me", "/staff/assigned", 200)]
            if u.has_staff_role("supervisor"):
                role.forms += [("add a service, errors", f"/staff/services/new?client={company.id}", "#number"),
                               ("issue an invoice, errors", "/staff/finance/invoices/new", "#client_id"),
                               ("record a payment, errors", f"/staff/finance/invoices/{companys_invoices[0].id}",
                                "#amount")]
                role.pages += [("main-user requests", "/staff/main-user-requests", 200),
                               ("main-user request", f"/staff/main-user-requests/{asked.id}", 200),
                               ("powers of attorney", "/staff/powers-of-attorney", 200),
                               ("power of attorney", f"/staff/powers-of-attorney/{attorney.id}", 200),
                               ("main users: search", "/staff/main-users", 200),
                               ("main users: found", f"/staff/main-users?q={company.name[:6]}", 200),
                               ("main users of a company", f"/staff/main-users/{company.id}", 200)]
                role.pages += [("ratings", "/staff/messages/ratings", 200),
                               ("notifications", "/staff/notifications", 200), ("audit log", "/staff/audit", 200),
                               ("notification log", "/staff/notification-log", 200),
                               ("a client's sessions", f"/staff/users/{colleague.id}/sessions", 200)]
                role.forms += [("staff reply, errors", f"/staff/messages/{waiting.id}", "#body")]
                role.forms += [("assign consultants, errors", "/staff/clients", "#consultant")]
            role.pages += [("identifications", "/staff/identifications", 200)]
            role.pages += [(f"identification {n}", f"/staff/identifications/{i.id}", reached(i.client_id))
                           for n, i in enumerate(identifications)]
            companys_identification = next(i for i in identifications if i.client_id == company.id)
            role.forms += [("identification result, errors", f"/staff/identifications/{companys_identification.id}",
                            "#decision-reason")]
            if u.has_staff_role("admin"):
                role.pages += [("development outbox", "/staff/outbox", 200)]
                # The administrator's pages (issue 15): staff accounts, services, document types.
                role.pages += [("staff accounts", "/staff/admin/staff", 200),
                               ("service catalogue", "/staff/admin/services", 200),
                               ("document types and upload policies", "/staff/admin/document-types", 200)]
                role.forms += [("add a staff member, errors", "/staff/admin/staff", "#full_name")]
            _account_pages(role)
    return World(roles, tokens)


# --- Measuring ---------------------------------------------------------------------------------

# The page's width and, when it is too wide, the innermost elements that reach past the right
# edge (an element's box, or content overflowing a box that does not clip it).
TOO_WIDE = """() => {
  const vw = window.innerWidth, sw = document.documentElement.scrollWidth;
  if (sw <= vw) return null;
  const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const path = el => { const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement) parts.unshift(name(e));
    return parts.join(' > '); };
  const reach = new Map();
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (!r.width && !r.height) continue;
    let right = r.right;
    if (getComputedStyle(el).overflowX === 'visible') right = Math.max(right, r.left + el.scrollWidth);
    if (right > vw + 1) reach.set(el, Math.round(right));
  }
  const innermost = [...reach].filter(([el]) => ![...el.querySelectorAll('*')].some(d => reach.has(d)));
  return `document ${sw}px wide in a ${vw}px window; too wide: ` + innermost.slice(0, 6).map(([el, right]) =>
    `${path(el)} (to ${right}px: "${(el.textContent || el.value || '').trim().replace(/\\s+/g, ' ').slice(0, 40)}")`
  ).join('; ');
}"""


class Reflow:
    """Opens pages in a 320 px tab and collects every page that is too wide, to fail once."""

    def __init__(self, page, role, js):
        self.page, self.role, self.js = page, role, js
        self.checked, self.problems = [], []

    def measure(self, label):
        page = self.page
        page.wait_for_load_state()
        self.checked.append(label)
        too_wide = page.evaluate(TOO_WIDE)
        if too_wide:
            self.problems.append(f"[{self.role}, {'JS' if self.js else 'no JS'}] {label} ({page.url}): {too_wide}")
        if SHOTS:
            base = Path(SHOTS) / f"{self.role}-{label}-{'js' if self.js else 'nojs'}".replace(" ", "-").replace(",", "")
            page.screenshot(path=f"{base}-320.png", full_page=True, caret="initial")
            page.set_viewport_size({"width": 1280, "height": 900})
            page.screenshot(path=f"{base}-1280.png", full_page=True, caret="initial")
            page.set_viewport_size({"width": WIDTH, "height": 700})

    def visit(self, label, path, status=200):
        response = self.page.goto(path)
        if response.status != status:
            self.problems.append(f"[{self.role}] {label} ({path}): answered {response.status}, expected {status}")
        self.measure(label)

    def send_empty(self, label, path, field_selector):
        """The form's page with every error showing (the form sent empty)."""
        self.page.goto(path)
        submit(self.page, field_selector)
        expect(self.page.locator("#error-summary")).to_be_visible()
        self.measure(label)

    def assert_fits(self):
        assert self.checked, "no page was measured"
        assert not self.problems, (f"{len(self.problems)} of {len(self.checked)} pages scroll sideways at "
                                   f"{WIDTH} px:\n" + "\n".join(self.problems))


@pytest.fixture
def narrow(browser, live_server, js):
    context = browser.new_context(base_url=live_server.url, viewport={"width": WIDTH, "height": 700},
                                  java_script_enabled=js)
    context.set_default_timeout(15_000)
    yield lambda role: Reflow(context.new_page(), role, js)
    context.close()


if SHOTS:
    Path(SHOTS).mkdir(parents=True, exist_ok=True)


# --- The tests -----------------------------------------------------------------------------------

ROLES = ("private", "main", "colleague", "consultant", "supervisor", "admin")


@pytest.mark.parametrize("role_name", ROLES)
def test_every_page_of_a_role_fits_320_px(narrow, world, role_name):
    role = world.roles[role_name]
    reflow = narrow(role_name)
    sign_in(reflow.page, role.email, PASSWORD)
    for label, path, status in role.pages:
        reflow.visit(label, path, status)
    for label, path, field_selector in role.forms:
        reflow.send_empty(label, path, field_selector)

    # A change of e-mail waiting for its code, to a new address as long as the old one.
    page = reflow.page
    page.goto("/settings/contact/email")
    page.fill("#email", long_email(f"jauna.{role_name}.{'js' if reflow.js else 'nojs'}"))
    page.fill("#password", PASSWORD)
    submit(page, "#email")
    page.wait_for_url("**/settings/contact/confirm")
    reflow.measure("new e-mail, code")
    submit(page, "#code")
    expect(page.locator("#error-summary")).to_be_visible()
    reflow.measure("new e-mail, code, errors")
    reflow.assert_fits()


# Reached by going through the steps of a role, not by address.
ROLE_STEPS = ["/settings/contact/confirm",
              "/settings/two-step/enrol"]  # measured at 320 px in tests/browser/test_totp.py


SIGNED_OUT_PAGES = [("start", "/", 200), ("sign in", "/login", 200),
                    ("sign in with a passkey", "/login/passkey/any", 200), ("register", "/register", 200),
                    ("password recovery", "/password/reset", 200), ("privacy", "/legal/privacy", 200),
                    ("terms", "/legal/terms", 200), ("not found", "/no-such-page", 404),
                    ("invitation not valid", "/invitations/no-such-token", 404),
                    ("method not allowed", "/logout", 405),
                    ("development identity broker, a request it refuses", "/dev/eid/authorize", 400)]
SIGNED_OUT_FORMS = [("sign in, errors", "/login", "#identifier"), ("register, errors", "/register", "#accept_terms"),
                    ("password recovery, errors", "/password/reset", "#identifier")]
# Reached by going through the steps, not by address.
SIGNED_OUT_STEPS = ["/register/contact", "/register/confirm", "/password/reset/code", "/password/reset/sent",
                    "/eid/link",  # measured at 320 px in tests/browser/test_eid.py
                    "/eid/join",  # an employee's first e-identity sign-in: tests/browser/test_eid_node.py
                    "/invitations",  # where an invitation's link leads (/invitations/<token> redirects there)
                    "/login/code"]  # two-step sign-in's code: measured at 320 px in tests/browser/test_totp.py


def test_signed_out_pages_fit_320_px(narrow, live_server, person, js):
    reflow = narrow("signed-out")
    for label, path, status in SIGNED_OUT_PAGES:
        reflow.visit(label, path, status)
    for label, path, field_selector in SIGNED_OUT_FORMS:
        reflow.send_empty(label, path, field_selector)

    page = reflow.page
    someone = Person(email=long_email(f"registracija{person.phone}"), phone=person.phone)
    page.goto("/register")
    fill_client_step(page)
    reflow.measure("register, contact")
    reflow.send_empty("register, contact, errors", "/register/contact", "#confirm")
    fill_contact_step(page, someone)
    reflow.measure("register, confirm")
    submit(page, "#sms_code")
    expect(page.locator("#error-summary")).to_be_visible()
    reflow.measure("register, confirm, errors")

    forgetful = Person(email=long_email(f"aizmirsa{person.phone}"), phone="27" + person.phone[2:])
    live_server.create_user(forgetful)
    request_recovery(page, forgetful.email)
    reflow.measure("recovery, code")
    page.fill("#code", live_server.email_code(forgetful.email))
    submit(page, "#code")
    page.wait_for_url("**/password/reset/sent")
    reflow.measure("recovery, sent")
    reflow.assert_fits()


def test_the_reflow_test_visits_every_page_of_the_url_map(world, live_server):
    """Every route that answers GET is visited by some role above, or is not a page."""
    adapter = live_server.app.url_map.bind("portal.test")
    paths = [path for role in world.roles.values() for _label, path, _status in role.pages + role.forms]
    paths += [path for _label, path, _status in SIGNED_OUT_PAGES] + SIGNED_OUT_STEPS + ROLE_STEPS
    visited = set()
    for path in paths:
        try:
            visited.add(adapter.match(path, method="GET")[0])
        except Exception:  # noqa: BLE001 — the 404 and 405 pages match no GET route
            pass
    pages = {rule.endpoint for rule in live_server.app.url_map.iter_rules() if "GET" in rule.methods}
    missing = pages - visited - set(NOT_PAGES)
    assert not missing, (f"pages the reflow test never opens: {sorted(missing)}; add them to a role in "
                         "tests/browser/test_reflow.py (or to NOT_PAGES if they are not pages)")
    assert not set(NOT_PAGES) - pages, "NOT_PAGES names routes that no longer exist"


@pytest.mark.parametrize("role_name", ["private", "admin"])
@pytest.mark.parametrize("width", [WIDTH, 1280])
def test_the_pages_with_stacked_tables_and_status_pills_have_no_axe_violations(axe_page, world, role_name, width):
    """The stacked tables, the pills' colours and signs, the file inputs: axe-core at both widths."""
    role = world.roles[role_name]
    axe_page.set_viewport_size({"width": width, "height": 900})
    axe = Axe(axe_page)
    sign_in(axe_page, role.email, PASSWORD)
    for label, path, _status in role.pages:
        axe_page.goto(path)
        axe.check(f"reflow-{role_name}-{width}-{label}".replace(" ", "-"))
    axe.assert_clean()
