"""Finance (issue 15): invoice numbers and references, IBANs, the EPC069-12 QR payload, money
in exact cents, partial payments and statuses, camt.053 imports (matching, twice, hostile
files), scoping of the client's block, the PDF's Latvian text, notifications, staff views."""
import re
import threading
import zlib
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

import models
from adapters import bank_statements
from conftest import create_user, login, post_form, run_jobs
from models.finance import Invoice, InvoiceCounter, Payment, StatementEntry
from rules import finance as F
from rules import status as S

DATA = Path(__file__).parent / "data"
ISSUED = date(2026, 12, 1)
IBAN = "LV80BANK0000435195001"  # the development payee (portal.DEVELOPMENT_INVOICE_IBAN)


# --- Rules alone ------------------------------------------------------------------------------

def test_rf_reference_check_digits():
    assert F.rf_reference("539007547034") == "RF18539007547034"  # ISO 11649's own example
    assert F.rf_valid("RF18 5390 0754 7034") and F.rf_valid("rf18539007547034")
    assert not F.rf_valid("RF19539007547034") and not F.rf_valid("RF18539007547035")
    assert not F.rf_valid("RF18") and not F.rf_valid("XX18539007547034")
    assert F.invoice_reference("KAB-2026-000001") == "RF422026000001"
    assert F.rf_valid(F.invoice_reference("KAB-2027-123456"))
    assert F.rf_grouped("RF18539007547034") == "RF18 5390 0754 7034"
    with pytest.raises(ValueError):
        F.rf_reference("A" * 22)


def test_iban_check():
    assert F.iban_valid(IBAN) and F.iban_valid("DE89 3704 0044 0532 0130 00")
    assert F.iban_valid("lv80bank0000435195001")
    assert not F.iban_valid("LV81BANK0000435195001")  # check digits
    short = "BANK000043519500"  # one digit short of Latvia's 21 characters, with right check digits
    check = 98 - int("".join(str(int(c, 36)) for c in short + "LV00")) % 97
    assert not F.iban_valid(f"LV{check:02d}{short}")
    assert not F.iban_valid("US80BANK0000435195001")  # not a SEPA country
    assert not F.iban_valid("")
    assert F.bic_valid("HABALV22") and F.bic_valid("HABALV22XXX") and not F.bic_valid("HABA LV")


def test_epc_payload_is_exactly_epc069_12():
    payload = F.epc_payload("Kabinets AS", "LV80 BANK 0000 4351 9500 1", Decimal("123.45"),
                            reference="RF18 5390 0754 7034", bic="HABALV22")
    assert payload == "BCD\n002\n1\nSCT\nHABALV22\nKabinets AS\nLV80BANK0000435195001\nEUR123.45\n\nRF18539007547034"
    # no BIC (allowed in version 002), a text instead of a reference: the reference line stays empty
    assert F.epc_payload("Kabinets", IBAN, Decimal("5"), text="Rēķins  KAB-2026-000001") == \
        "BCD\n002\n1\nSCT\n\nKabinets\nLV80BANK0000435195001\nEUR5.00\n\n\nRēķins KAB-2026-000001"
    for bad in ({"reference": "RF19539007547034"}, {"reference": "RF18539007547034", "text": "x"},
                {"iban": "LV81BANK0000435195001"}, {"amount": Decimal("0")}, {"name": "x" * 71}):
        args = {"name": "Kabinets", "iban": IBAN, "amount": Decimal("1"), **bad}
        with pytest.raises(ValueError):
            F.epc_payload(**args)


def test_amounts_are_exact_decimals():
    assert F.parse_amount("1 234,56") == Decimal("1234.56")
    assert F.parse_amount("0,1") == Decimal("0.10") and F.parse_amount("12") == Decimal("12.00")
    for bad in ("0,001", "-5", "0", "1e3", "abc", "", "1.234,56", "1000000000"):
        assert F.parse_amount(bad) is None, bad
    assert F.epc_amount(Decimal("0.1") + Decimal("0.2")) == "EUR0.30"


@pytest.mark.parametrize("paid, due, status, remaining, overpaid", [
    ("0", 10, F.UNPAID, "100.00", "0.00"),
    ("40.00", 10, F.PARTLY_PAID, "60.00", "0.00"),
    ("40.00", -1, F.OVERDUE, "60.00", "0.00"),
    ("0", -1, F.OVERDUE, "100.00", "0.00"),
    ("100.00", -1, F.PAID, "0.00", "0.00"),
    ("120.50", 10, F.PAID, "0.00", "20.50"),
    ("0", 0, F.UNPAID, "100.00", "0.00"),  # due today is not overdue yet
])
def test_status_of_an_invoice(paid, due, status, remaining, overpaid):
    today = date(2026, 12, 6)
    b = F.balance(Decimal("100.00"), Decimal(paid), today + timedelta(days=due), today)
    assert (b.status, b.remaining, b.overpaid) == (status, Decimal(remaining), Decimal(overpaid))
    assert S.css_class(S.INVOICE, b.status).startswith("status status--")


def test_every_invoice_status_has_a_meaning():
    assert set(S.TABLES[S.INVOICE]) == set(F.STATUSES)


# --- Helpers ----------------------------------------------------------------------------------

def _client_of(app, user):
    with app.app_context(), models.db.connection_context():
        return models.Membership.get(models.Membership.user == user.id).client_id


def _issue(app, client_id, amount="100.00", due_on=None, issued_on=ISSUED, description="Komisijas nauda"):
    with app.app_context(), models.db.connection_context(), models.action():
        client = models.Client.get_by_id(client_id)
        return Invoice.issue(client, None, Decimal(amount), due_on or issued_on + timedelta(days=14),
                             description, purpose=F.COMMISSION_FEE, issued_on=issued_on)


def _invoice(app, invoice_id):
    with app.app_context(), models.db.connection_context():
        return Invoice.get_by_id(invoice_id)


@pytest.fixture
def staff(app, client):
    create_user(app, email="sandra@example.lv", phone="+37129999999", staff_role="supervisor")
    assert login(client, "sandra@example.lv").status_code == 303
    return client


# --- Numbers under concurrency ----------------------------------------------------------------

@pytest.mark.postgres
def test_invoice_numbers_are_sequential_per_year_and_never_repeat_under_concurrency(app):
    owner = create_user(app)
    client_id = _client_of(app, owner)
    first = _issue(app, client_id)
    assert first.number == "KAB-2026-000001" and first.reference == "RF422026000001"
    assert _issue(app, client_id, issued_on=date(2027, 1, 2)).number == "KAB-2027-000001"

    numbers, errors, start = [], [], threading.Barrier(6)

    def issue_some():
        try:
            start.wait()
            for _ in range(4):
                numbers.append(_issue(app, client_id).number)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            models.db.close()

    threads = [threading.Thread(target=issue_some) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(numbers) == [f"KAB-2026-{n:06d}" for n in range(2, 26)]
    with app.app_context(), models.db.connection_context():
        assert InvoiceCounter.get(InvoiceCounter.year == 2026).last == 25


# --- Payments, statuses, notifications ----------------------------------------------------------

@pytest.mark.postgres
def test_partial_payments_sum_in_exact_cents_and_paid_in_full_is_told_once(app):
    owner = create_user(app)
    invoice = _issue(app, _client_of(app, owner), amount="0.30")
    with app.app_context(), models.db.connection_context():
        issued = models.Notification.select().where(models.Notification.template == "invoice_issued")
        assert [n.recipient for n in issued] == ["anna@example.lv"]
        for cents in ("0.10", "0.10"):
            with models.action():
                Invoice.get_by_id(invoice.id).record_payment(Decimal(cents), ISSUED)
        row = Invoice.get_by_id(invoice.id)
        assert row.paid == Decimal("0.20") and row.balance(ISSUED).status == F.PARTLY_PAID
        assert row.balance(ISSUED).remaining == Decimal("0.10")
        assert not models.Notification.select().where(models.Notification.template == "invoice_paid").exists()
        for cents in ("0.10", "5.00"):  # paid in full, then once more (overpaid)
            with models.action():
                Invoice.get_by_id(invoice.id).record_payment(Decimal(cents), ISSUED)
        row = Invoice.get_by_id(invoice.id)
        b = row.balance(ISSUED)
        assert (row.paid, b.status, b.remaining, b.overpaid) == (Decimal("5.30"), F.PAID, Decimal("0.00"),
                                                                 Decimal("5.00"))
        assert row.paid_in_full_at is not None
        assert models.Notification.select().where(models.Notification.template == "invoice_paid").count() == 1
        assert sum((p.amount for p in Payment.select()), Decimal("0")) == Decimal("5.30")


def test_the_client_is_told_by_e_mail_of_a_new_invoice_and_of_its_payment_in_full(app, mailbox):
    anna = create_user(app)
    invoice = _issue(app, _client_of(app, anna), amount="1234.50", due_on=date(2026, 12, 24))
    run_jobs(app)
    text = mailbox.last_text("anna@example.lv")
    assert "KAB-2026-000001" in text and "1\xa0234,50 €" in text and "24.12.2026" in text
    assert f"http://portal.test/finance/invoices/{invoice.id}" in text
    assert mailbox.to("anna@example.lv")[-1]["Subject"] == "Jauns rēķins jūsu klienta kabinetā"
    with app.app_context(), models.db.connection_context(), models.action():
        Invoice.get_by_id(invoice.id).record_payment(Decimal("1234.50"), ISSUED)
    run_jobs(app)
    assert mailbox.to("anna@example.lv")[-1]["Subject"] == "Jūsu rēķins ir samaksāts"
    assert "samaksāts pilnā apmērā" in mailbox.last_text("anna@example.lv")


def test_notifications_go_only_to_users_who_see_the_companys_invoices(app):
    main = create_user(app, kind="legal", role="main")
    client_id = _client_of(app, main)
    with app.app_context(), models.db.connection_context():
        for email, phone, rights in (("ilze@example.lv", "+37122222222", {}),
                                     ("olga@example.lv", "+37123333333", {"finance": True})):
            user = models.User.create(email=email, phone=phone, password_hash="x")
            models.Membership.grant(user, models.Client.get_by_id(client_id), "colleague", **rights)
    _issue(app, client_id)
    with app.app_context(), models.db.connection_context():
        sent = {n.recipient for n in models.Notification.select()}
    # olga has the right but only to her own items: invoices are the company's, not hers
    assert sent == {"anna@example.lv"}


# --- The client's block: scoping --------------------------------------------------------------

@pytest.mark.postgres
def test_a_client_sees_their_invoices_and_nobody_elses(app, client):
    anna = create_user(app)
    other = create_user(app, email="zane@example.lv", phone="+37124444444")
    mine = _issue(app, _client_of(app, anna), amount="100.00")
    theirs = _issue(app, _client_of(app, other), amount="7.00")
    with app.app_context(), models.db.connection_context(), models.action():
        Invoice.get_by_id(mine.id).record_payment(Decimal("40.00"), ISSUED)
    login(client, "anna@example.lv")
    page = client.get("/finance")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and mine.number in text and theirs.number not in text
    assert "40,00 €" in text and "60,00 €" in text
    fragment = client.get("/finance", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="invoices-list">') and mine.number in fragment  # one route, two shapes
    shown = client.get(f"/finance/invoices/{mine.id}").get_data(as_text=True)
    assert mine.reference_grouped in shown and f"/finance/invoices/{mine.id}/qr.svg" in shown
    assert f'href="/finance/invoices/{mine.id}.pdf" hx-boost="false" download' in shown  # a file, not a page
    for url in (f"/finance/invoices/{theirs.id}", f"/finance/invoices/{theirs.id}.pdf",
                f"/finance/invoices/{theirs.id}/qr.svg", "/finance/invoices/99999", "/staff/finance",
                f"/staff/finance/invoices/{mine.id}", "/staff/finance/statements"):
        assert client.get(url).status_code == 404, url
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert '<a href="/finance">Rēķini</a>' in dashboard  # the header's link
    assert 'id="finance"' in dashboard and "60,00 €" in dashboard and "15.12.2026" in dashboard


def test_without_the_finance_right_the_block_is_404_and_own_items_only_see_no_invoices(app, client):
    main = create_user(app, kind="legal", role="main")
    client_id = _client_of(app, main)
    invoice = _issue(app, client_id)
    with app.app_context(), models.db.connection_context():
        company = models.Client.get_by_id(client_id)
        ilze = models.User.create(email="ilze@example.lv", phone="+37122222222",
                                  password_hash=models.hash_password("Zilais-Kalns7!"))
        models.Membership.grant(ilze, company, "colleague")  # no finance right by default
    login(client, "ilze@example.lv")
    assert client.get("/finance").status_code == 404
    assert client.get(f"/finance/invoices/{invoice.id}").status_code == 404
    assert client.get(f"/finance/invoices/{invoice.id}.pdf").status_code == 404
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert 'id="finance"' not in dashboard and 'href="/finance"' not in dashboard
    with app.app_context(), models.db.connection_context():
        models.Membership.update(can_finance=True).where(models.Membership.user == ilze.id).execute()
    page = client.get("/finance").get_data(as_text=True)
    assert invoice.number not in page and "ierobežota ar jūsu pašu ierakstiem" in page
    assert client.get(f"/finance/invoices/{invoice.id}").status_code == 404
    with app.app_context(), models.db.connection_context():
        models.Membership.update(own_items_only=False).where(models.Membership.user == ilze.id).execute()
    assert client.get(f"/finance/invoices/{invoice.id}").status_code == 200


# --- The PDF and the QR code ------------------------------------------------------------------

def pdf_text(body):
    """The text of an fpdf2 PDF: the glyph ids its content streams show (two bytes each, in
    literal strings) read through the embedded font's ToUnicode map, as a PDF text extractor
    does. One line per shown string."""
    streams = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S):
        try:
            streams.append(zlib.decompress(m.group(1)))
        except zlib.error:
            streams.append(m.group(1))
    mapping = {}
    for s in streams:
        if b"begincmap" in s:
            for src, dst in re.findall(rb"<([0-9A-Fa-f]{4})>\s*<([0-9A-Fa-f]+)>", s):
                mapping[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    lines = []
    for s in streams:
        if b" Tj" in s:
            for shown in _literal_strings(s):
                lines.append("".join(mapping.get(int.from_bytes(shown[i:i + 2], "big"), "?")
                                     for i in range(0, len(shown) - 1, 2)))
    return "\n".join(lines)


def _literal_strings(content):
    """The bytes of each ``(…) Tj`` of a content stream, escapes undone."""
    escapes = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f"}
    found, i = [], 0
    while (start := content.find(b"(", i)) != -1:
        out, depth, i = bytearray(), 1, start + 1
        while depth:
            c = content[i]
            if c == 0x5C:  # backslash
                n = content[i + 1]
                if 0x30 <= n <= 0x37:
                    digits = re.match(rb"[0-7]{1,3}", content[i + 1:i + 4]).group(0)
                    out.append(int(digits, 8))
                    i += 1 + len(digits)
                    continue
                out += escapes.get(n, bytes([n]))
                i += 2
                continue
            depth += (c == 0x28) - (c == 0x29)
            if depth:
                out.append(c)
            i += 1
        if content[i:i + 4].strip().startswith(b"Tj"):
            found.append(bytes(out))
    return found


def test_the_invoice_pdf_carries_latvian_text_and_the_qr_code(app, client):
    anna = create_user(app)
    invoice = _issue(app, _client_of(app, anna), description="Komisijas nauda: konta atvēršana, ģērbšanās, ņūžķļ")
    login(client, "anna@example.lv")
    response = client.get(f"/finance/invoices/{invoice.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert f'filename="{invoice.number}.pdf"' in response.headers["Content-Disposition"]
    body = response.get_data()
    assert b"/FontFile2" in body and b"DejaVuSans" in body  # the font is embedded
    text = pdf_text(body)
    assert "Rēķins " + invoice.number in text  # the title in Latvian
    assert "konta atvēršana, ģērbšanās, ņūžķļ" in text
    assert "Maksājuma atsauce" in text
    assert "RF42 2026 0000 01" in text and "LV80 BANK 0000 4351 9500 1" in text and "100,00 €" in text
    assert b"/Subtype /Image" in body  # the QR code


def test_the_qr_code_encodes_the_epc_payload_of_what_remains(app, client):
    from blueprints.finance import _qr_svg
    anna = create_user(app)
    invoice = _issue(app, _client_of(app, anna), amount="123.45")
    with app.app_context(), models.db.connection_context(), models.action():
        Invoice.get_by_id(invoice.id).record_payment(Decimal("100.00"), ISSUED)
    login(client, "anna@example.lv")
    response = client.get(f"/finance/invoices/{invoice.id}/qr.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    expected = "BCD\n002\n1\nSCT\n\nKabinets\nLV80BANK0000435195001\nEUR23.45\n\nRF422026000001"
    with app.test_request_context():  # the same SVG segno makes of exactly this payload
        assert response.get_data() == _qr_svg(expected)
    with app.app_context(), models.db.connection_context(), models.action():
        Invoice.get_by_id(invoice.id).record_payment(Decimal("23.45"), ISSUED)
    assert client.get(f"/finance/invoices/{invoice.id}/qr.svg").status_code == 404  # nothing to pay


# --- Staff: issue, record, import -----------------------------------------------------------

def test_staff_issue_an_invoice_and_record_a_partial_payment(app, staff):
    anna = create_user(app)
    client_id = _client_of(app, anna)
    r = post_form(staff, "/staff/finance/invoices/new",
                  {"client_id": client_id, "amount": "1 234,5", "due_on": (date.today() + timedelta(days=10)).isoformat(),
                   "purpose": F.COMMISSION_FEE, "purpose_ref": "application:12", "description": "Komisijas nauda"})
    assert r.status_code == 303, r.get_data(as_text=True)
    with app.app_context(), models.db.connection_context():
        invoice = Invoice.get()
        assert invoice.amount == Decimal("1234.50") and invoice.purpose_ref == "application:12"
        assert models.AuditLog.get(models.AuditLog.action == "invoice.issued").details["number"] == invoice.number
    r = post_form(staff, f"/staff/finance/invoices/{invoice.id}", {"amount": "234,50", "paid_on": ISSUED.isoformat(),
                                                                  "note": "kase"})
    assert r.status_code == 303
    page = staff.get(f"/staff/finance/invoices/{invoice.id}").get_data(as_text=True)
    assert "1\xa0000,00 €" in page and "Daļēji apmaksāts" in page
    for bad in ({"amount": "0,001"}, {"amount": "-3"}, {"paid_on": "2999-01-01"}, {"paid_on": "vakar"}):
        r = post_form(staff, f"/staff/finance/invoices/{invoice.id}",
                      {"amount": "1", "paid_on": ISSUED.isoformat(), **bad})
        assert r.status_code == 422, bad
    r = post_form(staff, "/staff/finance/invoices/new", {"client_id": "99999", "amount": "1", "description": "x",
                                                         "due_on": date.today().isoformat(), "purpose": "other"})
    assert r.status_code == 422
    with app.app_context(), models.db.connection_context():
        assert Invoice.get_by_id(invoice.id).paid == Decimal("234.50") and Invoice.select().count() == 1


def test_consultants_reach_only_their_clients_invoices_and_no_bank_statements(app, client):
    """Issue 15: a consultant works for the clients assigned to them (tests/test_backoffice.py
    walks every role); importing a bank statement, which concerns every client, is not theirs."""
    create_user(app, email="karlis@example.lv", phone="+37128888888", staff_role="consultant")
    login(client, "karlis@example.lv")
    assert client.get("/staff/finance").status_code == 200
    assert client.get("/staff/finance/statements").status_code == 404


def _import(staff, name, raw=None):
    raw = raw if raw is not None else (DATA / name).read_bytes()
    from io import BytesIO
    return post_form(staff, "/staff/finance/statements", {"statement": (BytesIO(raw), name)},
                     content_type="multipart/form-data")


@pytest.mark.postgres
def test_a_camt053_statement_is_matched_by_reference_and_a_second_import_adds_nothing(app, staff):
    anna = create_user(app)
    client_id = _client_of(app, anna)
    first = _issue(app, client_id, amount="100.00")
    second = _issue(app, client_id, amount="50.00")
    assert (first.number, second.number) == ("KAB-2026-000001", "KAB-2026-000002")
    r = _import(staff, "camt053_payments.xml")
    assert r.status_code == 303, r.get_data(as_text=True)
    with app.app_context(), models.db.connection_context():
        assert Invoice.get_by_id(first.id).paid == Decimal("40.00")  # partly, by the RF reference
        assert Invoice.get_by_id(second.id).paid == Decimal("50.00")  # in full, by the number in the text
        statuses = {e.entry_key: e.status for e in StatementEntry.select()}
        assert statuses == {"BANK-0001": F.MATCHED, "BANK-0002": F.MATCHED, "BANK-0003": F.UNMATCHED,
                            "N-4": F.UNMATCHED, "BANK-0005": F.SKIPPED}
        assert models.AuditLog.get(models.AuditLog.action == "finance.statement_imported").details["matched"] == 2
    page = staff.get("/staff/finance/statements").get_data(as_text=True)
    assert "par pakalpojumiem" in page and "12,34 €" in page and "nenorāda nevienu rēķinu" in page

    assert _import(staff, "camt053_payments.xml").status_code == 303  # again: nothing new
    assert "importēti jau agrāk — 5" in staff.get("/staff/finance/statements").get_data(as_text=True)
    with app.app_context(), models.db.connection_context():
        again = models.finance.BankStatement.select().order_by(models.finance.BankStatement.id.desc()).first()
        assert (again.entries, again.duplicates, again.matched) == (0, 5, 0)
        assert Invoice.get_by_id(first.id).paid == Decimal("40.00")
        assert Payment.select().count() == 2 and StatementEntry.select().count() == 5
        unmatched = StatementEntry.get(StatementEntry.entry_key == "BANK-0003")

    # staff assign the unmatched entry to the first invoice by hand, once
    r = post_form(staff, f"/staff/finance/entries/{unmatched.id}/assign", {"number": "kab-2026-000001"},
                  page="/staff/finance/statements")
    assert r.status_code == 303
    post_form(staff, f"/staff/finance/entries/{unmatched.id}/assign", {"number": "KAB-2026-000001"})
    with app.app_context(), models.db.connection_context():
        assert Invoice.get_by_id(first.id).paid == Decimal("52.34")
        assert StatementEntry.get_by_id(unmatched.id).status == F.ASSIGNED
        assert Payment.select().count() == 3


def test_a_statement_of_another_account_is_refused(app, staff):
    raw = (DATA / "camt053_payments.xml").read_bytes().replace(b"LV80BANK0000435195001", b"DE89370400440532013000")
    r = _import(staff, "other.xml", raw)
    assert r.status_code == 422 and "cita konta" in r.get_data(as_text=True)
    with app.app_context(), models.db.connection_context():
        assert models.finance.BankStatement.select().count() == 0


@pytest.mark.parametrize("name", ["camt053_xxe.xml", "camt053_laughs.xml"])
def test_hostile_statements_are_refused_without_a_500(app, staff, name):
    r = _import(staff, name)
    assert r.status_code == 422
    assert "dokumenta tips (DTD)" in r.get_data(as_text=True)
    with app.app_context(), models.db.connection_context():
        assert models.finance.BankStatement.select().count() == 0


def test_the_parser_itself_expands_no_entity(tmp_path):
    # past the document-type check (as if it were fooled): the parser still resolves nothing
    raw = (DATA / "camt053_xxe.xml").read_bytes()
    from lxml import etree
    root = etree.fromstring(raw, bank_statements._parser())
    assert "root:" not in etree.tostring(root, encoding="unicode")
    assert root.getroottree().docinfo.internalDTD is not None  # which parse() refuses


def test_a_document_type_is_refused_by_the_parser_too(monkeypatch):
    # should the text check miss a declaration (an encoding it does not expect), parse() still
    # finds the parsed document's DTD and refuses it
    monkeypatch.setattr(bank_statements, "_DOCTYPE", re.compile(rb"(?!)"))
    for name in ("camt053_xxe.xml", "camt053_laughs.xml"):
        with pytest.raises(bank_statements.StatementRefused):
            bank_statements.parse((DATA / name).read_bytes())


@pytest.mark.parametrize("raw", [b"", b"not xml", b"<a/>", b"\xff\xfe<\x00", b"<Document xmlns='urn:x'/>"])
def test_files_that_are_no_statement_are_refused_without_a_500(app, staff, raw):
    assert _import(staff, "x.xml", raw).status_code == 422


def test_a_statement_past_the_size_limit_is_refused_unread(app, staff):
    raw = (DATA / "camt053_payments.xml").read_bytes().replace(b"</Document>", b" " * F.STATEMENT_MAX_BYTES
                                                                  + b"</Document>")
    assert bank_statements.parse(raw.replace(b" " * F.STATEMENT_MAX_BYTES, b"")).entries  # the same, small: fine
    with pytest.raises(bank_statements.StatementRefused) as refused:
        bank_statements.parse(raw)
    assert refused.value.code == F.REFUSED_TOO_LARGE
    assert _import(staff, "big.xml", raw).status_code == 422  # the view reads no more than the limit + 1
    with app.app_context(), models.db.connection_context():
        assert models.finance.BankStatement.select().count() == 0


def test_the_payees_account_is_checked_at_start():
    from portal import ConfigurationRefused, settle_environment
    for wrong in ({"INVOICE_IBAN": "LV81BANK0000435195001"}, {"INVOICE_BIC": "HABA"},
                  {"INVOICE_PAYEE_NAME": "x" * 71}):
        with pytest.raises(ConfigurationRefused):
            settle_environment({"PORTAL_ENV": "development", "SECRET_KEY": "x", **wrong}, "/tmp")
    production = {"PORTAL_ENV": "production", "SECRET_KEY": "x", "INVOICE_IBAN": None}
    settle_environment(production, "/tmp")
    assert production["INVOICE_IBAN"] == ""  # no made-up account in production: no QR code
    chosen = {"PORTAL_ENV": "production", "SECRET_KEY": "x", "INVOICE_IBAN": "de89 3704 0044 0532 0130 00"}
    settle_environment(chosen, "/tmp")
    assert chosen["INVOICE_IBAN"] == "DE89370400440532013000"


def test_an_import_racing_another_is_told_to_try_again_not_a_500(app, staff, monkeypatch):
    from peewee import IntegrityError

    def racing(*args, **kwargs):
        raise IntegrityError("UNIQUE constraint failed: statement_entry.account, statement_entry.entry_key")
    monkeypatch.setattr(models.finance, "import_statement", racing)
    r = _import(staff, "camt053_payments.xml")
    assert r.status_code == 303
    assert "vienlaikus" in staff.get("/staff/finance/statements").get_data(as_text=True)


@pytest.mark.postgres
def test_the_migration_makes_the_models_tables(app):
    with app.app_context(), models.db.connection_context():
        for model in models.finance.FINANCE_MODELS:
            table = model._meta.table_name
            columns = {c.name: c for c in models.db.get_columns(table)}
            assert set(columns) == {f.column_name for f in model._meta.sorted_fields}, table
            assert {tuple(i.columns) for i in models.db.get_indexes(table) if i.unique} >= {
                tuple(f.column_name for f in fields) for fields, unique in
                [((f,), True) for f in model._meta.sorted_fields if f.unique]
                + [(tuple(model._meta.fields[n] for n in names), u) for names, u in model._meta.indexes]
                if unique}, table
