"""The client's services (issue 15; seeds 000, 002, 003): permits, loans, guarantees and
connections, a schedule of instalments, and the requests about a service (each a document).
Money in whole cents, as in 014; ``assignee`` is whose item a service is for a colleague
limited to own items."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class Service(pw.Model):
        id = pw.AutoField()
        client = pw.ForeignKeyField(column_name="client_id", field="id", model=migrator.orm["client"],
                                    on_delete="CASCADE")
        assignee = pw.ForeignKeyField(column_name="assignee_id", field="id", model=migrator.orm["user"],
                                      null=True, on_delete="SET NULL")
        created_by = pw.ForeignKeyField(column_name="created_by_id", field="id", model=migrator.orm["user"],
                                        null=True, on_delete="SET NULL")
        category = pw.CharField(max_length=20)
        number = pw.CharField(max_length=50)
        name = pw.CharField(max_length=200, default="")
        status = pw.CharField(max_length=20, default="active")
        valid_from = pw.DateField(null=True)
        valid_until = pw.DateField(null=True)
        amount = pw.BigIntegerField(null=True)
        currency = pw.CharField(max_length=3, default="EUR")
        note = pw.TextField(default="")
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = "service"
            indexes = [(("client", "id"), False), (("client", "category", "number"), True)]

    @migrator.create_model
    class Instalment(pw.Model):
        id = pw.AutoField()
        service = pw.ForeignKeyField(column_name="service_id", field="id", model=migrator.orm["service"],
                                     on_delete="CASCADE")
        due_on = pw.DateField()
        amount = pw.BigIntegerField()

        class Meta:
            table_name = "instalment"
            indexes = [(("service", "due_on"), True)]

    @migrator.create_model
    class ServiceRequest(pw.Model):
        id = pw.AutoField()
        service = pw.ForeignKeyField(column_name="service_id", field="id", model=migrator.orm["service"],
                                     on_delete="CASCADE")
        document = pw.ForeignKeyField(column_name="document_id", field="id", model=migrator.orm["document"],
                                      unique=True, on_delete="CASCADE")
        kind = pw.CharField(max_length=30)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "service_request"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    for name in ("service_request", "instalment", "service"):
        migrator.remove_model(name)
