"""Onboarding applications (issue 14): the services asked for, the form as saved, the stages'
progress, the ID-document copy."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class Application(pw.Model):
        id = pw.AutoField()
        client = pw.ForeignKeyField(column_name="client_id", field="id", model=migrator.orm["client"],
                                    on_delete="CASCADE")
        created_by = pw.ForeignKeyField(column_name="created_by_id", field="id", model=migrator.orm["user"],
                                        on_delete="CASCADE")
        kind = pw.CharField(max_length=255)
        services = pw.TextField()
        data = pw.TextField()
        status = pw.CharField(index=True, max_length=255)
        progress = pw.TextField()
        id_document = pw.ForeignKeyField(column_name="id_document_id", field="id",
                                         model=migrator.orm["stored_file"], null=True, on_delete="SET NULL")
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        submitted_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "application"
            indexes = [(("client", "status"), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("application")
