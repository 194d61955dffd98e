"""Storage backends: local disk, and S3 against a real S3-compatible server (moto's
server mode on 127.0.0.1), both through the same put/open/delete/exists interface."""
import io
import uuid

import boto3
import pytest
from flask_babel import force_locale
from werkzeug.datastructures import FileStorage

import fixtures_files as make
import models
import uploads
from blueprints import uploading
from conftest import _free_port
from rules.uploads import SEED_004
from adapters.storage import LocalStorage, S3Storage, new_key, storage_from_config
from models.runtime import runtime
from portal import init_domain

MB = 1024 * 1024


# --- Local disk ---------------------------------------------------------------------

def test_local_storage_puts_opens_and_deletes(tmp_path):
    storage = LocalStorage(tmp_path / "blobs")
    key = new_key()
    assert not storage.exists(key)
    storage.put(key, io.BytesIO(b"%PDF-1.4 dati"))
    assert storage.exists(key)
    with storage.open(key) as stream:
        assert stream.read() == b"%PDF-1.4 dati"
    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)  # deleting twice is harmless
    with pytest.raises(FileNotFoundError):
        storage.open(key)


@pytest.mark.parametrize("key", ["../../etc/passwd", "a/b", "short", "", "līgums.pdf", "x" * 200, None])
def test_keys_that_are_not_ours_are_refused(tmp_path, key):
    storage = LocalStorage(tmp_path)
    with pytest.raises(ValueError):
        storage.put(key, io.BytesIO(b"x"))
    with pytest.raises(ValueError):
        storage.open(key)


class BrokenStream(io.RawIOBase):
    """A client connection that drops half way through."""

    def __init__(self):
        self.sent = False

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.sent:
            raise ConnectionResetError("client went away")
        self.sent = True
        buffer[:4] = b"half"
        return 4


def test_a_failed_put_leaves_no_file_behind(tmp_path):
    storage = LocalStorage(tmp_path)
    key = new_key()
    with pytest.raises(ConnectionResetError):
        storage.put(key, BrokenStream())
    assert not storage.exists(key)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_keys_are_random():
    keys = {new_key() for _ in range(1000)}
    assert len(keys) == 1000 and all(len(k) == 43 for k in keys)


def test_the_configuration_chooses_the_backend(tmp_path):
    assert isinstance(storage_from_config({"UPLOAD_DIR": str(tmp_path)}), LocalStorage)
    s3 = storage_from_config({"STORAGE_BACKEND": "s3", "S3_BUCKET": "b", "S3_REGION": "eu-north-1",
                              "S3_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert isinstance(s3, S3Storage) and s3.bucket == "b"
    with pytest.raises(RuntimeError):
        storage_from_config({"STORAGE_BACKEND": "s3", "S3_BUCKET": ""})
    with pytest.raises(RuntimeError):
        storage_from_config({"STORAGE_BACKEND": "ftp"})


# --- S3 (moto's server on loopback) -------------------------------------------------

@pytest.fixture(scope="session")
def s3_endpoint():
    from moto.server import ThreadedMotoServer
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, monkeypatch):
    """A fresh bucket; credentials come from the environment, as in production."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    name = f"kabinets-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="eu-north-1").create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"})
    return name


def objects(s3_endpoint, bucket):
    listing = boto3.client("s3", endpoint_url=s3_endpoint, region_name="eu-north-1").list_objects_v2(Bucket=bucket)
    return [o["Key"] for o in listing.get("Contents", [])]


def test_s3_storage_puts_opens_and_deletes(s3_endpoint, bucket):
    storage = S3Storage(bucket, endpoint_url=s3_endpoint, region="eu-north-1")
    key = new_key()
    assert not storage.exists(key)
    data = bytes(range(256)) * (9 * MB // 256)  # over boto3's 8 MB multipart threshold
    storage.put(key, io.BytesIO(data))
    assert storage.exists(key)
    assert objects(s3_endpoint, bucket) == [key]
    stream = storage.open(key)
    assert stream.read() == data
    stream.close()
    storage.delete(key)
    assert not storage.exists(key)
    with pytest.raises(FileNotFoundError):
        storage.open(key)


@pytest.fixture
def s3_app(app, s3_endpoint, bucket):
    app.config.update(STORAGE_BACKEND="s3", S3_BUCKET=bucket, S3_ENDPOINT_URL=s3_endpoint,
                      S3_REGION="eu-north-1")
    init_domain(app)
    return app


def test_uploads_are_stored_in_s3_and_downloaded_from_it(s3_app, db, s3_endpoint, bucket):
    data = make.docx()
    with s3_app.test_request_context():
        [row] = uploads.store_files([FileStorage(io.BytesIO(data), "līgums.docx")], SEED_004)
        assert isinstance(runtime.storage, S3Storage)
        response = uploading.send_stored(models.StoredFile.get_by_id(row.id))
        assert b"".join(response.response) == data
        response.close()
    assert objects(s3_endpoint, bucket) == [row.key]


def test_a_refused_upload_leaves_nothing_in_s3(s3_app, db, s3_endpoint, bucket):
    files = [FileStorage(io.BytesIO(make.pdf()), "labs.pdf"), FileStorage(io.BytesIO(make.exe()), "x.pdf")]
    with s3_app.test_request_context(), force_locale("en"):
        with pytest.raises(uploads.UploadRefused):
            uploads.store_files(files, SEED_004)
        with pytest.raises(RuntimeError):
            with uploads.atomic():
                uploads.store_files(files[:1], SEED_004)
                raise RuntimeError("the caller's own write failed")
    assert models.StoredFile.select().count() == 0
    assert objects(s3_endpoint, bucket) == []
