"""Documents in the browser, JavaScript on and off: the client submits, staff ask for
information on a field, the client corrects it through "Labot", staff prepare a package,
the client agrees and uploads the package signed as an EDOC container. With JavaScript
the row's status changes in place while the list is open; without it, on reload.
axe-core checks every document page."""
import re

import pytest
from playwright.sync_api import expect

import models
from models.documents import Document
from rules import documents as R
from conftest import assign_clients  # tests/conftest.py
from test_signing import build_container  # tests/test_signing.py

from .conftest import Person
from .helpers import Axe, screenshot, sign_in, submit

PDF = b"%PDF-1.4\n" + b"% the loan contract\n" * 80


@pytest.fixture(autouse=True)
def _uploads_in_tmp(live_server, tmp_path):
    live_server.app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    live_server.app.extensions.pop("storage", None)


def staff_member(live_server, person):
    staff = Person(email=f"staff.{person.email}", phone=f"28{person.phone[2:]}")
    live_server.create_user(staff, staff_role="consultant", full_name="Ilze Konsultante")
    assign_clients(live_server.app, staff.email, of=person.email)  # issue 15: the consultant's client
    return staff


def staff_page(browser, live_server, staff):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1100, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, staff.email)
    return page


def row_status(page, document_id):
    return page.locator(f"#document-{document_id}-status")


def expect_row_status(page, document_id, status, js):
    """With JavaScript the open list changes by itself; without it the client reloads."""
    if js:
        expect(row_status(page, document_id)).to_have_attribute("data-status", status, timeout=20_000)
        assert page.evaluate("() => window.__stillTheSamePage") is True  # no reload happened
    else:
        page.reload()
        expect(row_status(page, document_id)).to_have_attribute("data-status", status)


def open_list(page, js):
    page.goto("/documents")
    if js:
        page.evaluate("() => { window.__stillTheSamePage = true; }")


def test_document_from_submission_to_signature(browser, page, live_server, person, js, tmp_path):
    live_server.create_user(person, full_name="Jānis Bērziņš")
    staff = staff_member(live_server, person)
    sign_in(page, person.email)

    # The client starts a loan application and submits it.
    page.locator("nav a[href='/documents']").click()
    page.wait_for_url("**/documents")
    page.check("input[name=doc_type][value=loan_application]")
    submit(page, "input[name=doc_type]")
    page.wait_for_url(re.compile(r".*/documents/\d+/edit$"))
    document_id = int(page.url.split("/")[-2])
    page.fill("#amount", "15 000")
    page.fill("#term_months", "24")
    page.fill("#purpose", "Darbnīcas iekārtas")
    page.click("#submit-document")
    page.wait_for_url("**/documents")
    expect(row_status(page, document_id)).to_have_attribute("data-status", R.PROCESSING)
    screenshot(page, f"documents-list-processing-{'js' if js else 'nojs'}")
    open_list(page, js)

    # Staff ask for information on the amount.
    staff = staff_page(browser, live_server, staff)
    staff.goto(f"/staff/documents/{document_id}")
    expect(staff.locator("#authority")).to_be_visible()
    staff.fill("#comment_amount", "Summa pārsniedz limitu; norādiet līdz 10 000 €.")
    staff.click("#request-info")
    expect(staff.locator("#document-status")).to_have_attribute("data-status", R.INFO_NEEDED)

    expect_row_status(page, document_id, R.INFO_NEEDED, js)
    assert "/documents/%d" % document_id in live_server.emails(person.email, 1)[0]

    # "Labot": the comment stands beside the amount; the client corrects it and resubmits.
    page.locator(f"#document-{document_id}-row a[href$='/edit']").click()
    page.wait_for_url(f"**/documents/{document_id}/edit")
    expect(page.locator("#amount-comment")).to_contain_text("pārsniedz limitu")
    assert "amount-comment" in page.get_attribute("#amount", "aria-describedby")
    screenshot(page, f"documents-labot-{'js' if js else 'nojs'}")
    page.fill("#amount", "9 500")
    page.click("#submit-document")
    page.wait_for_url("**/documents")
    expect(row_status(page, document_id)).to_have_attribute("data-status", R.PROCESSING)
    open_list(page, js)

    # Staff accept and send the package for agreement.
    staff.goto(f"/staff/documents/{document_id}")
    staff.click("#accept")
    contract = tmp_path / "ligums.pdf"
    contract.write_bytes(PDF)
    staff.set_input_files("#files", str(contract))
    staff.click("#prepare-package")
    expect(staff.locator("#document-status")).to_have_attribute("data-status", R.READY)
    screenshot(staff, "documents-staff-document")

    expect_row_status(page, document_id, R.READY, js)
    assert "/documents/%d" % document_id in live_server.emails(person.email, 2)[1]

    # The client reviews the package, agrees and uploads it signed.
    page.goto(f"/documents/{document_id}")
    expect(page.locator("#package")).to_contain_text("ligums.pdf")
    page.click("#agree")
    expect(page.locator("#document-status")).to_have_attribute("data-status", R.SIGNING)
    signed = tmp_path / "ligums.edoc"
    signed.write_bytes(build_container({"ligums.pdf": PDF}))
    page.set_input_files("#container", str(signed))
    submit(page, "#container")
    expect(page.locator("#document-status")).to_have_attribute("data-status", R.SIGNED)
    expect(page.locator("#signers")).to_contain_text("Jānis Bērziņš")
    screenshot(page, f"documents-signed-{'js' if js else 'nojs'}")
    staff.context.close()
    if js:
        assert page.console_errors == [], page.console_errors
        assert page.evaluate("() => window.__cspViolations") == []


def test_submit_from_the_list_changes_the_row(page, live_server, person, js):
    live_server.create_user(person)
    document_id = _document(live_server, person.email, R.NEW, values={
        "amount": "100.00", "term_months": "12", "purpose": "Apgrozāmie līdzekļi"})
    sign_in(page, person.email)
    open_list(page, js)
    page.locator(f"#document-{document_id}-row button[type=submit]").click()
    if js:
        expect(row_status(page, document_id)).to_have_attribute("data-status", R.PROCESSING)
        assert page.evaluate("() => window.__stillTheSamePage") is True
        expect(page.locator("#documents-poll")).to_have_attribute("hx-trigger", "every 5s")
        assert page.console_errors == [], page.console_errors
        assert page.evaluate("() => window.__cspViolations") == []
    else:
        page.wait_for_url("**/documents")
        expect(row_status(page, document_id)).to_have_attribute("data-status", R.PROCESSING)


def test_signing_through_the_signing_service(page, live_server, person, js):
    live_server.create_user(person, full_name="Anna Liepa")
    document_id = _document(live_server, person.email, R.SIGNING)
    sign_in(page, person.email)
    page.goto(f"/documents/{document_id}")
    page.click("#sign-with-service")
    page.wait_for_url("**/signing-service/dev/*")
    page.click("#dev-sign")
    page.wait_for_url(f"**/documents/{document_id}")
    expect(page.locator("#signers")).to_contain_text("Anna Liepa")


def _document(live, email, status, values=None, twice=False):
    """A document brought to ``status`` through the model (as tests/test_documents.py does)."""
    import io

    import uploads
    from werkzeug.datastructures import FileStorage
    app = live.app
    with app.test_request_context():
        user = models.User.get(models.User.email == email)
        staff = (models.User.select().where(models.User.staff_role.is_null(False)).first()
                 or models.User.create(email=f"staff-{user.id}@example.lv", phone=f"+3712990{user.id:04d}",
                                       staff_role="consultant", password_hash="x"))
        client = models.Membership.get(models.Membership.user == user).client
        d = Document.start(client, "loan_application", user)
        filled = values or {"amount": "5000.00", "term_months": "12", "purpose": "Iekārtas"}
        d.transition(R.SAVE, by=user, values=filled)
        if status == R.NEW:
            return d.id
        d.transition(R.SUBMIT, by=user)
        if status == R.INFO_NEEDED:
            d.transition(R.REQUEST_INFO, by=staff, comments={"amount": "Par daudz.", "general": "Pievienojiet bilanci."})
            return d.id
        d.transition(R.ACCEPT, by=staff)
        uploaded = [FileStorage(io.BytesIO(PDF), filename="ligums.pdf")]
        if twice:  # another contract under the same name
            uploaded.append(FileStorage(io.BytesIO(PDF + b"%2"), filename="ligums.pdf"))
        files = uploads.store_files(uploaded, d.type.policy, staff, client)
        d.transition(R.PREPARE_PACKAGE, by=staff, files=files)
        if status == R.READY:
            return d.id
        d.transition(R.AGREE, by=user)
        return d.id


def test_information_needed_leads_to_what_we_asked_then_submits_again(page, live_server, person, js):
    """Issue 11: the row has no blind "Iesniegt"; the document's page shows the comments
    beside "Submit again"."""
    live_server.create_user(person)
    document_id = _document(live_server, person.email, R.INFO_NEEDED)
    sign_in(page, person.email)
    open_list(page, js)
    row = page.locator(f"#document-{document_id}-row")
    expect(row.locator("button[type=submit]")).to_have_count(0)
    row.locator(f"a[href='/documents/{document_id}']").first.click()
    page.wait_for_url(f"**/documents/{document_id}")
    expect(page.locator("#comments")).to_contain_text("Par daudz.")
    expect(page.locator("#comments #resubmit-document")).to_be_visible()
    screenshot(page, f"documents-info-needed-{'js' if js else 'nojs'}")
    page.click("#resubmit-document")
    page.wait_for_url("**/documents")
    expect(row_status(page, document_id)).to_have_attribute("data-status", R.PROCESSING)


def test_another_loan_application_after_a_warning(page, live_server, person, js):
    live_server.create_user(person)
    first = _document(live_server, person.email, R.INFO_NEEDED)
    sign_in(page, person.email)
    page.goto("/documents")
    page.check("input[name=doc_type][value=loan_application]")
    submit(page, "input[name=doc_type]")
    expect(page.locator("#error-summary")).to_contain_text(f"Nr. {first}")
    expect(page.locator(f"#existing-document a[href='/documents/{first}']")).to_be_visible()
    screenshot(page, f"documents-start-another-{'js' if js else 'nojs'}")
    page.click("#start-another")
    page.wait_for_url(re.compile(r".*/documents/\d+/edit$"))
    assert int(page.url.split("/")[-2]) != first


def test_the_package_downloads_whole_with_distinct_names(page, live_server, person, js):
    import io
    import zipfile
    live_server.create_user(person)
    document_id = _document(live_server, person.email, R.READY, twice=True)
    sign_in(page, person.email)
    page.goto(f"/documents/{document_id}")
    expect(page.locator("#package li")).to_have_text([re.compile(r"^ligums\.pdf"), re.compile(r"^ligums \(2\)\.pdf")])
    with page.expect_download() as download:
        page.click("#download-package")
    name = download.value.suggested_filename
    assert name.startswith(f"Aizdevuma pieteikums Nr. {document_id} parakstīšanai") and name.endswith(".zip"), name
    with zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read())) as bundle:
        assert bundle.namelist() == ["ligums.pdf", "ligums (2).pdf"]


def test_document_pages_have_no_axe_violations(axe_page, live_server, person):
    live_server.create_user(person, full_name="Jānis Bērziņš")
    staff = staff_member(live_server, person)
    axe = Axe(axe_page)
    page = axe.page
    ids = {s: _document(live_server, person.email, s) for s in (R.NEW, R.INFO_NEEDED, R.READY, R.SIGNING)}
    sign_in(page, person.email)
    page.goto("/documents")
    axe.check("documents-list")
    page.goto(f"/documents/{ids[R.INFO_NEEDED]}/edit")
    axe.check("documents-labot")
    page.goto(f"/documents/{ids[R.INFO_NEEDED]}")
    axe.check("documents-info-needed")
    page.goto("/documents")
    page.check("input[name=doc_type][value=loan_application]")
    submit(page, "input[name=doc_type]")
    expect(page.locator("#start-another")).to_be_visible()
    axe.check("documents-start-another")
    page.goto(f"/documents/{ids[R.NEW]}/edit")
    page.fill("#purpose", "")
    page.click("#submit-document")
    expect(page.locator("#error-summary")).to_be_visible()
    axe.check("documents-edit-errors")
    page.goto(f"/documents/{ids[R.READY]}")
    axe.check("documents-ready")
    page.goto(f"/documents/{ids[R.SIGNING]}")
    axe.check("documents-signing")
    page.context.clear_cookies()
    sign_in(page, staff.email)
    page.goto("/staff/documents")
    axe.check("staff-documents-queue")
    page.goto(f"/staff/documents/{ids[R.SIGNING]}")
    axe.check("staff-document")
    axe.assert_clean()
