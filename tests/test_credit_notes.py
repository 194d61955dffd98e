"""Credit notes (FIN-3; issue 15): the arithmetic as a property (paid + credited + remaining is the
amount, or the amount plus what was overpaid; nothing is ever negative), the conditional
update that never credits more than the amount, staff issuing one (and being refused past the
limit), the client seeing it on the invoice and as a PDF, and camt.053 matching afterwards."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import models
from conftest import create_user, login, post_form, run_jobs
from models.finance import CreditNote, Invoice
from rules import finance as F
from test_finance import ISSUED, _client_of, _import, _issue, pdf_text

CENTS = st.integers(min_value=1, max_value=10**11 - 1).map(lambda c: Decimal(c) / 100)
SOME_CENTS = st.integers(min_value=0, max_value=10**11 - 1).map(lambda c: Decimal(c) / 100)


# --- The arithmetic ---------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(amount=CENTS, paid=SOME_CENTS, credited_share=st.integers(0, 100), days=st.integers(-60, 60))
def test_paid_credited_and_remaining_make_the_amount_and_an_overpayment_is_shown(amount, paid, credited_share,
                                                                                  days):
    credited = F.cents(amount * credited_share / 100)  # credit notes never exceed the amount
    b = F.balance(amount, paid, ISSUED, ISSUED + timedelta(days=days), credited=credited)
    assert b.remaining >= 0 and b.overpaid >= 0 and min(b.remaining, b.overpaid) == 0
    assert b.paid + b.credited + b.remaining == b.amount + b.overpaid
    if b.paid + b.credited <= b.amount:
        assert b.paid + b.credited + b.remaining == b.amount and b.overpaid == 0
    else:
        assert b.overpaid == b.paid + b.credited - b.amount and b.remaining == 0
    assert (b.status in (F.PAID, F.CREDITED)) == (b.remaining == 0)
    assert b.status == F.CREDITED or not (credited == amount and paid == 0)
    assert F.creditable(amount, credited) == amount - credited >= 0


@pytest.mark.parametrize("amount, paid, credited, status, remaining, overpaid", [
    ("100", "0", "100", F.CREDITED, "0", "0"),
    ("100", "40", "60", F.PAID, "0", "0"),
    ("100", "40", "30", F.PARTLY_PAID, "30", "0"),
    ("100", "100", "25", F.PAID, "0", "25"),  # credited after it was paid: 25 to refund
    ("100", "0", "30", F.UNPAID, "70", "0"),
])
def test_a_credit_note_lowers_what_is_due(amount, paid, credited, status, remaining, overpaid):
    b = F.balance(Decimal(amount), Decimal(paid), ISSUED, ISSUED, credited=Decimal(credited))
    assert (b.status, b.remaining, b.overpaid) == (status, Decimal(remaining), Decimal(overpaid))


def test_credit_note_numbers_name_their_invoice():
    assert F.credit_note_number("KAB-2026-000123", 1) == "KAB-2026-000123-K1"
    with pytest.raises(ValueError):
        F.credit_note_number("KAB-2026-000123", 100)


@given(parts=st.lists(st.integers(1, 5000), min_size=1, max_size=8))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_credit_notes_in_the_database_never_credit_more_than_the_amount(app, parts):
    with app.app_context(), models.db.connection_context():
        owner = models.User.get_or_none(models.User.email == "anna@example.lv")
    owner = owner or create_user(app)
    invoice = _issue(app, _client_of(app, owner), amount="100.00")
    taken = Decimal("0.00")
    with app.app_context(), models.db.connection_context():
        for part in parts:
            amount = Decimal(part) / 100
            fresh = Invoice.get_by_id(invoice.id)
            try:
                with models.action():
                    fresh.issue_credit_note(amount, "x", None)
            except ValueError:
                assert taken + amount > Decimal("100.00")
            else:
                taken += amount
        fresh = Invoice.get_by_id(invoice.id)
        assert fresh.credited == taken <= fresh.amount
        assert sum((c.amount for c in fresh.credit_notes), Decimal("0.00")) == taken
        assert fresh.balance(ISSUED).remaining == fresh.amount - taken


# --- Through the portal -----------------------------------------------------------------------

@pytest.fixture
def staff(app, client):
    create_user(app, email="sandra@example.lv", phone="+37129999999", staff_role="supervisor")
    assert login(client, "sandra@example.lv").status_code == 303
    return client


@pytest.mark.postgres
def test_staff_credit_an_invoice_and_the_client_sees_paid_credited_and_remaining(app, staff):
    anna = create_user(app, email="anna@example.lv")
    invoice = _issue(app, _client_of(app, anna), amount="100.00")
    url = f"/staff/finance/invoices/{invoice.id}"
    r = post_form(staff, f"{url}/credit-notes", {"credit_amount": "100,01", "reason": "Atlaide"}, page=url)
    assert r.status_code == 422 and 'id="credit_amount-error"' in r.get_data(as_text=True)  # past the limit
    r = post_form(staff, f"{url}/credit-notes", {"credit_amount": "", "reason": ""}, page=url)
    text = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="credit_amount-error"' in text and 'id="reason-error"' in text
    r = post_form(staff, f"{url}/credit-notes", {"credit_amount": "30", "reason": "Atlaide par kavējumu"}, page=url)
    assert r.status_code == 303
    with app.app_context(), models.db.connection_context():
        fresh = Invoice.get_by_id(invoice.id)
        note = CreditNote.get(CreditNote.invoice == invoice.id)
        assert fresh.credited == Decimal("30.00") and note.number == f"{invoice.number}-K1"
        assert note.client_id == fresh.client_id
        assert models.AuditLog.select().where(models.AuditLog.action == "invoice.credit_note_issued").count() == 1
        assert models.Notification.select().where(models.Notification.template == "credit_note_issued").count() == 1
    assert 'id="credited">30,00 €' in staff.get(url).get_data(as_text=True)

    client = app.test_client()
    login(client, "anna@example.lv")
    page = client.get(f"/finance/invoices/{invoice.id}").get_data(as_text=True)
    assert 'id="credited">30,00 €' in page and "<strong>70,00 €</strong>" in page and note.number in page
    listing = client.get("/finance").get_data(as_text=True)
    assert 'data-label="Kreditēts">30,00 €' in listing and "70,00 €" in listing
    pdf = client.get(f"/finance/credit-notes/{note.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    words = pdf_text(pdf.data)
    assert note.number in words and "Atlaide par kavējumu" in words and "70,00" in words
    assert "Kreditēts" in pdf_text(client.get(f"/finance/invoices/{invoice.id}.pdf").data)
    assert "70,00 €" in client.get("/dashboard").get_data(as_text=True)  # the finance block's remaining


def test_a_credit_note_of_another_client_or_without_the_right_is_a_404(app, client):
    anna = create_user(app, email="anna@example.lv")
    other = create_user(app, email="zane@example.lv", phone="+37124444444")
    invoice = _issue(app, _client_of(app, other))
    with app.app_context(), models.db.connection_context(), models.action():
        note = Invoice.get_by_id(invoice.id).issue_credit_note(Decimal("5"), "x", None)
    login(client, "anna@example.lv")
    assert client.get(f"/finance/credit-notes/{note.id}.pdf").status_code == 404
    assert post_form(client, f"/staff/finance/invoices/{invoice.id}/credit-notes",
                     {"credit_amount": "1", "reason": "x"}, page="/settings").status_code == 404
    with app.app_context(), models.db.connection_context():
        assert Invoice.get_by_id(invoice.id).credited == Decimal("5.00")
    assert anna.id != other.id


def test_after_a_credit_note_a_bank_statement_still_matches_and_settles_the_invoice(app, staff):
    anna = create_user(app)
    client_id = _client_of(app, anna)
    first = _issue(app, client_id, amount="100.00")
    second = _issue(app, client_id, amount="50.00")
    with app.app_context(), models.db.connection_context(), models.action():
        Invoice.get_by_id(first.id).issue_credit_note(Decimal("60.00"), "Atlaide", None)
    r = _import(staff, "camt053_payments.xml")  # pays 40.00 by the first's RF reference, 50.00 the second
    assert r.status_code == 303
    with app.app_context(), models.db.connection_context():
        settled = Invoice.get_by_id(first.id)
        assert settled.paid == Decimal("40.00") and settled.balance(ISSUED).status == F.PAID
        assert settled.paid_in_full_at is not None  # paid in full once credit and payment cover it
        assert Invoice.get_by_id(second.id).balance(ISSUED).remaining == 0
    with app.app_context(), models.db.connection_context():
        summary = models.finance.summary(Invoice.select().where(Invoice.client == client_id), date(2026, 12, 1))
    assert summary["count"] == 0 and summary["remaining"] == 0


def test_a_credit_note_racing_another_is_told_to_look_again_not_a_500(app, staff, monkeypatch):
    anna = create_user(app, email="anna@example.lv")
    invoice = _issue(app, _client_of(app, anna), amount="100.00")

    def racing(self, *args, **kwargs):
        raise ValueError("more than the invoice's amount not credited yet")
    monkeypatch.setattr(Invoice, "issue_credit_note", racing)
    url = f"/staff/finance/invoices/{invoice.id}"
    r = post_form(staff, f"{url}/credit-notes", {"credit_amount": "10", "reason": "x"}, page=url)
    assert r.status_code == 422 and "pa to laiku jau tika kreditēts" in r.get_data(as_text=True)


def test_the_client_is_told_by_e_mail_of_a_credit_note_and_what_remains(app, mailbox):
    anna = create_user(app)
    invoice = _issue(app, _client_of(app, anna), amount="100.00")
    with app.app_context(), models.db.connection_context(), models.action():
        note = Invoice.get_by_id(invoice.id).issue_credit_note(Decimal("25.50"), "Atlaide", None)
    run_jobs(app)
    text = mailbox.last_text("anna@example.lv")
    assert note.number in text and "25,50 €" in text and "74,50 €" in text
    assert f"http://portal.test/finance/invoices/{invoice.id}" in text
    assert mailbox.to("anna@example.lv")[-1]["Subject"] == "Kredītrēķins jūsu rēķinam"
