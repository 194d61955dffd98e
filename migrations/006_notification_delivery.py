"""Notifications: when a row was handed to the mail server or gateway, and when it may be
tried again (issue 8: never lost, never twice)."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "notification",
        handed_over_at=pw.DateTimeField(null=True),
        next_attempt_at=pw.DateTimeField(null=True),
        resolved_at=pw.DateTimeField(null=True),
        resolved_by=pw.ForeignKeyField(column_name="resolved_by_id", field="id", model=migrator.orm["user"],
                                       null=True, on_delete="SET NULL"),
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("notification", "handed_over_at", "next_attempt_at", "resolved_at",
                            "resolved_by")
