"""The outbox under faults, with real processes: an RQ worker killed with ``kill -9`` (its
whole process group: the worker and the work-horse sending) again and again in the middle
of a batch; an SMTP server and an SMS gateway that count what arrives by Message-ID and
idempotency key.

What must hold: 0 lost (every row ends sent and arrived, or "unknown" for staff), 0
duplicates (no Message-ID or SMS key arrives twice), and nothing left pending or sending.
The figures are printed (``-s``) and recorded in RELIABILITY.md.
"""
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import models
import tasks
from conftest import ROOT, _free_port, build_app, make_config
from sinks import SmsGateway, start_smtp

pytestmark = pytest.mark.faults

BATCH = 200  # e-mails; plus SMS below
SMS_BATCH = 40
KILLS = 8


def _start_worker(env, log):
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "rq"), "worker", "-c", "tasks.worker", "--url", env["REDIS_URL"],
         "--worker-ttl", "10", env["RQ_QUEUE"]],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _children(pid):
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _kill_group(process):
    """kill -9 of the worker's process group and of its work-horse, which RQ puts in a
    process group of its own."""
    horses = _children(process.pid)
    for pid in [process.pid, *horses]:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=10)


def _arrived(smtp, gateway):
    return sum(smtp.handler.ids().values()) + sum(gateway.keys().values())


def test_a_worker_killed_again_and_again_mid_batch_loses_nothing_and_sends_nothing_twice(
        tmp_path, redis_url, request):
    smtp = start_smtp(_free_port(), delay=0.01)
    gateway = SmsGateway(delay=0.01)
    request.addfinalizer(smtp.stop)
    request.addfinalizer(gateway.stop)
    database = f"sqlite:///{tmp_path}/outbox.sqlite3"
    config = make_config(database, redis_url, smtp.port, SMS_BACKEND="http", SMS_GATEWAY_URL=gateway.url,
                         NOTIFICATION_LEASE_SECONDS=3, MAIL_TIMEOUT=5, SMS_TIMEOUT=5)
    app = build_app(config)
    with app.app_context():
        from portal import migrate_database
        migrate_database()
    env = {**os.environ, "PORTAL_ENV": "development", "DATABASE_URL": database, "REDIS_URL": redis_url,
           "RQ_QUEUE": config["RQ_QUEUE"], "SECRET_KEY": config["SECRET_KEY"], "MAIL_BACKEND": "smtp",
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port), "MAIL_TIMEOUT": "5",
           "SMS_BACKEND": "http", "SMS_GATEWAY_URL": gateway.url, "SMS_TIMEOUT": "5",
           "NOTIFICATION_LEASE_SECONDS": "3", "UPLOAD_DIR": str(tmp_path / "uploads")}
    log = open(tmp_path / "worker.log", "wb")
    worker = _start_worker(env, log)
    request.addfinalizer(lambda: _kill_group(worker))

    with app.app_context(), models.action():
        ids = [models.Notification.queue("email", f"k{i}@example.lv", "password_changed").id
               for i in range(BATCH)]
        ids += [models.Notification.queue("sms", f"+3712{i:07d}", "reset_code", code=f"{i:06d}").id
                for i in range(SMS_BATCH)]
    total = len(ids)

    rng = random.Random(8)
    kills = 0
    deadline = time.monotonic() + 90
    while kills < KILLS and time.monotonic() < deadline:
        # Kill once this worker has been sending for a moment: mid-batch, mid-message.
        started_with = _arrived(smtp, gateway)
        while _arrived(smtp, gateway) == started_with and time.monotonic() < deadline:
            time.sleep(0.02)
        if _arrived(smtp, gateway) >= total:
            break
        time.sleep(rng.uniform(0.05, 0.6))
        _kill_group(worker)
        kills += 1
        worker = _start_worker(env, log)

    # The scheduler's sweep (every minute in production; here as often as needed) settles
    # the rows whose job died and queues them again, until nothing is on its way.
    with app.app_context():
        while time.monotonic() < deadline:
            tasks.sweep_notifications(settle_seconds=0)
            open_rows = models.Notification.select().where(
                models.Notification.status.in_(("pending", "sending"))).count()
            if open_rows == 0:
                break
            time.sleep(0.5)
        rows = {n.id: n for n in models.Notification.select()}
    _kill_group(worker)

    mail_ids, sms_keys = smtp.handler.ids(), gateway.keys()
    with app.app_context():
        keys = {i: rows[i].delivery_key() for i in ids}
    arrived = {i: (mail_ids.get(f"<{keys[i]}@localhost>", 0) if rows[i].channel == "email"
                   else sms_keys.get(keys[i], 0)) for i in ids}
    statuses = {}
    for row in rows.values():
        statuses[row.status] = statuses.get(row.status, 0) + 1
    duplicates = [i for i, count in arrived.items() if count > 1]
    lost = [i for i in ids if rows[i].status == "sent" and arrived[i] != 1]
    stranded = [i for i in ids if rows[i].status in ("pending", "sending", "failed")]
    sent_again = sum(1 for i in ids if rows[i].attempts > 1)
    unknown_arrived = sum(1 for i in ids if rows[i].status == "unknown" and arrived[i] == 1)
    print(f"\nkill -9 of the worker's process group: {kills} kills, {total} notifications "
          f"({BATCH} e-mails, {SMS_BATCH} SMS); statuses {statuses}; arrived once {sum(1 for c in arrived.values() if c == 1)}, "
          f"claimed more than once {sent_again}, duplicates {len(duplicates)}, lost {len(lost)}, stranded {len(stranded)}, "
          f"unknown {statuses.get('unknown', 0)} (of which arrived {unknown_arrived})")
    assert kills >= 4, "the batch finished before the worker could be killed often enough"
    assert sent_again + statuses.get("unknown", 0) > 0, "no kill interrupted a send: the test proved nothing"
    assert duplicates == [] and sum(mail_ids.values()) == len(mail_ids) and sum(sms_keys.values()) == len(sms_keys)
    assert lost == [] and stranded == [], [(i, rows[i].status, rows[i].attempts, rows[i].error) for i in lost + stranded]
    assert set(statuses) <= {"sent", "unknown"}
