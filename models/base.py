"""The database handle, the base model, the clock and the column types every model shares."""
import hashlib
import json
import logging
import weakref
from datetime import datetime, timezone

from peewee import DatabaseProxy, Model, TextField
from playhouse.pool import PooledPostgresqlDatabase

db = DatabaseProxy()
log = logging.getLogger(__name__)


class ConnectionPool(PooledPostgresqlDatabase):
    """PostgreSQL connections kept open between requests (each process its own pool).

    A thread takes one on its first query and gives it back when closing, so what runs no
    SQL takes none. A connection is handed out again only after it answers a ``SELECT 1``
    (peewee's check on taking one from the pool: a connection the server or the network
    dropped meanwhile is thrown away and a new one opened) and only if it came back idle or
    could be rolled back; one whose closing failed is closed for good (``dispose``), never
    pooled. Connections older than ``stale_timeout`` are replaced."""

    def dispose(self):
        """Forget this thread's connection and close it for good, leaving the rest of the
        pool alone (peewee's own ``dispose`` would forget every pooled connection)."""
        with self._lock:
            conn = None if self._state.closed else self._state.conn
            self._state.reset()
        if conn is not None:
            self._close(conn, close_conn=True)


class Prepared:
    """A select whose SQL is built once per database and run again with new values.

    peewee builds a query's SQL anew every time it runs; for a model of a dozen columns that
    costs more than running it (0.15 ms of a 0.3 ms user lookup). The queries every signed-in
    request runs are built once instead: ``build(*values)`` returns the query for the given
    values, each of which must reach the SQL as one of its parameters (checked when it is
    prepared, with values no real row has). Rows come back as the query itself would give them
    (models, with the joined ones attached)."""

    _MARKERS = tuple(-(10 ** 15) - n for n in range(8))

    def __init__(self, build):
        self.build = build
        self._prepared = weakref.WeakKeyDictionary()  # database → (query, SQL, parameters)

    def _prepare(self, database, arity):
        markers = self._MARKERS[:arity]
        query = self.build(*markers)
        sql, params = database.get_sql_context().sql(query).query()
        texts = tuple(str(m) for m in markers)  # a text column's marker reaches the SQL as text
        slots = [("value", markers.index(p)) if p in markers else
                 ("value", texts.index(p)) if isinstance(p, str) and p in texts else ("fixed", p)
                 for p in params]
        if sorted(i for kind, i in slots if kind == "value") != list(range(arity)):
            raise ValueError(f"each value must be one parameter of the SQL: {sql}")
        self._prepared[database] = found = (query, sql, slots)
        return found

    def __call__(self, *values):
        """The rows for ``values`` (a list)."""
        database = db.obj
        query, sql, slots = self._prepared.get(database) or self._prepare(database, len(values))
        params = [values[i] if kind == "value" else i for kind, i in slots]
        return list(query._get_cursor_wrapper(database.execute_sql(sql, params)))


def close_connection():
    """Close this thread's connection (with a pool: give it back), and forget it even when
    closing fails (a connection the server dropped, a transaction a failed rollback left
    open): the next request opens a new connection, or takes a sound one from the pool,
    instead of inheriting a broken one."""
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
