"""A real OpenID Connect provider on loopback for the e-identity tests: the portal's own
development broker (``adapters.identity.DevBroker`` behind ``blueprints.dev_broker``) in a small
Flask app of its own, served over HTTP by werkzeug in a thread of the test process. The portal
under test reads its discovery document, exchanges codes and fetches its JWKS over real sockets;
the tests drive its sign-in page with ``requests``, as a browser would, and forge its answers
through ``DevBroker.id_token_hook`` and ``DevBroker.sign_with``."""
import re
import socket
import threading
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import requests
from flask import Flask
from flask_babel import Babel
from werkzeug.serving import make_server

from adapters.identity import DevBroker
from blueprints import dev_broker
from models import demo
from rules.keys import Keyring

CLIENT_ID, CLIENT_SECRET = "kabinets-test", "test-client-secret"
PORTAL_BASE = "http://portal.test"  # the tests' BASE_URL (conftest.make_config)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_broker(provider="test"):
    """A broker on 127.0.0.1 that knows the portal as ``CLIENT_ID`` with one redirect URI."""
    port = _free_port()
    issuer = f"http://127.0.0.1:{port}/dev/eid"
    broker = DevBroker(issuer, Keyring("the broker's own secret"),
                       {CLIENT_ID: {"secret": CLIENT_SECRET,
                                    "redirect_uris": [f"{PORTAL_BASE}/eid/{provider}/callback"]}},
                       demo.PERSONS)
    app = Flask("test_broker")
    Babel(app)
    app.extensions["dev_broker"] = broker
    app.register_blueprint(dev_broker.bp)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield broker
    finally:
        server.shutdown()
        thread.join(5)


def provider_config(broker, name="test", **overrides):
    """One ``EID_PROVIDERS`` entry for ``broker``."""
    return {"name": name, "title": "Test broker", "issuer": broker.issuer, "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "scopes": "openid profile", "personal_code_claim": "serial_number",
            "personal_code_format": "etsi", **overrides}


def choose_at_broker(authorize_url, person="janis", cancel=False):
    """What a person does on the broker's page: pick ``person`` (or cancel). Returns the URL the
    broker sends the browser back to (the portal's callback with code and state, or an error)."""
    page = requests.get(authorize_url, timeout=10)
    assert page.status_code == 200, page.text[:300]
    sealed = re.search(r'name="request" value="([^"]+)"', page.text).group(1)
    action = authorize_url.split("?")[0]
    data = {"request": sealed, "person": person, **({"cancel": "1"} if cancel else {})}
    answer = requests.post(action, data=data, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:300]
    return answer.headers["Location"]


def query_of(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def local_path(url):
    """The path and query of a URL on the portal (the test client takes paths)."""
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")
