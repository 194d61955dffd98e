"""Sessions ended one at a time ("sign out here", issue 11): the session's id is refused
from then on, the user's other sessions go on. "Sign out everywhere" stays the session version."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class EndedSession(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["user"],
                                  on_delete="CASCADE")
        session_id = pw.CharField(max_length=64, unique=True)
        expires_at = pw.DateTimeField()

        class Meta:
            table_name = "ended_session"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("ended_session")
