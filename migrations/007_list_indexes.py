"""Indexes for paging (issue 10): each list reads only the page it shows, in its order.

By key: the client's documents by (client, id), the client's threads by (client, last
message, id), a thread's messages by (thread, id), the ratings by (time, id). SQLite's
index on a foreign key already ends in the row id; PostgreSQL's does not, and would sort.
The staff queues (numbered pages): waiting documents by (waiting, status, submitted,
changed, id), recently changed ones by (waiting, changed), waiting threads by due time — a
partial index over the waiting threads only — and answered ones (waiting since NULL) by
(waiting since, last message, id)."""
import peewee as pw
from peewee_migrate import Migrator

INDEXES = (("document", ("client", "id")), ("thread", ("client", "last_message_at", "id")),
           ("message", ("thread", "id")), ("thread_rating", ("created_at", "id")),
           ("document", ("waiting", "status", "submitted_at", "updated_at", "id")),
           ("document", ("waiting", "updated_at")), ("thread", ("waiting_since", "last_message_at", "id")))
WAITING_DUE = "thread_waiting_due"


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    for table, columns in INDEXES:
        migrator.add_index(table, *columns)
    migrator.sql(f'CREATE INDEX "{WAITING_DUE}" ON "thread" ("due_at", "waiting_since", "id") '
                 'WHERE ("waiting_since" IS NOT NULL)')


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.sql(f'DROP INDEX "{WAITING_DUE}"')
    for table, columns in INDEXES:
        migrator.drop_index(table, *columns)
