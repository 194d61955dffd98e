"""The portal as a real gunicorn process, as the Procfile starts it, and a browser-like client.

For the fault tests: several processes and threads writing one database at once, and
workers killed in the middle of a request, which the Flask test client cannot show.
"""
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def procfile_web_options():
    """``--workers N --threads M`` (and ``--preload``) of the Procfile's web process, so the test
    runs what it runs."""
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    words = shlex.split(line)
    options = []
    for name in ("--workers", "--threads"):
        options += [name, words[words.index(name) + 1]]
    return options + [flag for flag in ("--preload",) if flag in words]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn_portal(app, workdir, extra_options=(), extra_env=None, port=None):
    """Serve ``app``'s database, uploads, Redis and queue with gunicorn (development
    environment, development mail and SMS; ``extra_env`` adds to or overrides those variables)
    on ``port`` (default: a free one); yields (base URL, the master's Popen, log path)."""
    port = port or _free_port()
    config = app.config
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("MAIL_", "SMS_", "S3_", "STORAGE_"))}
    env.update(PORTAL_ENV="development", SECRET_KEY=config["SECRET_KEY"],
               DATABASE_URL=config["DATABASE_URL"], REDIS_URL=config["REDIS_URL"],
               RQ_QUEUE=config["RQ_QUEUE"], RATELIMIT_KEY_PREFIX=f"live-{config['RQ_QUEUE']}",
               UPLOAD_DIR=config["UPLOAD_DIR"], MAIL_BACKEND="dev", SMS_BACKEND="dev",
               # As the app under test: its staff may work after a password alone (conftest.make_config).
               STAFF_SECOND_FACTOR="0" if config.get("STAFF_SECOND_FACTOR") is False else "1",
               PYTHONDONTWRITEBYTECODE="1")
    env.update(extra_env or {})
    log_path = Path(workdir) / "gunicorn.log"
    command = [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}",
               *procfile_web_options(),
               # Its own control socket: the default one is shared by every gunicorn of the user.
               "--control-socket", str(Path(workdir) / "gunicorn.ctl"),
               *extra_options, "portal:create_app()"]
    with open(log_path, "wb") as log:
        master = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base + "/login", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or busy booting on a loaded machine
                pass
            if master.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start:\n" + log_path.read_text()[-3000:])
            time.sleep(0.1)
        yield base, master, log_path
    finally:
        master.send_signal(signal.SIGTERM)
        try:
            master.wait(10)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait()


def worker_pids(master):
    """The pids of the master's worker processes."""
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    return [int(pid) for pid in children]


class Browser:
    """One signed-in person: a requests session that reads CSRF tokens from forms, as a browser."""

    def __init__(self, base):
        self.base = base
        self.http = requests.Session()
        self.token = None

    def form_token(self, path):
        page = self.http.get(self.base + path, timeout=30)
        match = CSRF_RE.search(page.text)
        assert match, f"no CSRF token on {path} ({page.status_code})"
        return match.group(1)

    def sign_in(self, identifier, password):
        token = self.form_token("/login")
        response = self.http.post(self.base + "/login", data={"csrf_token": token, "identifier": identifier,
                                                              "password": password},
                                  allow_redirects=False, timeout=30)
        assert response.status_code == 303, response.text[:500]
        self.token = self.form_token("/messages/new")  # one token per session (Flask-WTF)

    def post(self, path, data, files=None, timeout=30, **kwargs):
        return self.http.post(self.base + path, data={"csrf_token": self.token, **data}, files=files,
                              allow_redirects=False, timeout=timeout, **kwargs)
