"""The back office (issue 15): each client's consultant (a consultant reaches only the clients
assigned to them), and a thread or a document passed to a competent colleague with a note
(seed 001 §2)."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "client",
        consultant=pw.ForeignKeyField(column_name="consultant_id", field="id", model=migrator.orm["user"],
                                      null=True, on_delete="SET NULL", index=True),
    )
    for table in ("document", "thread"):
        migrator.add_fields(
            table,
            assigned_to=pw.ForeignKeyField(column_name="assigned_to_id", field="id", model=migrator.orm["user"],
                                           null=True, on_delete="SET NULL", index=True),
            assigned_note=pw.TextField(default=""),
        )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    for table in ("thread", "document"):
        migrator.remove_fields(table, "assigned_to", "assigned_note")
    migrator.remove_fields("client", "consultant")
