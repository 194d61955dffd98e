"""Print what a message poll costs: bytes on the wire and server time, idle and with one new message.

Usage: .venv/bin/python benchmarks/message_poll.py [DATABASE_URL]
Needs Redis (REDIS_URL, default redis://127.0.0.1:6379/0). Runs the real app
through Flask's test client (no network), on a fresh SQLite file unless a
database URL is given. "bytes" is the whole HTTP response: status line,
headers and body, as a browser would receive it uncompressed.
"""
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import models  # noqa: E402
from models.messages import STAFF, Thread, publish_last_message  # noqa: E402
from portal import create_app, migrate_database  # noqa: E402

PASSWORD = "Zilais-Kalns7!"
ROUNDS = 200


def wire_bytes(response):
    head = f"HTTP/1.1 {response.status}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in response.headers.items())
    return len(head.encode()) + 2 + len(response.data)


def timed(client, url):
    start = time.perf_counter()
    response = client.get(url, headers={"HX-Request": "true"})
    return (time.perf_counter() - start) * 1000, response


def main():
    with tempfile.TemporaryDirectory() as tmp:
        url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{tmp}/bench.sqlite3"
        app = create_app({"PORTAL_ENV": "development", "SECRET_KEY": "bench", "DATABASE_URL": url,
                          "RATELIMIT_ENABLED": False,
                          "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                          "RQ_QUEUE": f"bench-message-poll-{uuid.uuid4().hex[:8]}",
                          "MAIL_BACKEND": "dev", "SMS_BACKEND": "dev"})
        with app.app_context():
            migrate_database()
            with models.db.atomic():
                user = models.User.create(email="bench@example.lv", phone="+37120009999",
                                          password_hash=models.hash_password(PASSWORD))
                staff = models.User.create(email="staff@example.lv", phone="+37120009998", full_name="Staff",
                                           staff_role="consultant", password_hash="x")
                client_row = models.Client.create(kind="natural", name="Bench")
                models.Membership.grant(user, client_row, "self")
        models.db.close()
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
        client.post("/login", data={"csrf_token": token, "identifier": "bench@example.lv", "password": PASSWORD})
        page = client.get("/messages/new").get_data(as_text=True)
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
        r = client.post("/messages/new", data={"csrf_token": token, "body": "Labdien! Jautājums par kontu."})
        thread_id = int(r.headers["Location"].rsplit("/", 1)[1])
        page = client.get(f"/messages/{thread_id}").get_data(as_text=True)
        poll = re.search(r'hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")

        idle = [timed(client, poll) for _ in range(ROUNDS)]
        assert all(r.status_code == 204 for _t, r in idle)

        new_times, new_response = [], None
        for _ in range(ROUNDS // 4):
            with app.app_context(), models.db.connection_context():
                thread = Thread.get_by_id(thread_id)
                with models.db.atomic():
                    message = thread.add_message(STAFF, author=staff, body="Atbilde: konts tiks atvērts rīt.")
                publish_last_message(thread_id, message.id)
            ms, response = timed(client, poll)
            assert response.status_code == 200
            new_times.append(ms)
            new_response = response
            with app.app_context(), models.db.connection_context():  # back to one new message next time
                models.messages.Message.delete().where(models.messages.Message.id == message.id).execute()
        models.db.close()

        idle_ms = [t for t, _r in idle]
        print(f"database: {url.split(':', 1)[0]}; {ROUNDS} idle polls, {ROUNDS // 4} polls with one new message")
        print(f"{'poll':22} {'status':>6} {'bytes':>6} {'body':>6} {'median ms':>10} {'p95 ms':>8}")
        for name, times, response in (("idle (nothing new)", idle_ms, idle[-1][1]),
                                      ("one new message", new_times, new_response)):
            p95 = sorted(times)[int(len(times) * 0.95) - 1]
            print(f"{name:22} {response.status_code:>6} {wire_bytes(response):>6} {len(response.data):>6} "
                  f"{statistics.median(times):>10.2f} {p95:>8.2f}")


if __name__ == "__main__":
    main()
