"""Indexes for paging by key (issue 10): each list reads only the page it shows.

The client's documents by (client, id), the client's threads by (client, last message,
id), a thread's messages by (thread, id), the ratings by (time, id). SQLite's index on
a foreign key already ends in the row id; PostgreSQL's does not, and would sort."""
import peewee as pw
from peewee_migrate import Migrator

INDEXES = (("document", ("client", "id")), ("thread", ("client", "last_message_at", "id")),
           ("message", ("thread", "id")), ("thread_rating", ("created_at", "id")))


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    for table, columns in INDEXES:
        migrator.add_index(table, *columns)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    for table, columns in INDEXES:
        migrator.drop_index(table, *columns)
