"""Invoices, payments and imported bank statements (issue 15). Money is kept in whole cents
(``models.finance.MoneyField``); an invoice's ``purpose_ref`` names what it is for (e.g. an
onboarding application) without a foreign key."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class InvoiceCounter(pw.Model):
        id = pw.AutoField()
        year = pw.IntegerField(unique=True)
        last = pw.IntegerField(default=0)

        class Meta:
            table_name = "invoice_counter"

    @migrator.create_model
    class Invoice(pw.Model):
        id = pw.AutoField()
        client = pw.ForeignKeyField(column_name="client_id", field="id", model=migrator.orm["client"],
                                    on_delete="CASCADE")
        created_by = pw.ForeignKeyField(column_name="created_by_id", field="id", model=migrator.orm["user"],
                                        null=True, on_delete="SET NULL")
        number = pw.CharField(max_length=20, unique=True)
        reference = pw.CharField(max_length=25, unique=True)
        amount = pw.BigIntegerField()
        currency = pw.CharField(max_length=3, default="EUR")
        paid = pw.BigIntegerField(default=0)
        issued_on = pw.DateField()
        due_on = pw.DateField()
        description = pw.TextField(default="")
        purpose = pw.CharField(max_length=30, default="other")
        purpose_ref = pw.CharField(max_length=100, null=True)
        paid_in_full_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "invoice"
            indexes = [(("client", "due_on"), False)]

    @migrator.create_model
    class BankStatement(pw.Model):
        id = pw.AutoField()
        account = pw.CharField(max_length=34)
        statement_id = pw.CharField(max_length=100, default="")
        digest = pw.CharField(max_length=64)
        imported_by = pw.ForeignKeyField(column_name="imported_by_id", field="id", model=migrator.orm["user"],
                                         null=True, on_delete="SET NULL")
        imported_at = pw.DateTimeField(index=True)
        entries = pw.IntegerField(default=0)
        duplicates = pw.IntegerField(default=0)
        matched = pw.IntegerField(default=0)

        class Meta:
            table_name = "bank_statement"

    @migrator.create_model
    class StatementEntry(pw.Model):
        id = pw.AutoField()
        statement = pw.ForeignKeyField(column_name="statement_id", field="id",
                                       model=migrator.orm["bank_statement"], on_delete="CASCADE")
        account = pw.CharField(max_length=34)
        entry_key = pw.CharField(max_length=100)
        amount = pw.BigIntegerField()
        currency = pw.CharField(max_length=3, default="EUR")
        booked_on = pw.DateField(null=True)
        debtor = pw.CharField(max_length=140, default="")
        reference = pw.CharField(max_length=35, default="")
        text = pw.CharField(max_length=140, default="")
        status = pw.CharField(max_length=20, index=True)
        reason = pw.CharField(max_length=200, default="")
        invoice = pw.ForeignKeyField(column_name="invoice_id", field="id", model=migrator.orm["invoice"],
                                     null=True, on_delete="SET NULL")
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "statement_entry"
            indexes = [(("account", "entry_key"), True)]

    @migrator.create_model
    class Payment(pw.Model):
        id = pw.AutoField()
        invoice = pw.ForeignKeyField(column_name="invoice_id", field="id", model=migrator.orm["invoice"],
                                     on_delete="CASCADE")
        amount = pw.BigIntegerField()
        paid_on = pw.DateField()
        source = pw.CharField(max_length=20, default="manual")
        note = pw.TextField(default="")
        entry = pw.ForeignKeyField(column_name="entry_id", field="id", model=migrator.orm["statement_entry"],
                                   null=True, unique=True, on_delete="SET NULL")
        created_by = pw.ForeignKeyField(column_name="created_by_id", field="id", model=migrator.orm["user"],
                                        null=True, on_delete="SET NULL")
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "payment"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    for name in ("payment", "statement_entry", "bank_statement", "invoice", "invoice_counter"):
        migrator.remove_model(name)
