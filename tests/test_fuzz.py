"""Hostile input never answers 500: a property-based fuzz over every route and form.

Hypothesis draws requests against the demo data, as a visitor, a client and a staff
administrator: every URL rule with its arguments (real ids, huge, negative, hostile strings),
query strings, form fields of every form (hostile strings, huge numbers, wrong types, missing
and duplicated fields), bad UTF-8, bad multipart and odd content types. Any answer of 500 or
more fails. ``FUZZ_EXAMPLES`` sets the examples per test (4 tests; 2,500 each by default:
10,000 requests in all).
"""
import inspect
from io import BytesIO
import os
import re
from datetime import datetime, timezone
from urllib.parse import quote

import pytest
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings, strategies as st
from werkzeug.datastructures import MultiDict

import forms
import models

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2500"))

HOSTILE = [
    "", " ", "0", "-1", "1e309", "NaN", "inf", "9" * 40, str(2**31), str(2**63), str(2**64), "18446744073709551616",
    "\x00", "\n", "\r\n", "a\nb", "%0A", "%00", "%ff", "\t", "\x7f", "\u202e\u2066evil", "\ufeff", "\U0001F600",
    "../../etc/passwd", "..\\..\\boot.ini", "/%2e%2e/", "//evil.example", "https://evil.example", "javascript:alert(1)",
    "\\\\evil.example", "/\\evil.example", "/?x=\ny",
    "<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "' OR 1=1 --", "'; DROP TABLE user; --",
    "{{7*7}}", "${7*7}", "%s%s%s%n", "ā" * 3000, "x" * 70000, "lv", "en", "email", "sms", "y", "on", "true",
    "+37120000001", "klients@kabinets.test", "Parole-Demo1!", "LV", "natural", "legal",
]

HUGE_INTS = [0, 1, 2, 3, -1, 2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, 10**20, 10**30]


def _field_names():
    """Every field name of every form, and the names views read from request.form/args."""
    names = set()
    for module in (getattr(forms, name) for name in dir(forms)):
        if not inspect.ismodule(module):
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, FlaskForm) and cls is not FlaskForm:
                for attr, value in vars(cls).items():
                    if hasattr(value, "field_class"):
                        names.add(attr)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for folder, _, files in os.walk(os.path.join(root, "blueprints")):
        for name in files:
            if name.endswith(".py"):
                text = open(os.path.join(folder, name), encoding="utf-8").read()
                names.update(re.findall(r"request\.(?:form|args|values|files)\.get(?:list)?\(\"(\w+)\"", text))
    names.update({"csrf_token", "next", "page", "before", "after", "about", "to", "action", "files", "file", "nonce"})
    return sorted(names)


FIELDS = _field_names()


def _text():
    return st.one_of(st.sampled_from(HOSTILE), st.text(max_size=200),
                     st.integers().map(str), st.sampled_from(HUGE_INTS).map(str))


def _path_value(converter, ids):
    if converter == "IntegerConverter":
        return st.one_of(st.sampled_from(ids), st.sampled_from(HUGE_INTS).map(abs)).map(str)
    return st.one_of(st.sampled_from(["privacy", "terms", "email", "sms", "loan_application", "x"]),
                     _text()).map(lambda s: quote(s, safe=""))


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory, sqlite_template, redis_url, smtp_server):
    import shutil
    from conftest import build_app, make_config
    from blueprints.extensions import limiter
    from models import demo
    from models.documents import Document
    from models.messages import Thread
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copy(sqlite_template, folder / "fuzz.sqlite3")
    app = build_app(make_config(f"sqlite:///{folder}/fuzz.sqlite3", redis_url, smtp_server.port,
                                UPLOAD_DIR=str(folder / "uploads"), WTF_CSRF_ENABLED=False,
                                PROPAGATE_EXCEPTIONS=False))
    with app.app_context():
        limiter.reset()
        with models.db.connection_context():
            demo.seed()
            identified = _submitted_with_identifications()
            users = {u.email: (u.id, u.session_version) for u in models.User.select()}
            ids = sorted({m.id for m in Document.select()} | {m.id for m in Thread.select()}
                         | {m.id for m in models.StoredFile.select()} | {m.id for m in models.Client.select()}
                         | {m.id for m in models.Notification.select()} | identified)
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    return app, users, ids or [1], rules


def _submitted_with_identifications():
    """The demo client's submitted application with the people who identify (issue 14): their
    ids and the application's, so the identification routes meet real rows."""
    from models.applications import Application
    from models.identification import Links, prepare
    from rules.onboarding import services_for
    user = models.User.get(models.User.email == "klients@kabinets.test")
    client = models.Membership.get(models.Membership.user == user).client
    application = Application.start(client, user, [services_for(client.kind)[0]])
    with models.action():
        application.submit({}, user)
        rows = prepare(application, user, Links(lambda token: f"/identification/invitation/{token}",
                                                lambda application_id: f"/applications/{application_id}/identification"))
    return {application.id} | {r.id for r in rows}


def _signed_in(client, app, who, users):
    """Put the user's session straight into the cookie (as sign-in does) before each example:
    the fuzz may have signed out, changed the language or switched accounts."""
    with app.app_context(), models.db.connection_context():
        user = models.User.get_or_none(models.User.email == who)
        token = f"{user.id}:{user.session_version}" if user else None
    now = datetime.now(timezone.utc).timestamp()
    with client.session_transaction() as session:
        session.clear()
        if token:
            session["_user_id"], session["_fresh"] = token, True
            session["login_at"] = session["seen_at"] = now


@st.composite
def requests_(draw, rules, ids):
    rule = draw(st.sampled_from(rules))
    path = rule.rule
    for name, converter in rule._converters.items():
        value = draw(_path_value(type(converter).__name__, ids))
        path = re.sub(r"<(?:[a-z]+:)?" + name + ">", value, path)
    methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
    method = draw(st.sampled_from(methods + ["POST"]))
    query = draw(st.lists(st.tuples(st.sampled_from(FIELDS), _text()), max_size=4))
    fields = draw(st.lists(st.tuples(st.sampled_from(FIELDS), _text()), max_size=8))  # names may repeat
    body_kind = draw(st.sampled_from(["form", "form", "multipart", "json", "raw"]))
    return path, method, query, fields, body_kind, draw(st.binary(max_size=300))


def _send(client, request):
    path, method, query, fields, body_kind, raw = request
    kwargs = {"method": method, "query_string": MultiDict(query)}
    if method == "POST":
        if body_kind == "form":
            kwargs["data"] = MultiDict(fields)
            kwargs["content_type"] = "application/x-www-form-urlencoded"
        elif body_kind == "multipart":
            data = MultiDict(fields)
            data.add("files", (BytesIO(raw), "x.pdf"))
            data.add("file", (BytesIO(raw), "../../x\n.pdf"))
            kwargs["data"] = data
            kwargs["content_type"] = "multipart/form-data"
        elif body_kind == "json":
            kwargs["json"] = dict(fields)
        else:  # bad UTF-8, a broken multipart, or junk under a form content type
            kwargs["data"] = b"a=%ff%fe&b=\xff\xfe&" + raw
            kwargs["content_type"] = ("multipart/form-data; boundary=zzz" if raw[:1] < b"\x80"
                                      else "application/x-www-form-urlencoded")
    return client.open(path, **kwargs)


READINESS = "/health/ready"


def _fuzz(fuzz_app, who, examples):
    app, users, ids, rules = fuzz_app
    client = app.test_client()
    seen = {"requests": 0, "5xx": []}

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(requests_(rules, ids))
    def one(request):
        _signed_in(client, app, who, users)
        response = _send(client, request)
        seen["requests"] += 1
        if request[0] == READINESS and response.status_code == 503:
            return  # the readiness check reports what is down (here: no worker runs): its answer, not a fault
        if response.status_code >= 500:
            seen["5xx"].append((request[:2], response.status_code))
        assert response.status_code < 500, request

    one()
    print(f"\nfuzz as {who or 'visitor'}: {seen['requests']} requests, {len(seen['5xx'])} answered 5xx")


@pytest.mark.parametrize("who", [None, "klients@kabinets.test", "valde@kabinets.test", "admin@kabinets.test"])
def test_no_request_answers_500(fuzz_app, who):
    _fuzz(fuzz_app, who, EXAMPLES)
