"""Finance (issue 15; seed 002 "rēķini, maksājumi", seed 004 §7 the commission fee).

The client's block (``/finance``, membership right "finance"): invoices with paid and remaining
amounts and status, one invoice with its payments, its PDF and the EPC069-12 QR code a banking
app scans. Everything is reached through ``get_scoped_or_404`` / ``scoped``: another client's
invoice, or any invoice without the right, is a 404. A colleague limited to own items sees no
invoices (``models.finance``: an invoice is the company's).

Staff (``/staff/finance``): issue an invoice, record a payment by hand, import a camt.053 bank
statement (entries matched to invoices by reference; the rest listed to assign by hand). A
consultant issues invoices to, and records payments of, the clients assigned to them (their
invoices reached through ``scoped``, the client through ``get_staff_client``: any other is a
404 or "no such client"); importing a bank statement and assigning its entries, which touch
every client, stay with supervisors and administrators.
"""
import io

from flask import Blueprint, abort, current_app, flash, request, url_for
from flask_login import current_user
from flask_babel import gettext as _
from peewee import IntegrityError

import models
import rules
from adapters import bank_statements
from blueprints import (HEADER_PARTS, acting_membership, audit, clients_only, get_scoped_or_404, keyset_page, page_of,
                        render, render_form, scoped, see_other, signed_in_user, staff_required)
from blueprints.documents.pdf import new_pdf
from forms.finance import AssignEntryForm, CreditNoteForm, IssueInvoiceForm, PaymentForm, StatementForm
from models.finance import CreditNote, Invoice, Payment, StatementEntry
from models.paging import Keyset
from models.scoping import get_staff_client
from rules import finance as F
from rules.calendar import to_local

bp = Blueprint("finance", __name__)

FINANCE_STAFF_ROLE = "consultant"  # their assigned clients' invoices (rules.staff)
STATEMENTS_ROLE = "supervisor"  # a statement's entries concern every client
LIST_ORDER = Keyset(Invoice.id)


def local_today():
    """Today in Riga: due dates and payment dates are the institution's calendar days."""
    return to_local(models.utcnow()).date()


@bp.context_processor
def _finance_words():
    return {"F": F}


def _finance_link():
    """The header's finance link: the client's invoices when the acting account has the right
    "finance" (its memberships are read once a request anyway), staff's when their role has it."""
    if not current_user or not current_user.is_authenticated:
        return {"finance_link": None}
    if current_user.is_staff:
        allowed = current_user.has_staff_role(FINANCE_STAFF_ROLE)
        return {"finance_link": url_for("finance.staff_index") if allowed else None}
    membership = acting_membership()
    return {"finance_link": url_for("finance.index") if membership and membership.allows("finance") else None}


HEADER_PARTS.append(_finance_link)


def payee():
    """The institution's payment details from the configuration (``INVOICE_*``)."""
    config = current_app.config
    return {"name": config["INVOICE_PAYEE_NAME"], "iban": config["INVOICE_IBAN"], "bic": config["INVOICE_BIC"]}


def qr_payload(invoice, today=None):
    """The EPC069-12 text for what remains to pay, or None (paid, or no IBAN configured)."""
    remaining = invoice.balance(today).remaining
    details = payee()
    if remaining <= F.ZERO or not details["iban"]:
        return None
    return F.epc_payload(details["name"], details["iban"], remaining, reference=invoice.reference,
                         bic=details["bic"])


# --- The client's block ------------------------------------------------------------------------

@bp.route("/finance")
@clients_only("finance.staff_index")
def index():
    """The acting account's invoices, newest first, each with paid, remaining and status."""
    active = acting_membership("finance")
    query = scoped(Invoice, "finance", client_id=active.client_id)
    pages = keyset_page(query, LIST_ORDER, rules.LIST_PAGE_SIZE)
    today = local_today()
    return render("finance/index.html", "finance/_invoices.html", pages=pages, today=today,
                  summary=models.finance.summary(scoped(Invoice, "finance", client_id=active.client_id), today),
                  own_items_only=active.own_items_only)


@bp.route("/finance/invoices/<int:invoice_id>")
@clients_only()
def invoice(invoice_id):
    found = get_scoped_or_404(Invoice, invoice_id, "finance")
    payments = list(found.payments.order_by(Payment.paid_on, Payment.id))
    return render("finance/invoice.html", invoice=found, payments=payments, today=local_today(),
                  payee=payee(), has_qr=qr_payload(found) is not None, credit_notes=_credit_notes(found))


def _credit_notes(invoice):
    return list(invoice.credit_notes.order_by(CreditNote.id))


@bp.route("/finance/credit-notes/<int:credit_note_id>.pdf")
@clients_only()
def credit_note_pdf(credit_note_id):
    """A credit note as a PDF, reached like its invoice (right "finance", the company's)."""
    found = get_scoped_or_404(CreditNote, credit_note_id, "finance")
    body = _credit_note_pdf(found, found.invoice, local_today())
    response = current_app.response_class(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{found.number}.pdf"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/finance/invoices/<int:invoice_id>/qr.svg")
@clients_only()
def invoice_qr(invoice_id):
    """The EPC069-12 QR code of what remains to pay, as SVG (an image of the page: the CSP
    allows images from the site itself)."""
    found = get_scoped_or_404(Invoice, invoice_id, "finance")
    payload = qr_payload(found)
    if payload is None:
        abort(404)
    response = current_app.response_class(_qr_svg(payload), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/finance/invoices/<int:invoice_id>.pdf")
@clients_only()
def invoice_pdf(invoice_id):
    found = get_scoped_or_404(Invoice, invoice_id, "finance")
    payments = list(found.payments.order_by(Payment.paid_on, Payment.id))
    payload = qr_payload(found)
    png = _qr_png(payload) if payload else None
    body = _invoice_pdf(found, payments, payee(), png, local_today())
    response = current_app.response_class(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{found.number}.pdf"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _qr(payload):
    import segno  # imported when a code is drawn, not by every worker
    # EPC069-12: error correction level M, so the code stays small enough for any app to read.
    return segno.make_qr(payload, error="m", boost_error=False, encoding="utf-8")


def _qr_svg(payload):
    out = io.BytesIO()
    _qr(payload).save(out, kind="svg", scale=4, border=4, xmldecl=False, svgns=True,
                      title=_("Payment QR code"))
    return out.getvalue()


def _qr_png(payload):
    out = io.BytesIO()
    _qr(payload).save(out, kind="png", scale=6, border=4)
    return out.getvalue()




def _invoice_pdf(invoice, payments, details, qr_png, today):
    """The invoice as a one-page A4 PDF in the visitor's language (fpdf2), with the QR code.

    DejaVu Sans carries the Latvian letters (ā č ē ģ ī ķ ļ ņ š ū ž); without it (no
    fonts-dejavu-core) the built-in Helvetica is used and diacritics are folded."""
    money = current_app.jinja_env.filters["money"]
    day = current_app.jinja_env.filters["date"]
    balance = invoice.balance(today)
    pdf, family, text = new_pdf(_("Invoice %(number)s", number=invoice.number))

    def row(label, value):
        pdf.set_font(family, size=10)
        pdf.cell(60, 7, text(label))
        pdf.cell(0, 7, text(value), new_x="LMARGIN", new_y="NEXT")

    pdf.set_font(family, size=16)
    pdf.cell(0, 12, text(_("Invoice %(number)s", number=invoice.number)), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=10)
    pdf.multi_cell(0, 6, text(invoice.description), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    row(_("Payer"), invoice.client.name or _("Private account"))
    row(_("For"), F.PURPOSES.get(invoice.purpose, invoice.purpose))
    row(_("Issued"), day(invoice.issued_on))
    row(_("Due date"), day(invoice.due_on))
    row(_("Amount"), money(balance.amount))
    if balance.credited:
        row(_("Credited"), money(balance.credited))
    row(_("Paid"), money(balance.paid))
    row(_("Remaining to pay"), money(balance.remaining))
    row(_("Status"), F.STATUS_LABELS[balance.status])
    pdf.ln(4)
    pdf.set_font(family, size=12)
    pdf.cell(0, 8, text(_("Payment details")), new_x="LMARGIN", new_y="NEXT")
    row(_("Beneficiary"), details["name"])
    if details["iban"]:
        row(_("Account (IBAN)"), F.iban_grouped(details["iban"]))
    if details["bic"]:
        row(_("BIC"), details["bic"])
    row(_("Payment reference"), invoice.reference_grouped)
    if payments:
        pdf.ln(4)
        pdf.set_font(family, size=12)
        pdf.cell(0, 8, text(_("Payments")), new_x="LMARGIN", new_y="NEXT")
        for payment in payments:
            row(day(payment.paid_on), money(payment.amount))
    if qr_png:
        pdf.ln(4)
        pdf.set_font(family, size=9)
        pdf.multi_cell(0, 5, text(_("Scan the code with your bank's app to pay the remaining amount.")),
                       new_x="LMARGIN", new_y="NEXT")
        pdf.image(io.BytesIO(qr_png), w=45, h=45)
    return bytes(pdf.output())


def _credit_note_pdf(note, invoice, today):
    """The credit note as a one-page A4 PDF in the visitor's language: what it credits, against
    which invoice, and what remains to pay on that invoice now."""
    money = current_app.jinja_env.filters["money"]
    day = current_app.jinja_env.filters["date"]
    balance = invoice.balance(today)
    title = _("Credit note %(number)s", number=note.number)
    pdf, family, text = new_pdf(title)

    def row(label, value):
        pdf.set_font(family, size=10)
        pdf.cell(60, 7, text(label))
        pdf.cell(0, 7, text(value), new_x="LMARGIN", new_y="NEXT")

    pdf.set_font(family, size=16)
    pdf.cell(0, 12, text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=10)
    pdf.multi_cell(0, 6, text(note.reason), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    row(_("Payer"), invoice.client.name or _("Private account"))
    row(_("Issued"), day(note.issued_on))
    row(_("Invoice"), invoice.number)
    row(_("Amount credited"), money(note.amount))
    pdf.ln(3)
    row(_("Invoice amount"), money(balance.amount))
    row(_("Credited"), money(balance.credited))
    row(_("Paid"), money(balance.paid))
    row(_("Remaining to pay"), money(balance.remaining))
    if balance.overpaid:
        row(_("Paid beyond the amount"), money(balance.overpaid))
    return bytes(pdf.output())


# --- Staff --------------------------------------------------------------------------------------

@bp.route("/staff/finance")
@staff_required(FINANCE_STAFF_ROLE)
def staff_index():
    """Every invoice, newest first (``?client=`` narrows to one client), and the entries of
    imported statements still waiting to be assigned."""
    query = scoped(Invoice, "finance").select(Invoice, models.Client).join(models.Client)
    client_id = rules.bounded_int(request.args.get("client"))
    if client_id:
        query = query.where(Invoice.client == client_id)
    pages = keyset_page(query, LIST_ORDER, rules.LIST_PAGE_SIZE)
    waiting = (StatementEntry.select().where(StatementEntry.status == F.UNMATCHED).count()
               if current_user.has_staff_role(STATEMENTS_ROLE) else 0)
    return render("finance/staff_index.html", pages=pages, today=local_today(), client_id=client_id,
                  waiting=waiting)


@bp.route("/staff/finance/invoices/new", methods=["GET", "POST"])
@staff_required(FINANCE_STAFF_ROLE)
def staff_issue():
    form = IssueInvoiceForm(client_id=rules.bounded_int(request.args.get("client")))
    if form.validate_on_submit():
        client = get_staff_client(signed_in_user(), form.client_id.data)
        if client is None:
            form.client_id.errors.append(_("There is no client with this number."))
        else:
            staff = signed_in_user()
            with models.action():
                issued = Invoice.issue(client, staff, form.amount.amount, form.due_on.data,
                                       form.description.data.strip(), purpose=form.purpose.data,
                                       issued_on=local_today(),
                                       purpose_ref=(form.purpose_ref.data or "").strip() or None)
                audit("invoice.issued", user=staff, actor="staff", invoice=issued.id, number=issued.number,
                      client=client.id, amount=str(issued.amount))
            flash(_("Invoice %(number)s issued.", number=issued.number), "success")
            return see_other("finance.staff_invoice", invoice_id=issued.id)
    return render_form("finance/staff_issue.html", form=form)


@bp.route("/staff/finance/invoices/<int:invoice_id>", methods=["GET", "POST"])
@staff_required(FINANCE_STAFF_ROLE)
def staff_invoice(invoice_id):
    """One invoice with its payments; a payment recorded by hand (partial payments too)."""
    found = get_scoped_or_404(Invoice, invoice_id, "finance")
    form = PaymentForm()
    if form.validate_on_submit():
        staff = signed_in_user()
        with models.action():
            payment = found.record_payment(form.amount.amount, form.paid_on.data, by=staff,
                                           note=(form.note.data or "").strip())
            audit("invoice.payment_recorded", user=staff, actor="staff", invoice=found.id, number=found.number,
                  payment=payment.id, amount=str(payment.amount))
        flash(_("Payment of %(amount)s € recorded.", amount=payment.amount), "success")
        return see_other("finance.staff_invoice", invoice_id=found.id)
    return _staff_invoice_page(found, form, CreditNoteForm(formdata=None))


def _staff_invoice_page(invoice, form, credit_form):
    payments = list(invoice.payments.order_by(Payment.paid_on, Payment.id))
    failed = request.method == "POST" and (form.errors or credit_form.errors or credit_form.form_errors)
    return render("finance/staff_invoice.html", status=422 if failed else 200, form=form, invoice=invoice,
                  payments=payments, today=local_today(), credit_form=credit_form,
                  credit_notes=_credit_notes(invoice))


@bp.route("/staff/finance/invoices/<int:invoice_id>/credit-notes", methods=["POST"])
@staff_required(FINANCE_STAFF_ROLE)
def staff_credit(invoice_id):
    """Issue a credit note against an invoice: at most the amount not credited yet
    (``rules.finance.creditable``), paid or not — crediting what was paid leaves an
    overpayment to refund, shown as such."""
    found = Invoice.get_or_none(Invoice.id == invoice_id)
    if found is None:
        abort(404)
    credit_form = CreditNoteForm()
    if credit_form.validate_on_submit():
        limit = F.creditable(found.amount, found.credited)
        amount = credit_form.credit_amount.amount
        if amount > limit:
            credit_form.credit_amount.errors.append(
                _("At most %(limit)s can still be credited on this invoice.",
                  limit=current_app.jinja_env.filters["money"](limit)))
        else:
            staff = signed_in_user()
            try:
                with models.action():
                    note = found.issue_credit_note(amount, credit_form.reason.data.strip(), staff,
                                                   issued_on=local_today())
                    audit("invoice.credit_note_issued", user=staff, actor="staff", invoice=found.id,
                          number=found.number, credit_note=note.id, amount=str(note.amount))
            except (ValueError, IntegrityError):  # another credit note took the rest (or its number) meanwhile
                credit_form.form_errors.append(_("The invoice was credited meanwhile: look at what can still be "
                                                 "credited and try again."))
            else:
                flash(_("Credit note %(number)s issued.", number=note.number), "success")
                return see_other("finance.staff_invoice", invoice_id=found.id)
        found = Invoice.get_by_id(found.id)
    return _staff_invoice_page(found, PaymentForm(formdata=None), credit_form)


@bp.route("/staff/finance/statements", methods=["GET", "POST"])
@staff_required(STATEMENTS_ROLE)
def staff_statements():
    """Import a camt.053 statement (one transaction); the entries waiting to be assigned."""
    form = StatementForm()
    if form.validate_on_submit():
        upload = form.statement.data
        raw = upload.stream.read(F.STATEMENT_MAX_BYTES + 1) if upload else b""
        try:
            if not raw:
                raise bank_statements.StatementRefused(F.REFUSED_EMPTY)
            statement = bank_statements.parse(raw)
            if payee()["iban"] and statement.account != payee()["iban"]:
                raise bank_statements.StatementRefused(F.REFUSED_OTHER_ACCOUNT)
        except bank_statements.StatementRefused as refused:
            form.statement.errors.append(_("This file is not a camt.053 bank statement we can read: %(why)s",
                                           why=F.REFUSALS[refused.code]))
        else:
            staff = signed_in_user()
            try:
                with models.action():
                    row = models.finance.import_statement(statement, raw, staff)
                    audit("finance.statement_imported", user=staff, actor="staff", statement=row.id,
                          account=row.account, entries=row.entries, matched=row.matched,
                          duplicates=row.duplicates)
            except IntegrityError:  # the same entries imported at this very moment by someone else
                flash(_("The same statement was being imported at the same time. Import it again: "
                        "what is already in is not added twice."), "error")
                return see_other("finance.staff_statements")
            flash(_("Statement imported: %(new)d new entries, %(matched)d matched to invoices, "
                    "%(duplicates)d imported before.", new=row.entries, matched=row.matched,
                    duplicates=row.duplicates), "success")
            return see_other("finance.staff_statements")
    waiting = page_of(StatementEntry.select().where(StatementEntry.status == F.UNMATCHED)
                      .order_by(StatementEntry.id.desc()), rules.LIST_PAGE_SIZE)
    return render_form("finance/staff_statements.html", form=form, waiting=waiting,
                       assign_form=AssignEntryForm(formdata=None))


@bp.route("/staff/finance/entries/<int:entry_id>/assign", methods=["POST"])
@staff_required(STATEMENTS_ROLE)
def staff_assign(entry_id):
    entry = StatementEntry.get_or_none(StatementEntry.id == entry_id)
    if entry is None:
        abort(404)
    form = AssignEntryForm()
    target = Invoice.get_or_none(Invoice.number == form.number.data) if form.validate_on_submit() else None
    if target is None:
        flash(_("Enter the number of an existing invoice, like KAB-2026-000123."), "error")
        return see_other("finance.staff_statements")
    staff = signed_in_user()
    with models.action():
        done = entry.assign(target, staff)
        if done:
            audit("finance.entry_assigned", user=staff, actor="staff", entry=entry.id, invoice=target.id,
                  number=target.number, amount=str(entry.amount))
    if done:
        flash(_("The payment was added to invoice %(number)s.", number=target.number), "success")
    else:
        flash(_("Someone has already dealt with this entry."), "error")
    return see_other("finance.staff_statements")
