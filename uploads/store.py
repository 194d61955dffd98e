"""The all-or-nothing store: check every file, then store them all under random keys.

A refusal raises ``UploadRefused`` before anything is stored; a failure while
storing deletes what was put; ``atomic()`` deletes the blobs too when the
caller's transaction rolls back.
"""
import contextvars
import hashlib
import logging
from contextlib import contextmanager

import models
from adapters.storage import new_key
from models.runtime import runtime
from uploads.checks import CHUNK, UploadRefused, _check

log = logging.getLogger(__name__)


# --- Storing ------------------------------------------------------------------------

_stored_here = contextvars.ContextVar("uploads_stored_here", default=None)


def _delete_quietly(stored):
    """Remove blobs whose rows were not kept; a failure is logged, never raised over
    the error that caused the clean-up."""
    for storage, key in stored:
        try:
            storage.delete(key)
        except Exception:
            log.exception("could not delete orphaned upload %s", key)


def _sha256(stream):
    digest = hashlib.sha256()
    stream.seek(0)
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def store_files(files, policy, user=None, client=None, *, existing_count=0, existing_total=0,
                storage=None):
    """Check every file, then store them all and return their ``StoredFile`` rows.

    All or nothing: when any file is refused, ``UploadRefused`` is raised before
    anything is stored; when storing or a row fails, the blobs already put are
    deleted. Call it inside ``uploads.atomic()`` so that the blobs are deleted
    as well if the caller's own writes later roll the transaction back."""
    uploads, problems = _check(files, policy, existing_count, existing_total)
    if problems:
        raise UploadRefused(problems)
    storage = storage or runtime.storage
    stored, rows = [], []
    try:
        with models.db.atomic():
            for up in uploads:
                digest = _sha256(up.stream)
                key = new_key()
                storage.put(key, up.stream)
                stored.append((storage, key))
                rows.append(models.StoredFile.create(
                    key=key, sha256=digest, size=up.size, original_name=up.name,
                    extension=up.extension, content_type=up.content_type,
                    client=client, uploaded_by=user))
    except BaseException:
        _delete_quietly(stored)
        raise
    pending = _stored_here.get()
    if pending is not None:
        pending.extend(stored)
    return rows


@contextmanager
def atomic():
    """``models.action()`` that also deletes the blobs ``store_files`` put inside it
    when the transaction rolls back (an exception leaves the block)."""
    stored = []
    token = _stored_here.set(stored)
    try:
        with models.action():
            yield
    except BaseException:
        _delete_quietly(stored)
        raise
    finally:
        _stored_here.reset(token)
    outer = _stored_here.get()
    if outer is not None:  # nested: the outer block may still roll back
        outer.extend(stored)
