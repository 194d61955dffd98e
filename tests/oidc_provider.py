"""A second, independent OpenID Connect provider for the e-identity tests: panva's
``oidc-provider`` (Node.js; ``tests/oidc/``), run as a process on loopback. The portal's own
development broker (``tests/oidc_broker.py``) shares the portal's code; this one shares nothing,
so the relying party is tested against somebody else's reading of the specification.

``running_provider(clients)`` installs the npm packages when ``tests/oidc/node_modules`` is missing
(``npm ci`` from the committed lock file), starts ``provider.mjs`` on a free port, waits until it
answers, and stops it afterwards. Without Node.js 20+ and npm the tests that need it are skipped
with a loud reason, or fail when ``CI`` is set (CI must run them). Debian 12's own nodejs (18)
is too old: take Node.js 20.12 or later (Debian 13, or nodejs.org / NodeSource packages).

``sign_in_at_provider`` does what a person does on the provider's own pages (its development
login form, then its consent form), with ``requests``."""
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests

HERE = Path(__file__).resolve().parent / "oidc"
NPM_CI_TIMEOUT = 300
MINIMUM_NODE = (20, 12)  # oidc-provider 9 calls crypto.hash (Node 20.12); Debian 12's nodejs 18 is too old
START_TIMEOUT = 30
CLIENT_ID, CLIENT_SECRET = "kabinets-node", "node-client-secret-0123456789abcdef"
OTHER_CLIENT_ID, OTHER_CLIENT_SECRET = "another-app", "another-app-secret-0123456789abcdef"
_install_lock = threading.Lock()


def _unavailable(reason):
    """Skip loudly, or fail in CI, where every test must run."""
    message = f"oidc-provider tests need Node.js 20+ and npm: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def ensure_installed():
    """``npm ci`` in tests/oidc when its node_modules is missing; the path of ``node``."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        _unavailable("node or npm is not on PATH (apt-get install nodejs npm, or nodejs.org)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    found = re.match(r"v(\d+)\.(\d+)\.", version)
    if not found or (int(found.group(1)), int(found.group(2))) < MINIMUM_NODE:
        _unavailable(f"found node {version or '(no version)'}")
    with _install_lock:
        if not (HERE / "node_modules" / "oidc-provider" / "package.json").exists():
            done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True,
                                  text=True, timeout=NPM_CI_TIMEOUT)
            if done.returncode != 0:
                pytest.fail(f"npm ci in {HERE} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return node


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client_entry(redirect_uris, client_id=CLIENT_ID, secret=CLIENT_SECRET):
    return {"client_id": client_id, "client_secret": secret, "redirect_uris": list(redirect_uris)}


@contextmanager
def running_provider(clients):
    """oidc-provider on 127.0.0.1 knowing ``clients`` (``client_entry``); yields its issuer."""
    node = ensure_installed()
    port = _free_port()
    log = open(os.environ.get("OIDC_PROVIDER_LOG", os.devnull), "ab")
    process = subprocess.Popen([node, "provider.mjs"], cwd=HERE, stdout=subprocess.PIPE, stderr=log,
                               env={**os.environ, "PORT": str(port), "OIDC_CLIENTS": json.dumps(clients),
                                    "NODE_ENV": "test"})
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        line = b""
        while time.monotonic() < deadline and process.poll() is None:
            line = process.stdout.readline()
            if line.startswith(b"listening"):
                break
        if not line.startswith(b"listening"):
            pytest.fail(f"oidc-provider did not start (exit status {process.poll()})")
        yield issuer
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        process.stdout.close()
        log.close()


def provider_config(issuer, name="node", client_id=CLIENT_ID, secret=CLIENT_SECRET, **overrides):
    """One ``EID_PROVIDERS`` entry for the running provider."""
    return {"name": name, "title": "Node OIDC provider", "issuer": issuer, "client_id": client_id,
            "client_secret": secret, "scopes": "openid profile phone", "personal_code_claim": "serial_number",
            "personal_code_format": "etsi", **overrides}


def _form(page):
    action = re.search(r'<form[^>]*action="([^"]+)"', page)
    assert action, page[:500]
    return unescape(action.group(1))


def sign_in_at_provider(authorize_url, login="janis", portal_prefix="http://portal.test/", abort=False):
    """What a person does on the provider's pages: log in as ``login`` (any password), then press
    Continue on the consent page (or abort). Returns the URL the provider sends the browser back
    to (the portal's callback with ``code`` and ``state``, or an ``error``)."""
    browser = requests.Session()
    url, method, data = authorize_url, "GET", None
    for _ in range(12):
        answer = browser.request(method, url, data=data, allow_redirects=False, timeout=10)
        if answer.status_code in (301, 302, 303):
            url, method, data = urljoin(url, answer.headers["Location"]), "GET", None
            if url.startswith(portal_prefix):
                return url
            continue
        assert answer.status_code == 200, (answer.status_code, answer.text[:500])
        page = answer.text
        if abort:
            found = re.search(r'href="([^"]*/abort)"', page)
            assert found, page[:500]
            url, method, data = urljoin(url, unescape(found.group(1))), "GET", None
        elif 'name="prompt" value="login"' in page:
            url, method, data = urljoin(url, _form(page)), "POST", {"prompt": "login", "login": login,
                                                                   "password": "any"}
        elif 'name="prompt" value="consent"' in page:
            url, method, data = urljoin(url, _form(page)), "POST", {"prompt": "consent"}
        else:
            raise AssertionError(f"an unexpected page at the provider: {page[:500]}")
    raise AssertionError("the provider never sent the browser back")
