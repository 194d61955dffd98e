"""Powers of attorney (issue 13, seed 003): uploaded by a person for a company, verified by staff
with a validity, the access they give ending by itself when they expire."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class PowerOfAttorney(pw.Model):
        id = pw.AutoField()
        client = pw.ForeignKeyField(column_name="client_id", field="id", model=migrator.orm["client"],
                                    on_delete="CASCADE")
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["user"], on_delete="CASCADE")
        stored_file = pw.ForeignKeyField(column_name="stored_file_id", field="id", model=migrator.orm["stored_file"],
                                         on_delete="CASCADE")
        rights = pw.CharField(max_length=100)
        status = pw.CharField(max_length=255, default="waiting")
        created_at = pw.DateTimeField()
        valid_from = pw.DateField(null=True)
        valid_until = pw.DateField(null=True)
        decided_at = pw.DateTimeField(null=True)
        decided_by = pw.ForeignKeyField(column_name="decided_by_id", field="id", model=migrator.orm["user"],
                                        null=True, on_delete="SET NULL")
        note = pw.TextField(default="")
        membership = pw.ForeignKeyField(column_name="membership_id", field="id", model=migrator.orm["membership"],
                                        null=True, on_delete="SET NULL")
        created_membership = pw.BooleanField(default=False)
        added_rights = pw.CharField(max_length=100, default="")
        notice_sent_at = pw.DateTimeField(null=True)
        expired_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "power_of_attorney"
            indexes = [(("status", "created_at"), False), (("user", "client"), False),
                       (("status", "valid_until"), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("power_of_attorney")
