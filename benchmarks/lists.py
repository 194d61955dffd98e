"""Print what each list page costs at 10 rows and at 10,000: server time and compressed weight.

Usage: .venv/bin/python benchmarks/lists.py [SMALL LARGE]   (default 10 10000)
       BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python benchmarks/lists.py

For each size a temporary database (a SQLite file; with BENCH_DATABASE_URL a database
created on that server and dropped afterwards) gets ``benchmarks/data.generate(size)``:
one client with SIZE documents, SIZE threads and one more thread of SIZE messages. Each
page is asked through Flask's test client (no network) BENCH_RUNS times (default 21)
after one warm-up, as a browser would (``Accept-Encoding: gzip, deflate``, what an old
browser sends: the heavier case); the median is the server time. The weight is the
compressed HTML plus every stylesheet and script it links, counted as
``benchmarks/page_weight.py`` counts them. Targets: at LARGE rows each page within 1.5×
of its time at SMALL rows, and at most 60 KB with its assets. Exit status 1 when a page
misses one. Needs Redis for the thread pages (REDIS_URL, default redis://127.0.0.1:6379/0);
without it they still answer, a little slower.
"""
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg2  # noqa: E402

import models  # noqa: E402
from benchmarks import data  # noqa: E402
from portal import create_app, migrate_database  # noqa: E402

RUNS = max(20, int(os.environ.get("BENCH_RUNS", "21")))
TIME_RATIO = 1.5
WEIGHT_LIMIT = 60 * 1024
GZIP = {"Accept-Encoding": "gzip, deflate"}
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
OLDER = re.compile(r'<a [^>]*rel="next"[^>]*href="([^"]+)"|<a [^>]*href="([^"]+)"[^>]*rel="next"')


def pages(thread_id):
    """(name, who, path, baseline) of every list page; "older" pages are found by following
    the page's link, and compared with the list's first page at the small size (where a
    list of 10 has no older page)."""
    return [
        ("documents", "client", "/documents", None),
        ("documents, older page", "client", ("older", "/documents"), "documents"),
        ("documents poll (unchanged)", "client", ("poll", "/documents"), None),
        ("messages", "client", "/messages", None),
        ("messages, older page", "client", ("older", "/messages"), "messages"),
        ("thread", "client", f"/messages/{thread_id}", None),
        ("thread, earlier messages", "client", ("older", f"/messages/{thread_id}"), "thread"),
        ("staff: documents queue", "staff", "/staff/documents", None),
        ("staff: messages queue", "staff", "/staff/messages", None),
        ("staff: ratings", "staff", "/staff/messages/ratings", None),
        ("staff: thread", "staff", f"/staff/messages/{thread_id}", None),
    ]


class Database:
    """A temporary database: a SQLite file, or one created on BENCH_DATABASE_URL's server."""

    def __init__(self, tmp, size):
        server = os.environ.get("BENCH_DATABASE_URL")
        self.admin = None
        if not server:
            self.url = f"sqlite:///{tmp}/bench-{size}.sqlite3"
            return
        self.name = f"kabinets_bench_{uuid.uuid4().hex[:8]}_{size}"
        self.admin = psycopg2.connect(server)
        self.admin.autocommit = True
        with self.admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{self.name}"')
        parts = urlsplit(server)
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))

    def drop(self):
        models.db.close()
        if self.admin is not None:
            with self.admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self.admin.close()


def sign_in(app, email):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = CSRF.search(page).group(1)
    response = client.post("/login", data={"csrf_token": token, "identifier": email, "password": data.PASSWORD})
    assert response.status_code == 303, f"{email} could not sign in ({response.status_code})"
    return client


def resolve(client, target):
    """The path to time and its headers: "older" follows the page's link to older rows
    (None when the page has none); "poll" is the documents list's own poll."""
    if isinstance(target, str):
        return target, {}
    kind, path = target
    html = client.get(path).get_data(as_text=True)
    if kind == "older":
        match = OLDER.search(html)
        return ((match.group(1) or match.group(2)).replace("&amp;", "&"), {}) if match else (None, {})
    match = re.search(r'id="documents-poll" hx-get="([^"]+)"', html)
    return (match.group(1).replace("&amp;", "&"), {"HX-Request": "true"}) if match else (None, {})


def weigh(client, path, headers):
    """(compressed bytes of the page with its assets, status)."""
    response = client.get(path, headers={**GZIP, **headers})
    weight = len(response.data)
    if not headers and response.status_code == 200:
        html = client.get(path).get_data(as_text=True)
        weight += sum(len(client.get(a, headers=GZIP).data)
                      for a in re.findall(r'(?:href|src)="(/static/[^"]+)"', html))
    return weight, response.status_code


def timed(client, path, headers):
    start = time.perf_counter()
    client.get(path, headers={**GZIP, **headers})
    return (time.perf_counter() - start) * 1000


def prepare(size, tmp):
    """A temporary database with ``size`` rows of each list, the app on it, and the client
    user and the supervisor signed in. Returns (database, clients, the long thread's id)."""
    database = Database(tmp, size)
    database.bound = None
    app = create_app({"PORTAL_ENV": "development", "SECRET_KEY": "bench", "DATABASE_URL": database.url,
                      "RATELIMIT_ENABLED": False,
                      "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
                      "RQ_QUEUE": f"bench-lists-{uuid.uuid4().hex[:8]}",
                      "MAIL_BACKEND": "dev", "SMS_BACKEND": "dev",
                      # The supervisor signs in with a password alone: measure the queues, not a redirect.
                      "STAFF_SECOND_FACTOR": False})
    with app.app_context():
        migrate_database()
        start = time.perf_counter()
        thread = data.generate(size)[3]
        if database.admin is not None:  # what autovacuum does a minute after a bulk load: plans from real counts
            models.db.execute_sql("ANALYZE")
        print(f"  {size} rows generated in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    models.db.close()
    database.bound = models.db.obj
    return database, {"client": sign_in(app, "bench@example.lv"), "staff": sign_in(app, "staff@example.lv")}, thread.id


def use(database):
    """Point the models at this size's database: the app binds its database once, at
    creation, and both sizes' apps live in this process so that their requests can take turns."""
    models.db.close()
    models.db.initialize(database.bound)


def main():
    small, large = (int(a) for a in sys.argv[1:3]) if len(sys.argv) > 2 else (10, 10_000)
    kind = "PostgreSQL" if os.environ.get("BENCH_DATABASE_URL") else "SQLite"
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        sides = []
        try:
            sides = [prepare(small, tmp), prepare(large, tmp)]
            listed = [pages(thread_id) for _database, _clients, thread_id in sides]
            for i, (name, who, _target, baseline) in enumerate(listed[1]):
                found = []
                for side, (database, clients, _thread_id) in enumerate(sides):
                    use(database)
                    client = clients[who]
                    path, headers = resolve(client, listed[side][i][2])
                    if path is None and side == 0 and baseline:  # none at the small size: the first page
                        path, headers = resolve(client, {p[0]: p[2] for p in listed[0]}[baseline])
                    found.append((database, client, path, headers))
                if found[0][2] is None or found[1][2] is None:
                    results[name] = None
                    continue
                for database, client, path, headers in found:
                    use(database)
                    client.get(path, headers={**GZIP, **headers})  # warm-up
                times = ([], [])
                for _ in range(RUNS):  # interleaved, so a busy moment of the machine hits both
                    for side, (database, client, path, headers) in enumerate(found):
                        use(database)
                        times[side].append(timed(client, path, headers))
                results[name] = []
                for side, (database, client, path, headers) in enumerate(found):
                    use(database)
                    results[name].append((statistics.median(times[side]), *weigh(client, path, headers)))
        finally:
            for database, _clients, _thread in sides:
                database.drop()
    print(f"database: {kind}; median of {RUNS} requests; weight = gzip HTML + gzip/deflate assets")
    print(f"{'page':28} {'ms @' + str(small):>9} {'ms @' + str(large):>10} {'ratio':>6} "
          f"{'KB @' + str(small):>8} {'KB @' + str(large):>10}  verdict")
    missed = 0
    for name, found in results.items():
        if found is None:
            print(f"{name:28} {'(no such page)':>30}")
            continue
        a, b = found
        ratio = b[0] / a[0]
        heavy = b[1] > WEIGHT_LIMIT
        slow = ratio > TIME_RATIO
        missed += heavy or slow
        verdict = "OK" if not (heavy or slow) else " ".join(x for x, bad in (("SLOW", slow), ("HEAVY", heavy)) if bad)
        status = "" if b[2] == 200 else f" ({b[2]})"
        print(f"{name:28} {a[0]:9.1f} {b[0]:10.1f} {ratio:6.2f} {a[1] / 1024:8.1f} {b[1] / 1024:10.1f}  "
              f"{verdict}{status}")
    print(f"\ntargets: time at {large} rows ≤ {TIME_RATIO}× the time at {small}; ≤ {WEIGHT_LIMIT // 1024} KB "
          f"compressed with assets: {'all met' if not missed else f'{missed} page(s) missed'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
