"""Changing the e-mail or phone (issue 11): the change waiting for the code sent to the new
value, and the codes that belong to it."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class ContactChange(pw.Model):
        id = pw.AutoField()
        token = pw.CharField(max_length=255, unique=True)
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["user"],
                                  on_delete="CASCADE")
        field = pw.CharField(max_length=255)
        new_value = pw.CharField(max_length=255)
        created_at = pw.DateTimeField()
        completed_at = pw.DateTimeField(null=True)
        ended_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "contact_change"

    migrator.add_fields(
        "one_time_code",
        contact_change=pw.ForeignKeyField(column_name="contact_change_id", field="id",
                                          model=migrator.orm["contact_change"], null=True,
                                          on_delete="CASCADE"),
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("one_time_code", "contact_change")
    migrator.remove_model("contact_change")
