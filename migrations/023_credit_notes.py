"""Credit notes (issue 15): part or all of an invoice's amount the client no longer owes. The
invoice keeps their sum (``credited``, whole cents, like ``paid``), so a list shows paid,
credited and remaining amounts without summing."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields("invoice", credited=pw.BigIntegerField(default=0))

    @migrator.create_model
    class CreditNote(pw.Model):
        id = pw.AutoField()
        invoice = pw.ForeignKeyField(column_name="invoice_id", field="id", model=migrator.orm["invoice"],
                                     on_delete="CASCADE")
        client = pw.ForeignKeyField(column_name="client_id", field="id", model=migrator.orm["client"],
                                    on_delete="CASCADE")
        created_by = pw.ForeignKeyField(column_name="created_by_id", field="id", model=migrator.orm["user"],
                                        null=True, on_delete="SET NULL")
        number = pw.CharField(max_length=30, unique=True)
        amount = pw.BigIntegerField()
        reason = pw.TextField(default="")
        issued_on = pw.DateField()
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "credit_note"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("credit_note")
    migrator.remove_fields("invoice", "credited")
