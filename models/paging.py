"""Keyset paging: a list newest first, one page at a time, by the key of the rows at its edges.

A page is found from a cursor, the key of the row next to it ("before" the last row of
a newer page, "after" the first row of an older page), with ``WHERE key < cursor ORDER
BY key DESC LIMIT n``. That reads only the rows it shows, whatever the page's depth, so
a page costs the same at 10 rows and at 10,000 (an offset reads every row it skips).
The key is the id, or a time and then the id where the order is not by id (threads by
their last message). A cursor is plain text in a URL (``42``, ``1718000000123456_42``);
anything that is not one is no cursor at all: the first page.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from peewee import DateTimeField

from rules import bounded_int

EPOCH = datetime(1970, 1, 1)
MAX_MICROSECONDS = (datetime(9999, 12, 31) - EPOCH) // timedelta(microseconds=1)
MAX_CURSOR_LENGTH = 64


@dataclass
class KeysetPage:
    """One page: ``rows`` newest first; whether ``older`` rows follow and ``newer`` ones
    precede; ``args``, the cursor that names this window again ({} for the first page)."""

    rows: list
    older: bool
    newer: bool
    args: dict = field(default_factory=dict)


class Keyset:
    """A newest-first order by ``fields`` (most significant first; the last one unique,
    the id), and its pages."""

    def __init__(self, *fields):
        self.fields = fields

    # --- Cursors: the key of a row as URL text, and back -----------------------------------

    def cursor(self, row):
        """The key of ``row`` as cursor text."""
        return self.text([getattr(row, f.name) for f in self.fields])

    def parse(self, text):
        """The key values in cursor text, or None for anything else (garbage, huge, empty)."""
        if not text or len(text) > MAX_CURSOR_LENGTH:
            return None
        parts = text.split("_")
        if len(parts) != len(self.fields):
            return None
        values = []
        for f, part in zip(self.fields, parts, strict=True):
            if isinstance(f, DateTimeField):
                number = bounded_int(part, low=0, high=MAX_MICROSECONDS)
                values.append(None if number is None else EPOCH + timedelta(microseconds=number))
            else:
                values.append(bounded_int(part, low=0))
        return None if None in values else tuple(values)

    @staticmethod
    def _number(f, value):
        if isinstance(f, DateTimeField):
            return (value - EPOCH) // timedelta(microseconds=1)
        return int(value)

    # --- Windows --------------------------------------------------------------------------

    def _beyond(self, values, older, inclusive=False):
        """Rows older (or newer) than the key ``values``, or at it with ``inclusive``: for
        (a, b), a <= x AND (a < x OR (a = x AND b < y)), whose first term an index on
        (…, a, b) can range over."""
        condition, equal = None, None
        last = len(self.fields) - 1
        for i, (f, value) in enumerate(zip(self.fields, values, strict=True)):
            if inclusive and i == last:
                step = (f <= value) if older else (f >= value)
            else:
                step = (f < value) if older else (f > value)
            part = step if equal is None else (equal & step)
            condition = part if condition is None else (condition | part)
            equal = (f == value) if equal is None else (equal & (f == value))
        if last:
            first, value = self.fields[0], values[0]
            condition = ((first <= value) if older else (first >= value)) & condition
        return condition

    def window(self, query, size, before=None, after=None):
        """The rows of one window, as a query: the ``size`` rows older than ``before``, or
        newer than ``after`` (nearest first, so oldest first), or the newest ``size``."""
        if after is not None:
            return query.where(self._beyond(after, older=False)).order_by(*self.fields).limit(size)
        if before is not None:
            query = query.where(self._beyond(before, older=True))
        return query.order_by(*[f.desc() for f in self.fields]).limit(size)

    def rows(self, window, after=None):
        """A window's rows, newest first."""
        rows = list(window)
        return rows[::-1] if after is not None else rows

    def page(self, query, size, before=None, after=None):
        """The page of ``size`` rows at the cursor (a key tuple from ``parse``, or None).

        A cursor with nothing newer than it (or with fewer than a page of rows after it)
        names the first page, which answers instead. One query for the first page, two
        otherwise (the page, and whether rows lie beyond its other edge)."""
        if before is not None:
            rows = list(self.window(query, size + 1, before=before))
            if query.where(self._beyond(before, older=False, inclusive=True)).exists():
                return KeysetPage(rows[:size], len(rows) > size, True, self.args(before=before))
            return KeysetPage(rows[:size], len(rows) > size, False)  # nothing newer: the first page
        if after is not None:
            rows = list(self.window(query, size + 1, after=after))
            if len(rows) > size:
                older = query.where(self._beyond(after, older=True, inclusive=True)).exists()
                return KeysetPage(rows[:size][::-1], older, True, self.args(after=after))
        rows = list(self.window(query, size + 1))
        return KeysetPage(rows[:size], len(rows) > size, False)

    def text(self, values):
        """Key values (from ``parse``) as cursor text again."""
        return "_".join(str(self._number(f, v)) for f, v in zip(self.fields, values, strict=True))

    def args(self, before=None, after=None):
        """The URL arguments naming the window at a cursor: {"before": …}, {"after": …} or {}."""
        if before is not None:
            return {"before": self.text(before)}
        return {"after": self.text(after)} if after is not None else {}
