"""Companies (issue 13): a main user's invitations for colleagues (single-use token, stored as its
hash), and the company an audit row concerns, so a main user reads the company's activity."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class Invitation(pw.Model):
        id = pw.AutoField()
        client = pw.ForeignKeyField(column_name="client_id", field="id", model=migrator.orm["client"],
                                    on_delete="CASCADE")
        invited_by = pw.ForeignKeyField(column_name="invited_by_id", field="id", model=migrator.orm["user"],
                                        null=True, on_delete="SET NULL")
        full_name = pw.CharField(max_length=255, default="")
        email = pw.CharField(max_length=255, null=True)
        phone = pw.CharField(max_length=255, null=True)
        language = pw.CharField(max_length=255, default="lv")
        can_documents = pw.BooleanField(default=False)
        can_submit = pw.BooleanField(default=False)
        can_messages = pw.BooleanField(default=False)
        can_finance = pw.BooleanField(default=False)
        can_services = pw.BooleanField(default=False)
        own_items_only = pw.BooleanField(default=True)
        token_hash = pw.CharField(max_length=64, unique=True)
        created_at = pw.DateTimeField()
        sent_at = pw.DateTimeField()
        expires_at = pw.DateTimeField()
        accepted_at = pw.DateTimeField(null=True)
        accepted_by = pw.ForeignKeyField(column_name="accepted_by_id", field="id", model=migrator.orm["user"],
                                         null=True, on_delete="SET NULL")
        cancelled_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "invitation"
            indexes = [(("client", "id"), False)]

    migrator.add_fields(
        "audit_log",
        client=pw.ForeignKeyField(column_name="client_id", field="id", model=migrator.orm["client"], null=True,
                                  on_delete="SET NULL"),
    )
    migrator.add_index("audit_log", "client", "id")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.drop_index("audit_log", "client", "id")
    migrator.remove_fields("audit_log", "client")
    migrator.remove_model("invitation")
