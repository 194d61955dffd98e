"""Messages: the sending form's one-time nonce (issue 8): "Nosūtīt" pressed twice is one message.

Unique, and empty for the messages sent before (NULLs never collide)."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields("message", nonce=pw.CharField(max_length=64, null=True, unique=True))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("message", "nonce")
