"""Where the bytes of uploaded files live: local disk or an S3-compatible bucket.

Both backends take the same random keys (``new_key()``) and never see a file
name, so nothing a user sends can choose a path. ``storage_from_config`` builds the
backend the configuration names (``STORAGE_BACKEND``: ``local`` or ``s3``); the app
builds it once (``adapters.build``) and the domain reaches it as ``runtime.storage``.

``entries()`` lists what a backend holds, including what writes that never finished
left behind (a worker killed mid-upload), for the storage sweep (``tasks.storage``).
"""
import os
import re
import secrets
import shutil
import stat
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path


KEY_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")


HEALTH_PROBE_KEY = "readiness-probe-never-stored"


def new_key():
    """A fresh random storage key (URL-safe, about 256 bits)."""
    return secrets.token_urlsafe(32)


def _checked(key):
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        raise ValueError("not a storage key")
    return key


@dataclass(frozen=True)
class Entry:
    """One thing a backend holds: the blob stored under ``key``, or, when ``unfinished``
    is set, what a write that never finished left (the backend's own name for it: a
    ``.part-`` file, an S3 multipart upload id)."""

    key: str | None  # None for a local .part- file: its name does not say which key it was for
    size: int
    modified: datetime  # when it was last written (aware, UTC)
    unfinished: str | None = None


class Storage:
    """The interface: put, open, delete and exists by key; entries and delete_unfinished
    for the sweep."""

    def put(self, key, fileobj):
        """Store the whole readable ``fileobj`` (from its current position) under ``key``."""
        raise NotImplementedError

    def open(self, key):
        """A readable binary stream of the stored bytes; FileNotFoundError when absent."""
        raise NotImplementedError

    def delete(self, key):
        """Remove the bytes; deleting a missing key is not an error."""
        raise NotImplementedError

    def exists(self, key):
        """True when bytes are stored under ``key``."""
        raise NotImplementedError

    def healthy(self):
        """True when the backend answers (the readiness check, ``/health/ready``)."""
        raise NotImplementedError

    def entries(self):
        """Every ``Entry``: the stored blobs (only names that are storage keys), and what
        unfinished writes left behind. Other things found are not ours and not listed."""
        raise NotImplementedError

    def delete_unfinished(self, entry):
        """Remove what an unfinished write (an ``Entry`` with ``unfinished``) left."""
        raise NotImplementedError


PART_PREFIX = ".part-"
_PART_RE = re.compile(r"[A-Za-z0-9_-]{2}/\.part-[A-Za-z0-9_]+")  # subdirectory/mkstemp's name


class LocalStorage(Storage):
    """Files under one directory (outside static/), spread over 256 subdirectories."""

    def __init__(self, root):
        self.root = Path(root)

    def _path(self, key):
        _checked(key)
        return self.root / key[:2] / key

    def healthy(self):
        """The directory is there (made, as the first upload would) and this process may write in
        it (a full disk still passes)."""
        import os
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
        return self.root.is_dir() and os.access(self.root, os.W_OK | os.X_OK)

    def put(self, key, fileobj):
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Written under a temporary name and renamed, so a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=PART_PREFIX)
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(fileobj, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, key):
        return open(self._path(key), "rb")

    def delete(self, key):
        self._path(key).unlink(missing_ok=True)

    def exists(self, key):
        return self._path(key).is_file()

    def entries(self):
        if not self.root.is_dir():
            return
        for directory in sorted(os.scandir(self.root), key=lambda d: d.name):
            if len(directory.name) != 2 or not directory.is_dir(follow_symlinks=False):
                continue
            for item in sorted(os.scandir(directory.path), key=lambda f: f.name):  # read whole: we delete
                try:
                    info = item.stat(follow_symlinks=False)
                except FileNotFoundError:  # renamed or removed meanwhile
                    continue
                if not stat.S_ISREG(info.st_mode):
                    continue
                modified = datetime.fromtimestamp(info.st_mtime, timezone.utc)
                if item.name.startswith(PART_PREFIX):
                    yield Entry(None, info.st_size, modified, unfinished=f"{directory.name}/{item.name}")
                elif KEY_RE.fullmatch(item.name) and item.name[:2] == directory.name:
                    yield Entry(item.name, info.st_size, modified)

    def delete_unfinished(self, entry):
        if not _PART_RE.fullmatch(entry.unfinished or ""):
            raise ValueError("not an unfinished write of this storage")
        (self.root / entry.unfinished).unlink(missing_ok=True)


class S3Storage(Storage):
    """Objects in one bucket of S3 or an S3-compatible server (MinIO, Ceph, …).

    Credentials come from boto3's usual sources (AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY in the environment, a profile, or an instance role)."""

    def __init__(self, bucket, endpoint_url=None, region=None, client=None):
        if not bucket:
            raise RuntimeError("S3_BUCKET must be set when STORAGE_BACKEND is s3")
        self.bucket = bucket
        if client is None:
            import boto3
            from botocore.config import Config
            config = Config(
                # Path-style addressing is what S3-compatible servers expect.
                s3={"addressing_style": "path"} if endpoint_url else {},
                # boto3 ≥ 1.36 adds CRC checksums to every upload by default, which
                # several S3-compatible servers refuse; send them only when required.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required")
            client = boto3.client("s3", endpoint_url=endpoint_url or None,
                                  region_name=region or None, config=config)
        self.client = client

    def healthy(self):
        """The bucket answers: a HEAD of a key that is never stored (404 is an answer too)."""
        try:
            self.exists(HEALTH_PROBE_KEY)
            return True
        except Exception:  # noqa: BLE001 — any failure to answer is "down", and this only reports
            return False

    def _missing(self, error):
        code = error.response.get("Error", {}).get("Code", "")
        return code in ("404", "NoSuchKey", "NotFound")

    def put(self, key, fileobj):
        self.client.upload_fileobj(fileobj, self.bucket, _checked(key))

    def open(self, key):
        from botocore.exceptions import ClientError
        try:
            return self.client.get_object(Bucket=self.bucket, Key=_checked(key))["Body"]
        except ClientError as error:
            if self._missing(error):
                raise FileNotFoundError(key) from error
            raise

    def delete(self, key):
        self.client.delete_object(Bucket=self.bucket, Key=_checked(key))

    def exists(self, key):
        from botocore.exceptions import ClientError
        try:
            self.client.head_object(Bucket=self.bucket, Key=_checked(key))
            return True
        except ClientError as error:
            if self._missing(error):
                return False
            raise

    def entries(self):
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for item in page.get("Contents", []):
                if KEY_RE.fullmatch(item["Key"]):
                    yield Entry(item["Key"], item["Size"], item["LastModified"])
        # upload_fileobj sends large files in parts: a writer killed in between leaves a
        # multipart upload that is never completed, its parts stored (and billed) until aborted.
        for page in self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket):
            for upload in page.get("Uploads", []):
                if KEY_RE.fullmatch(upload["Key"]):
                    yield Entry(upload["Key"], self._parts_size(upload["Key"], upload["UploadId"]),
                                upload["Initiated"], unfinished=upload["UploadId"])

    def _parts_size(self, key, upload_id):
        pages = self.client.get_paginator("list_parts").paginate(Bucket=self.bucket, Key=key, UploadId=upload_id)
        return sum(part["Size"] for page in pages for part in page.get("Parts", []))

    def delete_unfinished(self, entry):
        self.client.abort_multipart_upload(Bucket=self.bucket, Key=_checked(entry.key), UploadId=entry.unfinished)


def storage_from_config(config):
    """Build the backend a configuration mapping names."""
    backend = (config.get("STORAGE_BACKEND") or "local").lower()
    if backend == "local":
        return LocalStorage(config["UPLOAD_DIR"])
    if backend == "s3":
        return S3Storage(config.get("S3_BUCKET"), endpoint_url=config.get("S3_ENDPOINT_URL"),
                         region=config.get("S3_REGION"))
    raise RuntimeError(f"unknown STORAGE_BACKEND {backend!r} (use local or s3)")
