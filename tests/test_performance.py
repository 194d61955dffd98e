"""What keeps the portal cheap to serve (BENCHMARKS.md): gunicorn as the Procfile runs it,
the access log without idle polls, and the costs each page must not grow back."""
import re

import requests

from conftest import PASSWORD, create_user
from live_portal import CSRF_RE, gunicorn_portal

HX = {"HX-Request": "true"}


def _sign_in(base, email):
    http = requests.Session()
    token = CSRF_RE.search(http.get(base + "/login", timeout=30).text).group(1)
    r = http.post(base + "/login", data={"csrf_token": token, "identifier": email, "password": PASSWORD},
                  allow_redirects=False, timeout=60)
    assert r.status_code == 303, r.status_code
    return http


def test_gunicorn_writes_no_access_log_line_for_an_idle_poll_and_one_for_everything_else(app, tmp_path):
    create_user(app)
    log = tmp_path / "access.log"
    with gunicorn_portal(app, tmp_path, extra_options=("--access-logfile", str(log))) as (base, _master, _out):
        http = _sign_in(base, "anna@example.lv")
        token = CSRF_RE.search(http.get(base + "/messages/new", timeout=30).text).group(1)
        r = http.post(base + "/messages/new", data={"csrf_token": token, "body": "Labdien!"}, timeout=30)
        page = r.text
        poll = re.search(r'hx-get="(/messages/\d+/poll\?[^"]+)"', page).group(1).replace("&amp;", "&")
        for _ in range(3):
            assert http.get(base + poll, headers=HX, timeout=30).status_code == 204
        stale = re.sub(r"t=[^&]+", "t=stale", poll)
        assert http.get(base + stale, headers=HX, timeout=30).status_code == 200  # Flask's answer
        assert http.get(base + "/dashboard", timeout=30).status_code == 200
    lines = log.read_text().splitlines()
    polls = [line for line in lines if "/poll?" in line]
    assert len(polls) == 1 and "t=stale" in polls[0], polls  # the idle 204s left no line
    assert any('"GET /dashboard ' in line for line in lines)
    assert any('"POST /login ' in line for line in lines)
