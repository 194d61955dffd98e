"""Where the bytes of uploaded files live: local disk or an S3-compatible bucket.

Both backends take the same random keys (``new_key()``) and never see a file
name, so nothing a user sends can choose a path. ``storage_from_config`` builds the
backend the configuration names (``STORAGE_BACKEND``: ``local`` or ``s3``); the app
builds it once (``adapters.build``) and the domain reaches it as ``runtime.storage``.
"""
import os
import re
import secrets
import shutil
import tempfile
from pathlib import Path


KEY_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")


def new_key():
    """A fresh random storage key (URL-safe, about 256 bits)."""
    return secrets.token_urlsafe(32)


def _checked(key):
    if not isinstance(key, str) or not KEY_RE.fullmatch(key):
        raise ValueError("not a storage key")
    return key


class Storage:
    """The interface: put, open, delete and exists by key."""

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


class LocalStorage(Storage):
    """Files under one directory (outside static/), spread over 256 subdirectories."""

    def __init__(self, root):
        self.root = Path(root)

    def _path(self, key):
        _checked(key)
        return self.root / key[:2] / key

    def put(self, key, fileobj):
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Written under a temporary name and renamed, so a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
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


def storage_from_config(config):
    """Build the backend a configuration mapping names."""
    backend = (config.get("STORAGE_BACKEND") or "local").lower()
    if backend == "local":
        return LocalStorage(config["UPLOAD_DIR"])
    if backend == "s3":
        return S3Storage(config.get("S3_BUCKET"), endpoint_url=config.get("S3_ENDPOINT_URL"),
                         region=config.get("S3_REGION"))
    raise RuntimeError(f"unknown STORAGE_BACKEND {backend!r} (use local or s3)")
