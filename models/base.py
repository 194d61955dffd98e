"""The database handle, the base model, the clock and the column types every model shares."""
import hashlib
import json
import logging
from datetime import datetime, timezone

from peewee import DatabaseProxy, Model, TextField

db = DatabaseProxy()
log = logging.getLogger(__name__)


def close_connection():
    """Close this thread's connection, and forget it even when closing fails (a connection
    the server dropped, a transaction a failed rollback left open): the next request opens
    a new connection instead of inheriting a broken one."""
    try:
        db.close()
    except Exception as error:  # whatever a broken connection raises, it must not be kept
        log.warning("Closing the database connection failed (%s); it is dropped.", error)
        db.dispose()


def utcnow():
    """Naive UTC now; every stored time is UTC, templates show Europe/Riga."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def scoped_nonce(scope, nonce):
    """What is stored of a form's one-time value: bound to ``scope`` (the author, the
    document), so a value sent by someone else can never collide with one's own (the column
    is unique across everyone). None without a nonce."""
    if not nonce:
        return None
    return hashlib.sha256(f"{scope}\x00{nonce}".encode("utf-8", "surrogatepass")).hexdigest()[:48]


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class JSONField(TextField):
    """JSON kept in a text column (portable between SQLite and PostgreSQL).

    Unreadable text (a hand-edited row) reads as the field's empty value
    instead of failing the page that shows it."""

    def __init__(self, empty=dict, **kwargs):
        self.empty = empty
        kwargs.setdefault("default", empty)
        super().__init__(**kwargs)

    def db_value(self, value):
        if value is None:
            return None
        return json.dumps(value, ensure_ascii=False, sort_keys=True)

    def python_value(self, value):
        if value is None or value == "":
            return self.empty()
        try:
            return json.loads(value)
        except ValueError:
            return self.empty()
