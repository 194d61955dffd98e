"""Fault injection for tests/test_outages.py: real processes the test owns and breaks.

- ``RedisServer``: a private redis-server on a fixed port that can be killed and started
  again there, or stopped (SIGSTOP: it accepts connections and answers nothing) and resumed.
- ``TcpProxy``: a TCP proxy in front of a server (PostgreSQL); ``cut()`` closes its listening
  socket and every connection through it (new connections are refused), ``restore()``
  listens again on the same port.
- ``Portal``: the portal under gunicorn, as the Procfile runs it, with its own environment.
- ``Tally``: what a load loop saw, by phase and kind: requests, statuses, slowest answer.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import requests

from live_portal import procfile_web_options

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} within {timeout} s")


def _port_answers(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


class RedisServer:
    """A private redis-server on a fixed port (no persistence: a restart starts empty)."""

    def __init__(self, binary, workdir, port=None):
        self.binary, self.workdir, self.port = binary, Path(workdir), port or free_port()
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: _port_answers(self.port), 10, f"redis-server did not listen on {self.port}")
        return self

    def kill(self):
        self.process.kill()
        self.process.wait(5)
        wait_for(lambda: not _port_answers(self.port), 5, "the killed redis-server's port did not close")

    def stop(self):
        """SIGSTOP: the kernel still accepts connections, nobody answers."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    def close(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(5)


class TcpProxy:
    """Forwards 127.0.0.1:<port> to an upstream server, one thread pair per connection."""

    def __init__(self, upstream_host, upstream_port):
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self._listener = None
        self._sockets = set()
        self._lock = threading.Lock()
        self.connections = 0

    def start(self):
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._acceptor.start()
        return self

    restore = start

    def cut(self):
        """Refuse new connections and drop every open one (both ends see a reset)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            self._acceptor.join(5)  # it polls 10 times a second; the port is free once it is gone
            listener.close()
        with self._lock:
            doomed, self._sockets = self._sockets, set()
        for sock in doomed:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    close = cut

    def _accept(self, listener):
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            client.settimeout(None)
            with self._lock:
                self._sockets.update((client, server))
                self.connections += 1
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source, target):
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            with self._lock:
                self._sockets.discard(source)


class Portal:
    """The portal under gunicorn (two workers, four threads each, preloaded, as in the Procfile)."""

    def __init__(self, env, logdir):
        self.env = {**os.environ, "PORTAL_ENV": "development", **env}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = Path(logdir) / "gunicorn.log"
        self.process = None

    def start(self):
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", *procfile_web_options(),
                 "--no-control-socket", "--graceful-timeout", "2",
                 "--error-logfile", "-", "portal:create_app()"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

        def answers():
            assert self.process.poll() is None, f"gunicorn exited:\n{self.log_text()}"
            try:
                return requests.get(self.base + "/health", timeout=2).status_code in (200, 503)
            except requests.RequestException:
                return False
        wait_for(answers, 30, "the portal did not answer /health")
        return self

    def log_text(self):
        return self.log.read_text(errors="replace")[-4000:]

    def close(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class Tally:
    """Every response the visitors got, by phase and request (method and path): how many of
    each status, and the slowest. A request that started in one phase and ended in another
    counts under "before→after", so each phase holds only what ran wholly inside it."""

    SLOW = 0.5  # seconds: as long as one Redis timeout

    def __init__(self):
        self.phase = "start"
        self.statuses = defaultdict(Counter)
        self.slowest = defaultdict(float)
        self.slow = Counter()
        self.lock = threading.Lock()

    def add(self, phase, kind, status, seconds):
        with self.lock:
            self.statuses[(phase, kind)][status] += 1
            self.slowest[(phase, kind)] = max(self.slowest[(phase, kind)], seconds)
            self.slow[(phase, kind)] += seconds >= self.SLOW

    def count(self, status=None, phase=None, kind=None):
        """Responses with this status (any if None) in this phase and of this kind (any if None)."""
        return sum(n for (p, k), counts in self.statuses.items()
                   if phase in (None, p) and kind in (None, k)
                   for s, n in counts.items() if status in (None, s))

    def unanswered(self):
        return sum(n for counts in self.statuses.values() for s, n in counts.items() if not isinstance(s, int))

    def slowest_answer(self, phase=None):
        return max((t for (p, _k), t in self.slowest.items() if phase in (None, p)), default=0.0)

    def report(self, title, seconds):
        """Print the figures (the run's output keeps them, RELIABILITY.md quotes them)."""
        lines = [f"--- {title}: {self.count()} requests in {seconds:.1f} s; {self.count(500)} × 500, "
                 f"{self.count(503)} × 503, {self.unanswered()} unanswered; "
                 f"slowest answer {self.slowest_answer():.2f} s"]
        for (phase, kind), counts in self.statuses.items():
            shown = ", ".join(f"{s}×{n}" for s, n in sorted(counts.items(), key=str))
            lines.append(f"    {phase:<12} {kind:<24} {shown:<24} slowest {self.slowest[(phase, kind)]:.2f} s"
                         f", {self.slow[(phase, kind)]} ≥ {self.SLOW} s")
        text = "\n".join(lines)
        print("\n" + text, flush=True)
        return text


class Visitor:
    """A browser without JavaScript: one cookie jar, forms posted with the page's CSRF token,
    every request counted in the tally."""

    def __init__(self, base, tally, address=None):
        self.base, self.tally = base, tally
        self.http = requests.Session()
        if address:  # the portal trusts one proxy hop here: each visitor has its own address
            self.http.headers["X-Forwarded-For"] = address

    def _send(self, method, path, **kwargs):
        """One request, counted under the phase it ran in; None when nothing answered."""
        started_in, started = self.tally.phase, time.monotonic()
        try:
            response = self.http.request(method, self.base + path, allow_redirects=False, timeout=10, **kwargs)
            status = response.status_code
        except requests.RequestException as error:
            response, status = None, f"no answer ({type(error).__name__})"
        ended_in = self.tally.phase
        phase = started_in if started_in == ended_in else f"{started_in}→{ended_in}"
        self.tally.add(phase, f"{method} {re.sub(r'[0-9]+', 'N', path)}", status, time.monotonic() - started)
        if response is not None:
            response.phase = phase
        return response

    def get(self, path, **kwargs):
        return self._send("GET", path, **kwargs)

    def post(self, path, data, page=None):
        """The form page (``page``, else ``path``), then the POST with its CSRF token."""
        form_page = self.get(page or path)
        match = CSRF.search(form_page.text) if form_page is not None else None
        token = match.group(1) if match else ""
        return self._send("POST", path, data={"csrf_token": token, **data})
