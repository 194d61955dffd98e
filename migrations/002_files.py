"""Stored files: metadata of accepted uploads (bytes live in the storage backend)."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class StoredFile(pw.Model):
        id = pw.AutoField()
        key = pw.CharField(max_length=255, unique=True)
        sha256 = pw.CharField(max_length=64)
        size = pw.BigIntegerField()
        original_name = pw.CharField(max_length=255)
        extension = pw.CharField(max_length=10)
        content_type = pw.CharField(max_length=255)
        client = pw.ForeignKeyField(column_name="client_id", field="id", model=migrator.orm["client"],
                                    null=True, on_delete="CASCADE")
        uploaded_by = pw.ForeignKeyField(column_name="uploaded_by_id", field="id", model=migrator.orm["user"],
                                         null=True, on_delete="SET NULL")
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "stored_file"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("stored_file")
