"""A consultant's day in the browser, JavaScript on and off (issue 15): from the work queues in the
navigation, review a document (accept it), answer a message, issue an invoice from the client's
page and record a partial payment. Another consultant's client never shows."""
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

import models
from models.documents import Document
from models.messages import CLIENT, Thread
from rules import documents as R

from .conftest import Person
from .helpers import sign_in, submit


@pytest.fixture(autouse=True)
def _uploads_in_tmp(live_server, tmp_path):
    live_server.app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    live_server.app.extensions.pop("storage", None)


def consultants_world(live_server, person):
    """The consultant (Ilze) with her client (the test's person: a submitted loan application and
    a message waiting), and a colleague's client with the same kind of things."""
    consultant = Person(email=f"konsultante.{person.email}", phone=f"27{person.phone[2:]}")
    other = Person(email=f"cits.{person.email}", phone=f"28{person.phone[2:]}")
    live_server.create_user(person, full_name="Anna Liepa")
    live_server.create_user(other, full_name="Cits Klients")
    live_server.create_user(consultant, staff_role="consultant", full_name="Ilze Konsultante")
    ids = {}
    with live_server.app.app_context(), models.db.connection_context():
        ilze = models.User.get(models.User.email == consultant.email)
        for who in (person, other):
            user = models.User.get(models.User.email == who.email)
            client = models.Membership.get(models.Membership.user == user).client
            if who is person:
                client.name, client.consultant = "Anna Liepa", ilze.id
                client.save()
            document = Document.start(client, "loan_application", user)
            document.transition(R.SAVE, by=user, values={"amount": "5000.00", "term_months": "12",
                                                          "purpose": "Iekārtas"})
            document.transition(R.SUBMIT, by=user)
            thread = Thread.create(client=client, created_by=user, subject=f"Jautājums {who.email}")
            thread.add_message(CLIENT, author=user, body="Labdien! Kad būs lēmums?")
            ids[who.email] = {"client": client.id, "document": document.id, "thread": thread.id}
    return consultant, ids[person.email], ids[other.email]


def test_a_consultants_day(page, live_server, person, js):
    consultant, mine, theirs = consultants_world(live_server, person)
    sign_in(page, consultant.email)

    # The queues in the navigation count only her client's things.
    page.goto("/staff")
    expect(page.locator("#queue-nav-documents .count")).to_have_text("1")
    expect(page.locator("#queue-nav-messages .count")).to_have_text("1")

    # Open the documents queue and review the document: accept it.
    page.locator("#queue-nav-documents").click()
    page.wait_for_url("**/staff/documents")
    expect(page.locator(f"#staff-document-{theirs['document']}")).to_have_count(0)
    page.locator(f"#staff-document-{mine['document']} a").click()
    page.wait_for_url(f"**/staff/documents/{mine['document']}")
    page.fill("#note", "Dokumenti pārbaudīti.")
    page.click("#accept")
    expect(page.locator("#flashes .flash--success")).to_contain_text("pieņemts")
    with live_server.app.app_context(), models.db.connection_context():
        assert Document.get_by_id(mine["document"]).accepted_at is not None

    # Answer the message from the messages queue.
    page.locator("#queue-nav-messages").click()
    page.wait_for_url("**/staff/messages")
    expect(page.locator(f"#queue-{theirs['thread']}")).to_have_count(0)
    page.locator(f"#queue-{mine['thread']} a").click()
    page.wait_for_url(f"**/staff/messages/{mine['thread']}")
    page.fill("#body", "Labdien! Lēmums būs rīt.")
    submit(page, "#body")
    expect(page.locator("main").get_by_text("Labdien! Lēmums būs rīt.").first).to_be_visible()
    expect(page.locator("#queue-nav-messages .count")).to_have_text("0")

    # Issue an invoice from the client's page.
    page.goto("/staff/clients")
    expect(page.locator(f"#client-{theirs['client']}-row")).to_have_count(0)
    page.fill("#q", "nav tāda klienta")  # a search: the list alone is swapped with JavaScript
    submit(page, "#q")
    expect(page.locator(f"#client-{mine['client']}-row")).to_have_count(0)
    page.fill("#q", "anna liepa")
    submit(page, "#q")
    page.wait_for_url(re.compile(r".*/staff/clients\?q=anna(\+|%20)liepa$"))
    page.locator(f"#client-{mine['client']}-row a").click()
    page.wait_for_url(f"**/staff/clients/{mine['client']}")
    page.locator(f"main a[href='/staff/finance/invoices/new?client={mine['client']}']").click()
    page.wait_for_url("**/staff/finance/invoices/new*")
    expect(page.locator("#client_id")).to_have_value(str(mine["client"]))
    page.fill("#amount", "40,00")
    page.fill("#due_on", (date.today() + timedelta(days=14)).isoformat())
    page.fill("#description", "Komisijas maksa par konta atvēršanu")
    submit(page, "#description")
    page.wait_for_url(re.compile(r".*/staff/finance/invoices/\d+$"))
    invoice_id = int(page.url.rstrip("/").split("/")[-1])

    # Record a partial payment: the remaining amount follows.
    page.fill("#amount", "15,00")
    page.fill("#paid_on", date.today().isoformat())
    submit(page, "#paid_on")
    expect(page.locator("#remaining")).to_contain_text("25,00")
    with live_server.app.app_context(), models.db.connection_context():
        from models.finance import Invoice
        invoice = Invoice.get_by_id(invoice_id)
        assert invoice.client_id == mine["client"] and str(invoice.paid) == "15.00"
    assert page.console_errors == []
    # A colleague's client stays out of reach.
    assert page.goto(f"/staff/clients/{theirs['client']}").status == 404
