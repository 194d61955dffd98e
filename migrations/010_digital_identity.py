"""Digital identity (issue 12): one per person, bound to the keyed hash of the personal code at the
first trusted sign-in, and the personal code an account stated (its keyed hash), which a trusted
sign-in may link to once the person proves they hold the account."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class DigitalIdentity(pw.Model):
        id = pw.AutoField()
        code_hash = pw.CharField(max_length=64, unique=True)
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["user"], null=True,
                                  unique=True, on_delete="SET NULL")
        created_at = pw.DateTimeField()
        linked_at = pw.DateTimeField(null=True)
        last_sign_in_at = pw.DateTimeField(null=True)
        last_provider = pw.CharField(max_length=255, default="")
        last_acr = pw.CharField(max_length=255, default="")
        last_amr = pw.TextField()

        class Meta:
            table_name = "digital_identity"

    @migrator.create_model
    class StatedPersonalCode(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["user"], unique=True,
                                  on_delete="CASCADE")
        code_hash = pw.CharField(max_length=64, index=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "stated_personal_code"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("stated_personal_code")
    migrator.remove_model("digital_identity")
