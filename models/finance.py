"""Invoices, payments and imported bank statements (issue 15; seed 004 §7, seed 002).

An invoice belongs to a client (``client``) and is reached through ``models.scoped`` under the
membership right "finance". ``created_by`` is the staff member who issued it, so a colleague
whose membership is limited to own items sees no invoices: an invoice is the company's, not
any one colleague's (the main user widens the colleague's access to let them see invoices).

What an invoice is for is told by ``purpose`` (``rules.finance.PURPOSES``) and ``purpose_ref``,
a free link such as ``application:12`` (the onboarding application whose commission fee it is)
— no foreign key, so the tables it names can come later.

Money is ``Decimal`` in euro with two places. ``Invoice.paid`` is the sum of the invoice's
payments, kept in the same transaction as each payment (``paid = paid + x`` in one UPDATE), so
a list shows paid and remaining amounts without summing. Every change here runs inside the
caller's ``models.action()``: one transaction, the notifications after the commit.
"""
import hashlib
from datetime import date

from decimal import Decimal

from peewee import BigIntegerField, CharField, DateField, DateTimeField, ForeignKeyField, IntegerField, TextField, fn

from models.accounts import Client, Membership, User
from models.applications import Application
from models.base import BaseModel, utcnow
from models.notifications import Notification
from rules import finance as F


class MoneyField(BigIntegerField):
    """A euro amount: a ``Decimal`` of two places in Python, whole cents in the database.

    SQLite keeps a DECIMAL column as a float, so sums and comparisons there would be a
    float's; whole cents are exact on both databases, in SQL (``paid + x``, ``SUM``) too."""

    def db_value(self, value):
        if value is None:
            return None
        if isinstance(value, int):
            raise TypeError("give money as a Decimal, not a number of cents")
        return int(F.cents(value) * 100)

    def python_value(self, value):
        return None if value is None else from_cents(value)


def from_cents(value):
    """Whole cents (what the database holds or sums) as a Decimal of two places."""
    return (Decimal(int(value)) / 100).quantize(F.CENT)


def _money_field(**kwargs):
    return MoneyField(**kwargs)


class InvoiceCounter(BaseModel):
    """The last invoice number given in a year. Taking the next one is an UPDATE of this row
    inside the issuing transaction: PostgreSQL holds the row's lock and SQLite the write lock
    until the commit, so two issuers never get the same number, and a rolled-back issue gives
    its number back (numbers have no gaps)."""

    year = IntegerField(unique=True)
    last = IntegerField(default=0)

    @classmethod
    def next(cls, year):
        """The year's next sequence number; call inside a transaction."""
        cls.insert(year=year, last=0).on_conflict_ignore().execute()
        cls.update(last=cls.last + 1).where(cls.year == year).execute()
        return cls.select(cls.last).where(cls.year == year).scalar()


class Invoice(BaseModel):
    """An invoice to a client: number, amount, due date, ISO 11649 payment reference."""

    client = ForeignKeyField(Client, backref="invoices", on_delete="CASCADE")
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")  # the issuer (staff)
    number = CharField(max_length=20, unique=True)
    reference = CharField(max_length=25, unique=True)  # RF…, without spaces
    amount = _money_field()
    currency = CharField(max_length=3, default=F.CURRENCY)
    paid = _money_field(default=F.ZERO)
    credited = _money_field(default=F.ZERO)  # the sum of its credit notes, kept like ``paid``
    issued_on = DateField()
    due_on = DateField()
    description = TextField(default="")
    purpose = CharField(max_length=30, default=F.OTHER)
    purpose_ref = CharField(max_length=100, null=True)  # e.g. "application:12"; no foreign key
    # The onboarding application whose commission fee it is (stage 4, seed 004 §7), if any.
    application = ForeignKeyField(Application, null=True, backref="invoices", on_delete="SET NULL")
    paid_in_full_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("client", "due_on"), False),)

    def balance(self, today=None):
        return F.balance(self.amount, self.paid, self.due_on, today or date.today(), credited=self.credited)

    @property
    def reference_grouped(self):
        return F.rf_grouped(self.reference)

    @classmethod
    def issue(cls, client, by, amount, due_on, description, purpose=F.OTHER, purpose_ref=None, issued_on=None,
              application=None):
        """Issue an invoice (inside ``action()``): the next number of the year, its reference,
        and an e-mail to each of the client's users who may see finance."""
        issued_on = issued_on or date.today()
        amount = F.cents(amount)
        if not F.CENT <= amount <= F.MAX_AMOUNT:
            raise ValueError("amount out of range")
        # The number first: on SQLite the transaction takes the write lock with its first write.
        number = F.invoice_number(issued_on.year, InvoiceCounter.next(issued_on.year))
        invoice = cls.create(client=client, created_by=by, number=number, reference=F.invoice_reference(number),
                             amount=amount, issued_on=issued_on, due_on=due_on, description=description,
                             purpose=purpose, purpose_ref=purpose_ref, application=application)
        _notify(invoice, "invoice_issued", amount=str(amount), due_on=due_on.strftime("%d.%m.%Y"))
        return invoice

    def record_payment(self, amount, paid_on, by=None, note="", entry=None, source="manual"):
        """Add a payment (inside ``action()``). The invoice's paid sum grows in one UPDATE; the
        first payment that covers the amount marks the invoice paid in full and tells the
        client (once, whoever gets there first)."""
        amount = F.cents(amount)
        if not F.CENT <= amount <= F.MAX_AMOUNT:
            raise ValueError("amount out of range")
        payment = Payment.create(invoice=self, amount=amount, paid_on=paid_on, created_by=by,
                                 note=note, entry=entry, source=source)
        Invoice.update(paid=Invoice.paid + amount).where(Invoice.id == self.id).execute()
        fresh = Invoice.get_by_id(self.id)
        self.paid = fresh.paid
        if fresh.paid > F.ZERO and fresh.balance().remaining == F.ZERO:
            won = (Invoice.update(paid_in_full_at=utcnow())
                   .where(Invoice.id == self.id, Invoice.paid_in_full_at.is_null()).execute())
            if won:
                self.paid_in_full_at = utcnow()
                _notify(self, "invoice_paid", amount=str(fresh.amount))
        if self.application_id:  # the commission fee of an application: its stage may move on
            from models.decisions import refresh_stage
            refresh_stage(Application.get_by_id(self.application_id))
        return payment


    def issue_credit_note(self, amount, reason, by, issued_on=None):
        """A credit note against this invoice (inside ``action()``): what is due falls by
        ``amount``, at most what is not credited yet (``rules.finance.creditable``). The sum
        grows in one conditional UPDATE, so two credit notes at once never credit more than
        the amount; the loser gets a ValueError and nothing is written. The client's users who
        see finance are told by e-mail."""
        amount = F.cents(amount)
        if amount < F.CENT:
            raise ValueError("a credit note credits at least one cent")
        won = (Invoice.update(credited=Invoice.credited + amount)
               .where(Invoice.id == self.id, Invoice.credited + amount <= Invoice.amount).execute())
        if not won:
            raise ValueError("more than the invoice's amount not credited yet")
        fresh = Invoice.get_by_id(self.id)
        self.credited = fresh.credited
        sequence = CreditNote.select().where(CreditNote.invoice == self).count() + 1
        note = CreditNote.create(invoice=self, client=self.client_id, created_by=by, amount=amount,
                                 number=F.credit_note_number(self.number, sequence), reason=reason,
                                 issued_on=issued_on or date.today())
        _notify(self, "credit_note_issued", amount=str(amount), credit_note=note.number,
                remaining=str(fresh.balance().remaining))
        return note


def _notify(invoice, template, **params):
    """An e-mail to each user of the client who may see its invoices (the right "finance", the
    whole company's items), in their language."""
    readers = (User.select().join(Membership)
               .where(Membership.client == invoice.client_id, Membership.revoked_at.is_null(),
                      Membership.can_finance == True, Membership.own_items_only == False,  # noqa: E712
                      User.disabled_at.is_null(), User.notify_email == True))  # noqa: E712
    for user in readers:
        Notification.queue("email", user.email, template, language=user.language, user=user,
                           number=invoice.number, invoice_id=invoice.id, **params)


class BankStatement(BaseModel):
    """One imported camt.053 statement: who imported it, what it held, what was matched."""

    account = CharField(max_length=34)  # the institution's IBAN the statement is of
    statement_id = CharField(max_length=100, default="")  # Stmt/Id
    digest = CharField(max_length=64)  # sha256 of the file
    imported_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    imported_at = DateTimeField(default=utcnow, index=True)
    entries = IntegerField(default=0)  # new entries taken from the file
    duplicates = IntegerField(default=0)  # entries imported before (left alone)
    matched = IntegerField(default=0)


class StatementEntry(BaseModel):
    """One credit entry of a statement, kept once per account and entry reference
    (AcctSvcrRef, else NtryRef): importing the statement again adds nothing."""

    statement = ForeignKeyField(BankStatement, backref="rows", on_delete="CASCADE")
    account = CharField(max_length=34)
    entry_key = CharField(max_length=100)
    amount = _money_field()
    currency = CharField(max_length=3, default=F.CURRENCY)
    booked_on = DateField(null=True)
    debtor = CharField(max_length=140, default="")
    reference = CharField(max_length=35, default="")  # structured (CdtrRefInf/Ref)
    text = CharField(max_length=140, default="")  # unstructured (Ustrd)
    status = CharField(max_length=20, index=True)  # rules.finance: matched, unmatched, assigned, skipped
    reason = CharField(max_length=200, default="")  # why not matched: rules.finance.REASONS
    invoice = ForeignKeyField(Invoice, null=True, backref="statement_entries", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("account", "entry_key"), True),)

    def assign(self, invoice, by):
        """Staff assign an unmatched entry to an invoice by hand (inside ``action()``): the
        entry becomes a payment. False if someone else settled it first."""
        won = (StatementEntry.update(status=F.ASSIGNED, invoice=invoice)
               .where(StatementEntry.id == self.id, StatementEntry.status == F.UNMATCHED).execute())
        if won:
            invoice.record_payment(self.amount, self.booked_on or date.today(), by=by,
                                   note=self.text or self.reference, entry=self, source="statement")
        return bool(won)


class Payment(BaseModel):
    """Money received for an invoice: entered by staff, or from a statement entry."""

    invoice = ForeignKeyField(Invoice, backref="payments", on_delete="CASCADE")
    amount = _money_field()
    paid_on = DateField()
    source = CharField(max_length=20, default="manual")  # manual / statement
    note = TextField(default="")
    entry = ForeignKeyField(StatementEntry, null=True, unique=True, backref="+", on_delete="SET NULL")
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)


class CreditNote(BaseModel):
    """A credit note: part or all of an invoice's amount the client no longer owes. Reached like
    an invoice (``client``, right "finance"; ``created_by`` is the staff issuer)."""

    invoice = ForeignKeyField(Invoice, backref="credit_notes", on_delete="CASCADE")
    client = ForeignKeyField(Client, backref="+", on_delete="CASCADE")
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    number = CharField(max_length=30, unique=True)
    amount = _money_field()
    reason = TextField(default="")
    issued_on = DateField()
    created_at = DateTimeField(default=utcnow)


def find_invoice(reference="", text=""):
    """The invoice a payment names: by its structured reference (a valid RF), else by an RF
    reference or an invoice number in its text. None when it names none, or more than one."""
    reference = F.compact(reference)
    if reference and F.rf_valid(reference):
        found = Invoice.get_or_none(Invoice.reference == reference)
        if found is not None:
            return found
    words = {F.compact(w) for w in (text or "").replace(",", " ").replace(";", " ").split()}
    references = {w for w in words if F.rf_valid(w)}
    numbers = set(F.numbers_in(text))
    if not references and not numbers:
        return None
    query = Invoice.select()
    condition = None
    if references:
        condition = Invoice.reference.in_(sorted(references))
    if numbers:
        part = Invoice.number.in_(sorted(numbers))
        condition = part if condition is None else (condition | part)
    found = list(query.where(condition).limit(2))
    return found[0] if len(found) == 1 else None


def import_statement(statement, raw, by):
    """Take a parsed camt.053 statement (``adapters.bank_statements.Statement``) inside the
    caller's ``action()``: each credit entry not seen before (account + entry reference) is
    kept; one that names an invoice becomes its payment, the rest wait for staff. Returns the
    ``BankStatement`` row."""
    row = BankStatement.create(account=statement.account, statement_id=statement.statement_id[:100],
                               digest=hashlib.sha256(raw).hexdigest(), imported_by=by)
    keys = [e.key for e in statement.entries]
    seen = set()
    for start in range(0, len(keys), 500):
        seen.update(k for (k,) in StatementEntry.select(StatementEntry.entry_key)
                    .where(StatementEntry.account == statement.account,
                           StatementEntry.entry_key.in_(keys[start:start + 500])).tuples())
    new = duplicates = matched = 0
    for entry in statement.entries:
        if entry.key in seen:
            duplicates += 1
            continue
        seen.add(entry.key)
        new += 1
        invoice, status, reason = None, F.UNMATCHED, entry.problem
        if entry.problem == "" and not entry.credit:
            status, reason = F.SKIPPED, F.REASON_DEBIT
        elif entry.problem == "":
            invoice = find_invoice(entry.reference, entry.text)
            if invoice is None:
                reason = F.REASON_NO_INVOICE
            elif entry.currency != invoice.currency:
                invoice, reason = None, F.REASON_CURRENCY
            else:
                status = F.MATCHED
        kept = StatementEntry.create(statement=row, account=statement.account, entry_key=entry.key,
                                     amount=entry.amount, currency=entry.currency[:3], booked_on=entry.booked_on,
                                     debtor=entry.debtor[:140], reference=entry.reference[:35],
                                     text=entry.text[:140], status=status, reason=reason[:200], invoice=invoice)
        if invoice is not None:
            matched += 1
            invoice.record_payment(entry.amount, entry.booked_on or date.today(), by=by,
                                   note=entry.text or entry.reference, entry=kept, source="statement")
    BankStatement.update(entries=new, duplicates=duplicates, matched=matched).where(
        BankStatement.id == row.id).execute()
    row.entries, row.duplicates, row.matched = new, duplicates, matched
    return row


def summary(invoices_query, today):
    """The dashboard's finance item: how many invoices wait for payment, what remains, and the
    next due date (of those not paid), in one query."""
    open_ = invoices_query.where(Invoice.paid + Invoice.credited < Invoice.amount)
    count, remaining, next_due = (open_.select(fn.COUNT(Invoice.id),
                                               fn.SUM(Invoice.amount - Invoice.credited - Invoice.paid),
                                               fn.MIN(Invoice.due_on)).scalar(as_tuple=True))
    if isinstance(next_due, str):  # SQLite hands an aggregate's date back as text
        next_due = date.fromisoformat(next_due)
    return {"count": count or 0, "remaining": from_cents(remaining or 0), "next_due": next_due,
            "overdue": bool(next_due and next_due < today)}


FINANCE_MODELS = [InvoiceCounter, Invoice, BankStatement, StatementEntry, Payment, CreditNote]
