"""What keeps the portal cheap to serve (BENCHMARKS.md): gunicorn as the Procfile runs it,
the access log without idle polls, and the costs each page must not grow back."""
import gzip
import os
import random
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import flask_babel
import pytest
import requests
from markupsafe import Markup

import models
from conftest import PASSWORD, build_app, create_user, login, post_form
from models.documents import Document
from models.messages import Thread
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


class Statements:
    """The SQL statements the app's database runs (text only)."""

    def __init__(self, monkeypatch):
        self.sql = []
        database_class = type(models.db.obj)
        original = database_class.execute_sql

        def execute_sql(db_self, sql, params=None, *args, **kwargs):
            self.sql.append(sql)
            return original(db_self, sql, params, *args, **kwargs)

        monkeypatch.setattr(database_class, "execute_sql", execute_sql)

    def reading(self, table):
        return [s for s in self.sql if f'FROM "{table}"' in s]


def _company_with_a_document_and_a_thread(app):
    main = create_user(app, email="valde@example.lv", phone="+37121111112", kind="legal", role="main")
    with app.app_context(), models.db.connection_context():
        membership = models.Membership.get(models.Membership.user == main.id)
        other = models.Client.create(kind="natural", name="Privāti")
        models.Membership.grant(main, other, "self")
        document = Document.start(membership.client, "loan_application", main)
        thread = Thread.create(client=membership.client_id, created_by=main, subject="Jautājums")
        thread.add_message("client", author=main, body="Labdien!")
    client = app.test_client()
    login(client, "valde@example.lv")
    post_form(client, f"/accounts/{membership.client_id}", {}, page="/dashboard")
    return client, document.id, thread.id


@pytest.mark.postgres
def test_each_signed_in_page_reads_the_users_memberships_once(app, monkeypatch):
    client, document_id, thread_id = _company_with_a_document_and_a_thread(app)
    for path in ("/dashboard", "/documents", f"/documents/{document_id}", "/messages", f"/messages/{thread_id}",
                 "/settings"):
        statements = Statements(monkeypatch)
        assert client.get(path).status_code == 200, path
        assert len(statements.reading("membership")) == 1, (path, statements.reading("membership"))
        monkeypatch.undo()


PUBLIC_PAGES = ["/", "/login", "/register", "/password/reset", "/legal/privacy", "/legal/terms", "/nowhere"]
PUBLIC_LIMIT = 12 * 1024  # BENCHMARKS.md: a first visit, compressed, everything included


def _first_visit(client, url):
    """(the page's HTML, bytes a first visit transfers: the page and what it links, compressed as
    for a browser without brotli, the heavier case; benchmarks/page_weight.py asks the same)."""
    gz = {"Accept-Encoding": "gzip, deflate"}
    r = client.get(url, headers=gz)
    compressed = r.headers.get("Content-Encoding") == "gzip"  # not error pages: Flask-Compress leaves them
    html = gzip.decompress(r.data).decode() if compressed else r.get_data(as_text=True)
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    return html, len(r.data) + sum(len(client.get(a, headers=gz).data) for a in assets)


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_public_pages_load_no_script_and_weigh_at_most_12_kb(client, url):
    html, weight = _first_visit(client, url)
    assert "<script" not in html and "htmx" not in html
    assert weight <= PUBLIC_LIMIT, f"{url}: {weight} bytes on a first visit"


def test_registration_and_recovery_steps_load_no_script(app, client):
    r = post_form(client, "/register", {"client_type": "natural", "citizenship": "LV", "accept_privacy": "y",
                                        "accept_terms": "y"})
    assert r.status_code == 303
    post_form(client, "/password/reset", {"identifier": "nav@example.lv"})
    for url in ("/register/contact", "/password/reset/code"):
        html, weight = _first_visit(client, url)
        assert "<script" not in html and weight <= PUBLIC_LIMIT, url


def test_signed_in_pages_load_htmx(app, client):
    create_user(app)
    login(client, "anna@example.lv")
    html = client.get("/dashboard").get_data(as_text=True)
    assert re.search(r'<script src="/static/htmx-[\d.]+\.min\.js\?v=\w+" defer>', html)
    assert 'name="htmx-config"' in html


def test_flask_babel_finds_its_context_the_quick_way_and_still_follows_the_language(app, client):
    from flask_babel import force_locale, get_locale, gettext, lazy_gettext

    from blueprints import extensions
    assert flask_babel._get_current_context is extensions._babel_context
    assert extensions._babel_context() is None and get_locale() is None  # outside any context
    sign_in = lazy_gettext("Sign in")
    with app.test_request_context("/"):
        assert gettext("Sign in") == str(sign_in) == "Ienākt"
        with force_locale("en"):
            assert gettext("Sign in") == str(sign_in) == "Sign in"
        assert gettext("Sign in") == "Ienākt"
    post_form(client, "/language", {"lang": "en"}, page="/login")
    assert "<h1>Sign in</h1>" in client.get("/login").get_data(as_text=True)
    assert "<h1>Ienākt</h1>" in app.test_client().get("/login").get_data(as_text=True)


class SlowHasher:
    """Stands in for argon2: notes how many hashes and checks run at once."""

    def __init__(self):
        self.running = self.most = 0
        self.lock = threading.Lock()

    def _work(self):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.02)
        with self.lock:
            self.running -= 1

    def verify(self, password_hash, password):
        self._work()
        return True

    def hash(self, password):
        self._work()
        return "$argon2id$slow"


@pytest.mark.parametrize("at_once", [1, 2])
def test_argon2_runs_at_most_the_configured_checks_at_once_in_a_process(app, monkeypatch, at_once):
    hasher = SlowHasher()
    monkeypatch.setattr(models.passwords, "password_hasher", hasher)
    build_app({**app.config, "PASSWORD_CHECKS_AT_ONCE": at_once})
    work = [lambda: models.passwords.password_matches("$argon2id$x", "p"), lambda: models.hash_password("p"),
            lambda: models.passwords.dummy_check("p")] * 4
    threads = [threading.Thread(target=job) for job in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert hasher.most == at_once
    models.passwords.set_checks_at_once(1)


# --- gunicorn --preload: the app is built in the master, the workers are forked from it ----------

def _tcp_sockets(pid):
    """{socket inode: remote port} of the TCP connections process ``pid`` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = {}
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes and fields[3] == "01":  # ESTABLISHED
                found[fields[9]] = int(fields[2].rsplit(":", 1)[1], 16)
    return found


def _children(pid):
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
            and _parent(p) == pid]


def _parent(proc):
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


@pytest.mark.postgres
def test_preloaded_workers_share_no_database_or_redis_connection_with_each_other_or_the_master(app, tmp_path):
    if app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("the connection pool is PostgreSQL's")
    from live_portal import procfile_web_options
    assert "--preload" in procfile_web_options()
    create_user(app)
    with gunicorn_portal(app, tmp_path) as (base, master, _log):
        http = _sign_in(base, "anna@example.lv")
        token = CSRF_RE.search(http.get(base + "/messages/new", timeout=30).text).group(1)
        page = http.post(base + "/messages/new", data={"csrf_token": token, "body": "Labdien!"}, timeout=30).text
        poll = re.search(r'hx-get="(/messages/\d+/poll\?[^"]+)"', page).group(1).replace("&amp;", "&")
        cookies = http.cookies.get_dict()
        failures = []

        def browse():
            with requests.Session() as s:
                s.cookies.update(cookies)
                for _ in range(15):
                    for path, headers, expected in (("/dashboard", {}, 200), ("/messages", {}, 200),
                                                    (poll, HX, 204)):
                        r = s.get(base + path, headers=headers, timeout=30)
                        if r.status_code != expected:
                            failures.append((path, r.status_code))

        threads = [threading.Thread(target=browse) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert failures == []
        workers = _children(master.pid)
        assert len(workers) == 2
        redis_port = int(app.config["REDIS_URL"].rsplit(":", 1)[1].split("/")[0])
        held = {pid: _tcp_sockets(pid) for pid in (master.pid, *workers)}
        services = (5432, redis_port)
        assert not [port for port in held[master.pid].values() if port in services], "the master holds a connection"
        for pid in workers:
            assert {5432, redis_port} <= set(held[pid].values()), f"worker {pid} has not connected by itself"
        first, second = (set(inode for inode, port in held[pid].items() if port in services) for pid in workers)
        assert not first & second, "two workers hold the same connection"


@pytest.mark.postgres
def test_the_app_keeps_no_connection_its_start_up_opened(app, monkeypatch):
    """What a start-up check opens (production looks for demo accounts) is not handed to the
    workers gunicorn --preload forks from the process that built the app."""
    if app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("the connection pool is PostgreSQL's")
    import portal
    check = portal.init_signing_trust

    def checking_the_database(new_app):
        models.db.execute_sql("SELECT 1")  # a start-up check: its connection stays open
        return check(new_app)

    monkeypatch.setattr(portal, "init_signing_trust", checking_the_database)
    build_app(dict(app.config))
    pool = models.db.obj
    assert models.db.is_closed() and pool._connections == [] and pool._in_use == {}


@pytest.mark.postgres
def test_a_prepared_query_gives_what_the_query_itself_gives_for_any_values(app, db):
    from models.base import Prepared
    anna = create_user(app)
    ilze = create_user(app, email="ilze@example.lv", phone="+37121111119", kind="legal", role="main")
    with app.app_context():
        company = models.Client.create(kind="legal", name="SIA Bērzi")
        models.Membership.grant(anna, company, "colleague")
        revoked = models.Membership.grant(ilze, company, "colleague")
        models.Membership.update(revoked_at=models.utcnow()).where(models.Membership.id == revoked.id).execute()
        for user in (anna, ilze):
            found = models.user_of_session(user.id, None)
            assert found.__data__ == models.User.get_by_id(user.id).__data__ and not found.session_ended
            models.EndedSession.end(user, f"ended-{user.id}", models.utcnow())
            assert models.user_of_session(user.id, f"ended-{user.id}").session_ended
            found = models.user_of_session(user.id, "going-on")
            assert found.__data__ == models.User.get_by_id(user.id).__data__ and not found.session_ended
            expected = (models.Membership.select(models.Membership, models.Client).join(models.Client)
                        .where(models.Membership.user == user, models.Membership.revoked_at.is_null())
                        .order_by(models.Client.kind.desc(), models.Client.name))
            assert ([(m.__data__, m.client.__data__) for m in user.memberships_query()]
                    == [(m.__data__, m.client.__data__) for m in expected])
        assert [m.client.name for m in anna.memberships_query()] == ["Test client", "SIA Bērzi"]
        assert models.user_of_session(10 ** 6, None) is None
        assert models.user_of_session(10 ** 6, "going-on") is None
        with pytest.raises(ValueError):  # a value that does not reach the SQL as a parameter
            Prepared(lambda user_id: models.User.select().where(models.User.id == 5))(anna.id)


HTML_VALUES = ["", "plain", 'a "quoted" <b>&amp;</b>', "ā č ē ģ ī ķ ļ ņ š ū ž", 0, 42, None, True, False, 3.5,
               Markup('<i title="x">safe</i>'), Markup("a \" b"), "x\u202ey", "'single'"]
HTML_KEYS = ["name", "id", "class_", "for_", "data_poll_x", "aria_describedby", "aria_invalid", "maxlength", "z", "a"]


@pytest.mark.parametrize("seed", range(200))
def test_the_portals_html_params_writes_what_wtforms_writes(seed):
    from forms.fields import WTFORMS_HTML_PARAMS, html_params
    chosen = random.Random(seed)
    kwargs = {key: chosen.choice(HTML_VALUES) for key in chosen.sample(HTML_KEYS, chosen.randint(0, len(HTML_KEYS)))}
    ours, theirs = html_params(**kwargs), WTFORMS_HTML_PARAMS(**kwargs)
    assert ours == theirs and type(ours) is type(theirs) is Markup


def test_every_wtforms_widget_renders_with_the_portals_html_params():
    import wtforms.widgets
    import wtforms.widgets.core

    from forms.fields import html_params
    assert wtforms.widgets.core.html_params is wtforms.widgets.html_params is html_params
    assert wtforms.widgets.TextInput.html_params is wtforms.widgets.core.Button.html_params is html_params


def _moments():
    """Moments across the year, both changes of Riga's clock, midnights, naive (UTC) and aware."""
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    moments = [base + timedelta(hours=7 * n, minutes=13 * n) for n in range(1300)]
    moments += [datetime(2026, 3, 29, 0, 59, tzinfo=timezone.utc), datetime(2026, 3, 29, 1, 0, tzinfo=timezone.utc),
                datetime(2026, 10, 25, 0, 59, tzinfo=timezone.utc), datetime(2026, 10, 25, 1, 0, tzinfo=timezone.utc),
                datetime(2026, 12, 31, 22, 0, tzinfo=timezone.utc), datetime(1999, 12, 31, 21, 59, 59)]
    return moments + [m.replace(tzinfo=None) for m in moments if m.tzinfo] + [
        m.astimezone(timezone(timedelta(hours=-5))) for m in moments[:50]]


def test_dates_and_times_read_as_babel_writes_them_in_both_languages(app):
    from flask_babel import force_locale, format_date, format_datetime
    as_date, as_datetime = app.jinja_env.filters["date"], app.jinja_env.filters["datetime"]
    with app.test_request_context("/"):
        for language in ("lv", "en"):
            with force_locale(language):
                for moment in _moments():
                    aware = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment
                    assert as_datetime(moment) == format_datetime(aware, "dd.MM.yyyy HH:mm"), moment
                    assert as_date(moment) == format_date(moment, "dd.MM.yyyy"), moment
                    assert as_date(moment.date()) == format_date(moment.date(), "dd.MM.yyyy"), moment
        assert as_date(None) == as_datetime(None) == ""
