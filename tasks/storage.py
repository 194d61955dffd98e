"""The storage sweep: remove blobs no row points at, and what unfinished writes left.

A worker killed during an upload (``kill -9``, out of memory, a deploy) leaves blobs that
were stored but whose ``StoredFile`` rows were never committed, and ``.part-`` files
(on S3: multipart uploads never completed) — kept forever, since nothing else deletes
them. ``sweep_storage`` (hourly, from ``rq cron``; ``flask sweep-storage`` by hand) lists
the backend and removes:

- a blob no ``StoredFile`` row points at, once older than the blob grace (24 h). A blob
  is stored *before* its row is committed, so a young blob without a row is an upload
  still in progress: the grace is what keeps it. The rows are asked after the listing,
  batch by batch, just before deleting, so a row committed meanwhile is seen;
- what an unfinished write left, once untouched for the part grace (6 h).

It logs each removal and a summary (count, bytes). Safe to run twice or at once: deleting
what is gone already is not an error.
"""
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from flask import current_app

from models.files import referenced_keys
from models.runtime import runtime
from rules.uploads import SWEEP_MIN_GRACE
from tasks import with_app

log = logging.getLogger(__name__)
BATCH = 500


@dataclass
class SweepReport:
    """What a sweep removed (or, in a dry run, would have removed)."""

    blobs: list = field(default_factory=list)  # Entry
    unfinished: list = field(default_factory=list)  # Entry
    kept: int = 0  # blobs a row points at, or too young to judge

    def summary(self):
        return {"blobs": len(self.blobs), "blob_bytes": sum(e.size for e in self.blobs),
                "unfinished": len(self.unfinished), "unfinished_bytes": sum(e.size for e in self.unfinished),
                "kept": self.kept}


def sweep(storage, blob_grace, part_grace, now=None, dry_run=False):
    """Remove from ``storage`` the blobs no row points at that are older than ``blob_grace``,
    and unfinished writes untouched for ``part_grace``. Returns a ``SweepReport``."""
    if min(blob_grace, part_grace) < SWEEP_MIN_GRACE:
        raise ValueError(f"a grace below {SWEEP_MIN_GRACE} could remove an upload in progress")
    now = now or datetime.now(timezone.utc)
    report = SweepReport()
    old_blobs = []
    for entry in storage.entries():
        if entry.unfinished is not None:
            if entry.modified <= now - part_grace:
                if not dry_run:
                    storage.delete_unfinished(entry)
                report.unfinished.append(entry)
                log.warning("storage sweep: %s unfinished upload %s (%s bytes, last written %s)",
                            _did(dry_run), entry.key or entry.unfinished, entry.size, entry.modified.isoformat())
        elif entry.modified <= now - blob_grace:
            old_blobs.append(entry)
            if len(old_blobs) == BATCH:
                _remove_unreferenced(storage, old_blobs, report, dry_run)
                old_blobs = []
        else:
            report.kept += 1
    _remove_unreferenced(storage, old_blobs, report, dry_run)
    summary = report.summary()
    level = logging.WARNING if report.blobs or report.unfinished else logging.INFO
    log.log(level, "storage sweep: %s %d unreferenced blob(s), %d bytes, and %d unfinished upload(s), "
            "%d bytes; %d blob(s) kept", _did(dry_run), summary["blobs"], summary["blob_bytes"],
            summary["unfinished"], summary["unfinished_bytes"], summary["kept"])
    return report


def _remove_unreferenced(storage, old_blobs, report, dry_run):
    """Delete the blobs of a batch that no row points at (asked now, just before deleting)."""
    referenced = referenced_keys(e.key for e in old_blobs)
    for entry in old_blobs:
        if entry.key in referenced:
            report.kept += 1
            continue
        if not dry_run:
            storage.delete(entry.key)
        report.blobs.append(entry)
        log.warning("storage sweep: %s unreferenced blob %s (%s bytes, stored %s)",
                    _did(dry_run), entry.key, entry.size, entry.modified.isoformat())


def _did(dry_run):
    return "would remove" if dry_run else "removed"


def graces(config):
    """(blob grace, part grace) from the configuration (hours)."""
    return (timedelta(hours=float(config["STORAGE_SWEEP_BLOB_HOURS"])),
            timedelta(hours=float(config["STORAGE_SWEEP_PART_HOURS"])))


@with_app
def sweep_storage():
    """Hourly: the sweep above on the configured storage, with the configured graces."""
    blob_grace, part_grace = graces(current_app.config)
    return sweep(runtime.storage, blob_grace, part_grace).summary()
