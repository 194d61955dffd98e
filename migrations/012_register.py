"""Company-register representation data (issue 13): each import (when, from what, how much) and
the rows of the snapshot in force, the personal code only as its keyed hash; and the requests for
main-user rights with a signed authorisation that staff verify."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class RegisterImport(pw.Model):
        id = pw.AutoField()
        imported_at = pw.DateTimeField()
        source = pw.CharField(max_length=255)
        sha256 = pw.CharField(max_length=64)
        rows = pw.IntegerField(default=0)
        companies = pw.IntegerField(default=0)
        persons = pw.IntegerField(default=0)
        skipped = pw.IntegerField(default=0)
        key_check = pw.CharField(max_length=16)

        class Meta:
            table_name = "register_import"

    @migrator.create_model
    class RegisterEntry(pw.Model):
        id = pw.AutoField()
        snapshot = pw.ForeignKeyField(column_name="snapshot_id", field="id", model=migrator.orm["register_import"],
                                      on_delete="CASCADE")
        registration_number = pw.CharField(max_length=11, index=True)
        company_name = pw.CharField(max_length=255)
        code_hash = pw.CharField(max_length=64)
        role = pw.CharField(max_length=100)
        signing_rights = pw.CharField(max_length=10)

        class Meta:
            table_name = "register_entry"
            indexes = [(("code_hash", "registration_number"), False)]

    @migrator.create_model
    class MainUserRequest(pw.Model):
        id = pw.AutoField()
        client = pw.ForeignKeyField(column_name="client_id", field="id", model=migrator.orm["client"],
                                    on_delete="CASCADE")
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["user"], on_delete="CASCADE")
        stored_file = pw.ForeignKeyField(column_name="stored_file_id", field="id", model=migrator.orm["stored_file"],
                                         on_delete="CASCADE")
        status = pw.CharField(max_length=255, default="waiting")
        created_at = pw.DateTimeField()
        decided_at = pw.DateTimeField(null=True)
        decided_by = pw.ForeignKeyField(column_name="decided_by_id", field="id", model=migrator.orm["user"],
                                        null=True, on_delete="SET NULL")
        note = pw.TextField(default="")

        class Meta:
            table_name = "main_user_request"
            indexes = [(("status", "created_at"), False), (("user", "client"), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("main_user_request")
    migrator.remove_model("register_entry")
    migrator.remove_model("register_import")
