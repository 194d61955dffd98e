"""``make bench``: what each page costs under load, against a trivial Flask answer in the same run.

Usage: .venv/bin/python benchmarks/run.py [--rounds 5] [--seconds 4] [--pages dashboard,thread]
                                          [--keep-data] [--connections 8]

Needs PostgreSQL (BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres: it
creates and drops the database ``kabinets_bench`` there), Redis (REDIS_URL, default
redis://127.0.0.1:6379/0; it uses keys under a fresh prefix) and ``wrk`` (Debian's package: run
as root it is installed when missing; otherwise a slower load generator in Python is used and the
output says so). On a fresh machine: ``apt-get install -y postgresql redis-server wrk`` and start
both (``pg_ctlcluster 15 main start``; ``redis-server --daemonize yes``), with trust
authentication for 127.0.0.1 in pg_hba.conf.

What it does:
1. builds the data set (``benchmarks/dataset.py``: a company with 1,000 colleagues, 10,000
   documents and 10,000 threads; the main user signs in) in a fresh database;
2. starts the portal with gunicorn exactly as the Procfile's web process starts it (its options
   are read from the Procfile), and ``benchmarks/trivial.py`` with the same options on another
   port;
3. for each page, alternates rounds of ``wrk`` against the trivial answer and against the page
   (``--seconds`` each, ``--rounds`` times), and takes the CPU the server's processes (master
   and workers) spent in each round from /proc;
4. prints per page: requests a second, p50 and p95 latency, CPU per request, the ratio of the
   trivial answer's CPU per request to the page's (min/median/max over the rounds: higher is
   better, 1.0 costs what the trivial answer costs), SQL statements per request (counted in this
   process, on the same database, through the Flask test client) and the compressed size of the
   answer (brotli, as a browser asks);
5. the workers' memory (RSS and PSS) idle, after the runs, and after a burst of sign-ins.

Every request carries what a browser sends (``Accept-Encoding: br, gzip``, the session cookie,
``HX-Request`` for the poll); the session cookie is refreshed before each round, as a browser
keeps it, so a round never rewrites the session on each request.
"""
import argparse
import concurrent.futures
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg2
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DATABASE = "kabinets_bench"
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
POLL_RE = re.compile(r'hx-get="(/messages/\d+/poll[^"]*)"')
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BROWSER = {"Accept-Encoding": "br, gzip", "Accept": "text/html",
           "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) kabinets-bench"}
DONE_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), e.connect + e.read + e.write + e.status + e.timeout))
end
"""


# --- The database and the data set ---------------------------------------------------------

def bench_database_url(admin_url):
    return admin_url.rsplit("/", 1)[0] + "/" + BENCH_DATABASE


def prepare_database(admin_url, keep, colleagues, documents, threads):
    """A fresh ``kabinets_bench`` with the data set; with ``keep``, the one from last time."""
    url = bench_database_url(admin_url)
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DATABASE,))
        exists = cur.fetchone() is not None
        if exists and keep:
            admin.close()
            return url, None
        cur.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    admin.close()
    import models
    from benchmarks import dataset
    from portal import create_app, migrate_database
    app = create_app(app_config(url, "bench-setup"))
    started = time.monotonic()
    with app.app_context():
        migrate_database()
        with models.db.connection_context():
            made = dataset.generate(colleagues, documents, threads)
            models.db.execute_sql("ANALYZE")
    models.db.close()
    print(f"data set: {colleagues} colleagues, {documents} documents, {threads} threads "
          f"({time.monotonic() - started:.0f} s)", flush=True)
    return url, made


def find_made(url):
    """What the benchmark visits, read back from a kept database."""
    from benchmarks.dataset import MAIN_EMAIL, THREAD_SUBJECT, Made
    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        cur.execute("SELECT m.client_id FROM membership m JOIN client c ON c.id = m.client_id "
                    "JOIN \"user\" u ON u.id = m.user_id WHERE u.email = %s AND c.kind = 'legal'", (MAIN_EMAIL,))
        company = cur.fetchone()[0]
        cur.execute("SELECT id FROM thread WHERE subject = %s ORDER BY id DESC LIMIT 1", (THREAD_SUBJECT,))
        thread = cur.fetchone()[0]
        cur.execute("SELECT document_id FROM document_event GROUP BY document_id HAVING COUNT(*) = 3 "
                    "ORDER BY document_id DESC LIMIT 1")
        document = cur.fetchone()[0]
    conn.close()
    return Made(company, document, thread)


def app_config(database_url, tag):
    return {"PORTAL_ENV": "development", "SECRET_KEY": "bench-secret-" + tag, "DATABASE_URL": database_url,
            "REDIS_URL": redis_url(), "RQ_QUEUE": f"bench-{tag}", "RATELIMIT_KEY_PREFIX": f"bench-{tag}",
            "MAIL_BACKEND": "dev", "SMS_BACKEND": "dev"}


def redis_url():
    return os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


# --- gunicorn as the Procfile starts it ------------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procfile_web_command(port, control_socket, app_spec):
    """The Procfile's web command: the same gunicorn options, on ``port``, serving ``app_spec``."""
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    line = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: os.environ.get(m.group(1), m.group(2)), line[4:])
    words = shlex.split(line)
    words = words[words.index("gunicorn"):]
    words[0] = str(Path(sys.executable).parent / "gunicorn")
    words[words.index("--bind") + 1] = f"127.0.0.1:{port}"
    words[words.index("--control-socket") + 1] = str(control_socket)
    words[-1] = app_spec
    return words


class Server:
    """A gunicorn master and its workers, with their CPU time and memory from /proc."""

    def __init__(self, name, app_spec, env, workdir):
        self.name = name
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = procfile_web_command(self.port, Path(workdir) / f"{name}.ctl", app_spec)
        self.log_path = Path(workdir) / f"{name}.log"
        self.command = command
        with open(self.log_path, "wb") as log:
            self.master = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, path):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.base + path, timeout=5).status_code < 500 and len(self.workers()) >= 1:
                    return
            except requests.RequestException:
                pass
            if self.master.poll() is not None:
                break
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start:\n" + self.log_path.read_text()[-3000:])

    def workers(self):
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == self.master.pid:
                        found.append(int(entry.name))
                except (OSError, IndexError, ValueError):
                    pass
        return found

    def cpu_seconds(self):
        """User + system CPU of the master and its workers, in seconds."""
        total = 0
        for pid in [self.master.pid, *self.workers()]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / CLOCK_TICKS

    def memory(self):
        """[(pid, RSS MB, PSS MB, peak RSS MB)] of the master and each worker."""
        rows = []
        for pid in [self.master.pid, *sorted(self.workers())]:
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            values = dict(re.findall(r"^(Rss|Pss):\s+(\d+) kB", rollup, re.M))
            peak = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
            rows.append((pid, int(values.get("Rss", 0)) / 1024, int(values.get("Pss", 0)) / 1024,
                         int(peak.group(1)) / 1024 if peak else 0))
        return rows

    def stop(self):
        self.master.send_signal(signal.SIGTERM)
        try:
            self.master.wait(15)
        except subprocess.TimeoutExpired:
            self.master.kill()


# --- A browser: sign in, act for the company, find the poll URL --------------------------------

class Browser:
    def __init__(self, base):
        self.base = base
        self.http = requests.Session()
        self.http.headers.update(BROWSER)

    def get(self, path, **kwargs):
        return self.http.get(self.base + path, timeout=30, **kwargs)

    def post_form(self, path, data, page=None):
        token = CSRF_RE.search(self.get(page or path).text).group(1)
        return self.http.post(self.base + path, data={"csrf_token": token, **data}, timeout=60,
                              allow_redirects=False)

    def sign_in(self, email, password):
        r = self.post_form("/login", {"identifier": email, "password": password})
        if r.status_code != 303:
            raise RuntimeError(f"sign-in as {email} answered {r.status_code}")
        return r

    def cookie_header(self):
        return "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)


# --- Load ------------------------------------------------------------------------------------

def wrk_binary():
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("wrk is missing: installing Debian's wrk package", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], stdout=subprocess.DEVNULL,
                   env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which("wrk")


class Load:
    """``wrk`` when there is one, else a simple load generator in threads (slower, noisier)."""

    def __init__(self, connections, workdir):
        self.connections = connections
        self.wrk = wrk_binary()
        self.script = Path(workdir) / "done.lua"
        self.script.write_text(DONE_LUA)
        if not self.wrk:
            print("*** wrk not found: using the Python load generator (figures are noisier) ***", flush=True)

    def run(self, url, headers, seconds):
        """(requests, seconds, p50 ms, p95 ms, errors)."""
        if self.wrk:
            command = [self.wrk, "-t1", f"-c{self.connections}", f"-d{seconds}s", "--timeout", "60s",
                       "-s", str(self.script)]
            for name, value in headers.items():
                command += ["-H", f"{name}: {value}"]
            out = subprocess.run(command + [url], capture_output=True, text=True).stdout
            match = re.search(r"^BENCH (\d+) (\d+) (\d+) (\d+) (\d+)$", out, re.M)
            if not match:
                raise RuntimeError("wrk said:\n" + out)
            n, duration_us, p50, p95, errors = (int(x) for x in match.groups())
            return n, duration_us / 1e6, p50 / 1000, p95 / 1000, errors
        return self._python(url, headers, seconds)

    def _python(self, url, headers, seconds):
        deadline = time.monotonic() + seconds
        times, errors = [], [0]

        def loop():
            with requests.Session() as s:
                while time.monotonic() < deadline:
                    start = time.perf_counter()
                    r = s.get(url, headers=headers, allow_redirects=False)
                    r.content  # noqa: B018
                    times.append(time.perf_counter() - start)
                    if r.status_code >= 400:
                        errors[0] += 1

        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(self.connections) as pool:
            list(pool.map(lambda _: loop(), range(self.connections)))
        times.sort()
        pick = lambda q: times[min(len(times) - 1, int(len(times) * q))] * 1000  # noqa: E731
        return len(times), time.monotonic() - started, pick(0.5), pick(0.95), errors[0]


# --- Statements per request and compressed size ------------------------------------------------

class StatementCounter:
    """Counts the SQL statements the app runs (the Flask test client, in this process)."""

    def __init__(self, database_url, tag):
        import models
        from portal import create_app
        self.models = models
        self.app = create_app(app_config(database_url, tag))
        self.count = 0
        database = models.db.obj
        original = database.execute_sql

        def counting(sql, params=None, *args, **kwargs):
            self.count += 1
            return original(sql, params, *args, **kwargs)

        database.execute_sql = counting

    def statements(self, path, cookie, headers):
        client = self.app.test_client()
        for part in filter(None, cookie.split("; ")):
            name, _, value = part.partition("=")
            client.set_cookie(name, value)
        client.get(path, headers=headers)  # warm: templates compiled, caches filled
        self.count = 0
        response = client.get(path, headers=headers)
        self.models.db.close()
        return self.count, response.status_code


def compressed_size(base, path, cookie, headers):
    r = requests.get(base + path, headers={**BROWSER, **headers, **({"Cookie": cookie} if cookie else {})},
                     stream=True, allow_redirects=False, timeout=30)
    body = r.raw.read(decode_content=False)
    return len(body), r.headers.get("Content-Encoding", "-"), r.status_code


# --- Sign-in burst -----------------------------------------------------------------------------

def sign_in_burst(base, n):
    """``n`` colleagues sign in at once (argon2 on every one); the seconds it took."""
    from benchmarks.dataset import PASSWORD

    def one(i):
        Browser(base).sign_in(f"kolegis{i}@bench.lv", PASSWORD)

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        list(pool.map(one, range(1, n + 1)))
    return time.monotonic() - started


# --- The run -------------------------------------------------------------------------------------

def pages(made):
    """(name, path, signed in, extra headers) of each page measured."""
    return [
        ("login", "/login", False, {}),
        ("register", "/register", False, {}),
        ("dashboard", "/dashboard", True, {}),
        ("documents", "/documents", True, {}),
        ("document", f"/documents/{made.document_id}", True, {}),
        ("messages", "/messages", True, {}),
        ("thread", f"/messages/{made.thread_id}", True, {}),
        ("poll", None, True, {"HX-Request": "true"}),  # the idle poll of the thread (204)
    ]


def summary(values):
    return min(values), statistics.median(values), max(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", 5)))
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", 4)))
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--pages", default="", help="comma-separated names (default: all)")
    parser.add_argument("--keep-data", action="store_true", help="reuse kabinets_bench from the last run")
    parser.add_argument("--colleagues", type=int, default=1000)
    parser.add_argument("--documents", type=int, default=10000)
    parser.add_argument("--threads", type=int, default=10000)
    parser.add_argument("--burst", type=int, default=16, help="sign-ins at once for the memory figure")
    args = parser.parse_args()

    admin_url = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url, made = prepare_database(admin_url, args.keep_data, args.colleagues, args.documents, args.threads)
    made = made or find_made(url)
    tag = uuid.uuid4().hex[:8]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "SMS_", "S3_", "STORAGE_"))},
           **{k: str(v) for k, v in app_config(url, tag).items()}, "PYTHONDONTWRITEBYTECODE": "1"}
    from benchmarks.dataset import MAIN_EMAIL as main_email, PASSWORD

    with tempfile.TemporaryDirectory() as workdir:
        env["UPLOAD_DIR"] = str(Path(workdir) / "uploads")
        portal = Server("portal", "portal:create_app()", env, workdir)
        trivial = Server("trivial", "benchmarks.trivial:app", env, workdir)
        try:
            portal.wait_ready("/login")
            trivial.wait_ready("/bench/trivial")
            time.sleep(1)
            idle_memory = portal.memory()
            print(f"portal: {' '.join(portal.command[1:])}", flush=True)
            load = Load(args.connections, workdir)
            browser = Browser(portal.base)
            browser.sign_in(main_email, PASSWORD)
            browser.post_form(f"/accounts/{made.company_id}", {}, page="/dashboard")
            counter = StatementCounter(url, tag)
            chosen = [p for p in pages(made) if not args.pages or p[0] in args.pages.split(",")]
            rows = []
            for name, path, signed_in, headers in chosen:
                trivial_cpu, page_cpu, ratios, rates, p50s, p95s, errors = [], [], [], [], [], [], 0
                for _ in range(args.rounds):
                    cookie = ""
                    if signed_in:
                        thread_page = browser.get(f"/messages/{made.thread_id}")  # a fresh cookie and poll token
                        cookie = browser.cookie_header()
                        if path is None or name == "poll":
                            path = POLL_RE.search(thread_page.text).group(1).replace("&amp;", "&")
                    measured = {}
                    for side, server, target, extra in (("trivial", trivial, "/bench/trivial", {}),
                                                        ("page", portal, path, headers)):
                        hdrs = {**BROWSER, **extra, **({"Cookie": cookie} if cookie else {})}
                        before = server.cpu_seconds()
                        n, seconds, p50, p95, failed = load.run(server.base + target, hdrs, args.seconds)
                        measured[side] = ((server.cpu_seconds() - before) / n * 1000 if n else None,
                                          n / seconds, p50, p95)
                        if side == "page":
                            errors += failed
                    if measured["page"][0] is None:  # not one answer within the round: too slow to say
                        continue
                    trivial_cpu.append(measured["trivial"][0])
                    page_cpu.append(measured["page"][0])
                    ratios.append(measured["trivial"][0] / measured["page"][0] if measured["page"][0] else float("inf"))
                    rates.append(measured["page"][1])
                    p50s.append(measured["page"][2])
                    p95s.append(measured["page"][3])
                cookie = browser.cookie_header() if signed_in else ""
                statements, status = counter.statements(path, cookie, headers)
                size, encoding, _ = compressed_size(portal.base, path, cookie, headers)
                if not ratios:
                    rows.append((name, status, None, None, None, None, None, None, statements, size, encoding,
                                 errors))
                    print(f"  {name}: no answer within a {args.seconds} s round", flush=True)
                    continue
                rows.append((name, status, statistics.median(rates), statistics.median(p50s),
                             statistics.median(p95s), statistics.median(page_cpu), statistics.median(trivial_cpu),
                             summary(ratios), statements, size, encoding, errors))
                print(f"  {name}: done (ratio median {statistics.median(ratios):.3f})", flush=True)
            after_memory = portal.memory()
            burst_seconds = sign_in_burst(portal.base, args.burst)
            burst_memory = portal.memory()
        finally:
            portal.stop()
            trivial.stop()
    report(args, rows, idle_memory, after_memory, burst_memory, burst_seconds)


def report(args, rows, idle_memory, after_memory, burst_memory, burst_seconds):
    print()
    print(f"{args.rounds} alternated rounds of {args.seconds} s per page, wrk -c{args.connections}; "
          f"CPU of the gunicorn master and workers; ratio = trivial CPU per request / page's (higher is better)")
    head = (f"{'page':10} {'status':>6} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'CPU ms/req':>10} "
            f"{'trivial':>8} {'ratio min/median/max':>22} {'SQL/req':>7} {'bytes':>7}")
    print(head)
    print("-" * len(head))
    for (name, status, rate, p50, p95, cpu, trivial_cpu, ratios, statements, size, encoding, errors) in rows:
        if ratios is None:
            print(f"{name:10} {status:>6} {'no answer within a round (' + str(args.seconds) + ' s)':>58} "
                  f"{statements:>7} {size:>6}{encoding[:1]}")
            continue
        low, mid, high = ratios
        ratio = f"{low:.3f}/{mid:.3f}/{high:.3f}"
        line = (f"{name:10} {status:>6} {rate:7.0f} {p50:7.1f} {p95:7.1f} {cpu:10.2f} {trivial_cpu:8.2f} "
                f"{ratio:>22} {statements:>7} {size:>6}{encoding[:1]}")
        print(line + (f"  ({errors} failed)" if errors else ""))
    print("(bytes: the answer's body as sent, b = brotli, g = gzip, - = not compressed)")
    print()

    def memory_line(label, rows):
        workers = rows[1:]
        rss = ", ".join(f"{r:.0f}" for _p, r, _s, _h in workers)
        pss = ", ".join(f"{s:.0f}" for _p, _r, s, _h in workers)
        peak = ", ".join(f"{h:.0f}" for _p, _r, _s, h in workers)
        return (f"{label:34} master RSS {rows[0][1]:.0f} MB; workers RSS {rss} MB, PSS {pss} MB, "
                f"peak RSS {peak} MB; total PSS {sum(s for _p, _r, s, _h in rows):.0f} MB")

    print(memory_line("memory idle (after start)", idle_memory))
    print(memory_line("memory after the runs", after_memory))
    print(memory_line(f"memory after {args.burst} sign-ins at once", burst_memory)
          + f" ({burst_seconds:.1f} s)")


if __name__ == "__main__":
    main()
