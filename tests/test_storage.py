"""Storage backends: local disk, and S3 against a real S3-compatible server (moto's
server mode on 127.0.0.1), both through the same put/open/delete/exists interface; and
the sweep that removes what crashed uploads left behind, on both."""
import io
import logging
import os
import signal
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest
import requests
from redis import Redis
from rq.cron import CronScheduler
from flask_babel import force_locale
from werkzeug.datastructures import FileStorage

import fixtures_files as make
import models
import tasks
import uploads
from blueprints import uploading
from conftest import PASSWORD, create_user, run_jobs
from live_portal import Browser, gunicorn_portal, worker_pids
from rules.uploads import SEED_004
from adapters.storage import LocalStorage, S3Storage, new_key, storage_from_config
from models.messages import Message
from models.runtime import runtime
from portal import init_domain
from tasks.storage import sweep

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
# The server itself is conftest.py's s3_endpoint (tests/test_scaleout.py runs the portal on it too).

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


# --- The sweep: what crashed uploads left behind ----------------------------------------------

HOUR = timedelta(hours=1)
DAY = timedelta(hours=24)


def stored_row(key, size):
    """The row an upload writes after the blob (as uploads.store_files does)."""
    return models.StoredFile.create(key=key, sha256="0" * 64, size=size, original_name="x.pdf",
                                    extension="pdf", content_type="application/pdf")


def put(storage, data=b"%PDF-1.4 dati"):
    key = new_key()
    storage.put(key, io.BytesIO(data))
    return key


def age(path, delta):
    """Make a file look last written ``delta`` ago."""
    then = (datetime.now(timezone.utc) - delta).timestamp()
    os.utime(path, (then, then))


def part_file(root, data=b"half of an upload"):
    """What LocalStorage.put leaves when its process is killed mid-write."""
    (root / "ab").mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=root / "ab", prefix=".part-")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return Path(name)


def test_the_sweep_removes_old_unreferenced_blobs_and_old_parts_on_disk_and_keeps_the_rest(
        app, db, tmp_path, caplog):
    root = tmp_path / "blobs"
    storage = LocalStorage(root)
    referenced_old = put(storage)
    stored_row(referenced_old, 13)
    unreferenced_new = put(storage)  # its row may not be committed yet: an upload in progress
    unreferenced_old = put(storage, b"x" * 1000)
    old_part, new_part = part_file(root), part_file(root)
    stray = root / "ab" / "README"  # not a storage key: not ours to judge
    stray.write_text("keep")
    for key, delta in ((referenced_old, 30 * DAY), (unreferenced_new, DAY - HOUR), (unreferenced_old, DAY + HOUR)):
        age(storage._path(key), delta)
    age(old_part, 6 * HOUR + timedelta(minutes=1))
    age(new_part, 5 * HOUR)
    age(stray, 30 * DAY)
    with caplog.at_level(logging.INFO, logger="tasks.storage"):
        report = sweep(storage, blob_grace=DAY, part_grace=6 * HOUR)
    assert storage.exists(referenced_old) and storage.exists(unreferenced_new)
    assert not storage.exists(unreferenced_old)
    assert not old_part.exists() and new_part.exists() and stray.exists()
    assert report.summary() == {"blobs": 1, "blob_bytes": 1000, "unfinished": 1,
                                "unfinished_bytes": len(b"half of an upload"), "kept": 2}
    logged = caplog.text
    assert unreferenced_old in logged and old_part.name in logged
    assert "removed 1 unreferenced blob(s), 1000 bytes, and 1 unfinished upload(s), 17 bytes" in logged
    assert referenced_old not in logged and unreferenced_new not in logged


def test_the_sweep_asks_for_rows_after_listing_so_a_row_committed_meanwhile_keeps_its_blob(app, db, tmp_path):
    storage = LocalStorage(tmp_path / "blobs")
    key = put(storage)
    age(storage._path(key), 2 * DAY)
    listing = storage.entries

    def entries_then_a_commit():
        yield from listing()
        stored_row(key, 13)  # the upload's transaction commits while the sweep lists

    storage.entries = entries_then_a_commit
    report = sweep(storage, blob_grace=DAY, part_grace=6 * HOUR)
    assert storage.exists(key) and report.blobs == []


def test_the_sweep_refuses_a_grace_that_could_remove_an_upload_in_progress(tmp_path):
    with pytest.raises(ValueError):
        sweep(LocalStorage(tmp_path), blob_grace=timedelta(minutes=5), part_grace=6 * HOUR)


def test_sweep_storage_command_lists_then_removes_with_the_configured_graces(app, runner, db):
    storage = LocalStorage(app.config["UPLOAD_DIR"])
    orphan, young = put(storage), put(storage)
    age(storage._path(orphan), 3 * HOUR)
    age(storage._path(young), HOUR)
    app.config["STORAGE_SWEEP_BLOB_HOURS"] = 2
    dry = runner.invoke(args=["sweep-storage", "--dry-run"])
    assert dry.exit_code == 0 and f"Would remove {orphan}" in dry.output and storage.exists(orphan)
    done = runner.invoke(args=["sweep-storage"])
    assert done.exit_code == 0, done.output
    assert f"Removed {orphan}" in done.output and "Removed 1 unreferenced file(s)" in done.output
    assert not storage.exists(orphan) and storage.exists(young)
    app.config["STORAGE_SWEEP_BLOB_HOURS"] = 0.1
    assert runner.invoke(args=["sweep-storage"]).exit_code == 1  # refused, not a crash


def test_the_sweep_runs_hourly_from_rq_cron_and_as_a_job(app, db, redis_url):
    scheduler = CronScheduler(connection=Redis.from_url(redis_url))
    scheduler.load_config_from_file("tasks/schedule.py")
    [job] = [j for j in scheduler.get_jobs() if j.func_name == "tasks.storage.sweep_storage"]
    assert job.interval == 3600
    storage = LocalStorage(app.config["UPLOAD_DIR"])
    orphan = put(storage)
    age(storage._path(orphan), 25 * HOUR)
    with app.app_context():
        tasks.queue().enqueue("tasks.storage.sweep_storage")
    run_jobs(app)
    assert not storage.exists(orphan)


def test_the_sweep_removes_unreferenced_blobs_and_aborts_stale_multipart_uploads_in_s3(
        app, db, s3_endpoint, bucket):
    storage = S3Storage(bucket, endpoint_url=s3_endpoint, region="eu-north-1")
    referenced_old, unreferenced_old = put(storage), put(storage, b"x" * 1000)
    stored_row(referenced_old, 13)
    # A writer killed during a large upload: the multipart upload is never completed.
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="eu-north-1")
    crashed = new_key()
    upload = client.create_multipart_upload(Bucket=bucket, Key=crashed)["UploadId"]
    client.upload_part(Bucket=bucket, Key=crashed, UploadId=upload, PartNumber=1, Body=b"y" * 2048)
    # S3 gives LastModified in whole seconds: what was stored before `cutoff` is old.
    time.sleep(1.05)
    cutoff = datetime.now(timezone.utc).replace(microsecond=0)
    unreferenced_new = put(storage)
    report = sweep(storage, blob_grace=DAY, part_grace=DAY, now=cutoff + DAY - timedelta(milliseconds=1))
    assert sorted(objects(s3_endpoint, bucket)) == sorted([referenced_old, unreferenced_new])
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert [e.key for e in report.blobs] == [unreferenced_old] and report.unfinished[0].key == crashed
    assert report.summary() == {"blobs": 1, "blob_bytes": 1000, "unfinished": 1, "unfinished_bytes": 2048,
                                "kept": 2}
    # moto reports every multipart upload as started in 2010, so a fresh one staying is
    # shown on disk (the .part- file above), where the same grace rule decides.


@pytest.mark.faults
def test_a_worker_killed_mid_upload_leaves_debris_that_the_sweep_removes(app, tmp_path):
    create_user(app)
    root = Path(app.config["UPLOAD_DIR"])
    big = "Rinda ar tekstu, lai fails būtu liels.\n".encode() * (15 * MB // 40)
    with gunicorn_portal(app, tmp_path) as (base, master, _log):
        browser = Browser(base)
        browser.sign_in("anna@example.lv", PASSWORD)
        caught = None
        for _attempt in range(5):
            upload = threading.Thread(target=_post_quietly, args=(
                browser, "/messages/new", {"body": "Liels pielikums"}, {"files": ("liels.txt", big)}))
            upload.start()
            while upload.is_alive() and caught is None:
                caught = next((p for p in root.rglob(".part-*")), None)
            if caught is not None:
                for pid in worker_pids(master):
                    os.kill(pid, signal.SIGKILL)  # the worker writing it dies mid-write
            upload.join()
            if caught is not None:
                break
        assert caught is not None, "no upload was caught half-written"
        _wait_for_workers(base)
        browser = Browser(base)  # the killed request's session may be gone with it
        browser.sign_in("anna@example.lv", PASSWORD)
        kept = browser.post("/messages/new", {"body": "Mazs pielikums"}, files={"files": ("mazs.txt", b"Labdien!\n" * 100)})
        assert kept.status_code == 303
    with app.app_context(), models.db.connection_context():
        rows = {f.key for f in models.StoredFile.select()}
        assert Message.select().count() == 1 and len(rows) == 1
        storage = LocalStorage(root)
        debris = [e for e in storage.entries() if e.unfinished or e.key not in rows]
        assert debris, "the killed upload left nothing behind"
        print(f"\ncaught at attempt {_attempt + 1}: " + ", ".join(
            f"{'part' if e.unfinished else 'blob'} of {e.size} bytes" for e in debris))
        report = sweep(storage, blob_grace=DAY, part_grace=6 * HOUR, now=datetime.now(timezone.utc) + 2 * DAY)
        assert sorted(e.key or e.unfinished for e in report.blobs + report.unfinished) == \
            sorted(e.key or e.unfinished for e in debris)
        assert [e.key for e in storage.entries()] == list(rows)  # only the referenced blob is left


def _post_quietly(browser, path, data, files):
    try:
        browser.post(path, data, files=files, timeout=60)
    except requests.ConnectionError:  # its worker was killed
        pass


def _wait_for_workers(base):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/login", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or busy booting
            pass
        time.sleep(0.1)
    raise AssertionError("gunicorn did not start new workers")
