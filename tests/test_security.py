"""Headers, cookies, CSRF, fragments and bad input: the defaults every page keeps."""
import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest

from conftest import create_user, csrf_token, login, post_form

PAGES = ["/", "/login", "/register", "/password/reset", "/legal/privacy", "/legal/terms"]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_sends_a_strict_policy_and_varies_on_htmx(client, url):
    r = client.get(url)
    csp = r.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert "HX-Request" in r.headers["Vary"]
    assert "no-store" in r.headers["Cache-Control"]


class InlineCode(HTMLParser):
    """Everything on a page that the CSP would block or that runs code without a file:
    scripts without src (any type), script bodies, <style>, style="", on*="" handlers and
    javascript: URLs in any attribute."""

    URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background",
                      "hx-get", "hx-post", "hx-put", "hx-delete", "hx-patch"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self._in_script = [], False

    def handle_starttag(self, tag, attrs):
        attrs = [(name.lower(), value or "") for name, value in attrs]
        names = {name for name, _ in attrs}
        if tag == "script":
            self._in_script = True
            if "src" not in names:
                self.found.append(f"<script> without src: {attrs}")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"event handler {name}= on <{tag}>")
            if name == "style":
                self.found.append(f"style= on <{tag}>")
            squeezed = re.sub(r"[\x00-\x20]", "", value).lower()
            if squeezed.startswith("javascript:") or (name in self.URL_ATTRIBUTES and "javascript:" in squeezed):
                self.found.append(f"javascript: URL in {name}= on <{tag}>")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.found.append(f"inline script body: {data.strip()[:80]!r}")


def inline_code(html):
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser.found


@pytest.mark.parametrize("url", PAGES)
def test_pages_have_no_inline_script_or_style(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert inline_code(response.get_data(as_text=True)) == []


SIGNED_IN_PAGES = ["/dashboard", "/settings", "/password/change", "/documents", "/messages", "/messages/new"]


def test_signed_in_pages_have_no_inline_script_or_style(client, app):
    create_user(app)
    login(client, "anna@example.lv")
    for url in SIGNED_IN_PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        assert inline_code(response.get_data(as_text=True)) == [], url


@pytest.mark.parametrize("snippet", [
    "<script>alert(1)</script>",
    "<script type=module>import('/x')</script>",
    "<SCRIPT type=\"text/javascript\" nonce=x>alert(1)</SCRIPT>",
    "<script src=/static/x.js>alert(1)</script>",
    "<button onclick=\"go()\">x</button>",
    "<body onload=go()>",
    "<a href=\"javascript:go()\">x</a>",
    "<a href=\" jav&#x09;ascript:go()\">x</a>",
    "<form action=\"JavaScript:go()\"></form>",
    "<p style=\"color:red\">x</p>",
    "<style>p{}</style>",
])
def test_the_inline_code_check_finds_each_form(snippet):
    assert inline_code(f"<html><body>{snippet}</body></html>"), snippet
    assert inline_code('<script src="/static/htmx.min.js" defer></script><a href="/x">x</a>') == []


def test_session_cookie_is_httponly_lax_and_secure_over_https(app):
    create_user(app)
    plain = app.test_client()
    login(plain, "anna@example.lv")
    cookie = plain.get_cookie("kabinets_session")
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure
    r = app.test_client().get("/login", base_url="https://localhost")
    assert "Secure" in r.headers["Set-Cookie"]


@pytest.mark.postgres
def test_post_without_csrf_token_is_refused_and_changes_nothing(client, app, db):
    import models
    r = client.post("/register", data={"client_type": "natural", "citizenship": "LV",
                                       "accept_privacy": "y", "accept_terms": "y"})
    assert r.status_code == 400
    assert models.PendingRegistration.select().count() == 0


def test_htmx_post_with_csrf_header_is_accepted(client):
    token = csrf_token(client, "/register")
    r = client.post("/register", data={"client_type": "natural", "citizenship": "LV",
                                       "accept_privacy": "y", "accept_terms": "y"},
                    headers={"HX-Request": "true", "X-CSRFToken": token})
    assert r.status_code == 303


class PostForms(HTMLParser):
    """For each <form method="post"> of a page: its action and the CSRF tokens inside it."""

    def __init__(self):
        super().__init__()
        self.forms, self._current = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._current = {"action": attrs.get("action"), "tokens": []}
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and attrs.get("name") == "csrf_token":
            self._current["tokens"].append(attrs.get("value"))

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def post_forms(html):
    parser = PostForms()
    parser.feed(html)
    return parser.forms


def assert_every_post_form_carries_the_token(client, url):
    forms = post_forms(client.get(url).get_data(as_text=True))
    assert forms, f"no POST form on {url}"
    tokens = {t for f in forms for t in f["tokens"]}
    assert all(len(f["tokens"]) == 1 and f["tokens"][0] for f in forms), (url, forms)
    assert len(tokens) == 1, (url, tokens)  # one token per session, whichever form
    return tokens.pop()


def test_every_post_form_carries_the_sessions_csrf_token(client, app):
    """What conftest's form_token relies on: every form of a session carries a token, and
    a token read once keeps working for the session's later POSTs (until sign-in)."""
    for url in ["/", "/login", "/register", "/password/reset", "/legal/terms"]:
        assert_every_post_form_carries_the_token(client, url)
    create_user(app)
    token = assert_every_post_form_carries_the_token(client, "/login")
    r = client.post("/login", data={"csrf_token": token, "identifier": "anna@example.lv",
                                    "password": "Zilais-Kalns7!"})
    assert r.status_code == 303
    for url in ["/dashboard", "/settings", "/password/change", "/documents", "/messages", "/messages/new"]:
        assert_every_post_form_carries_the_token(client, url)
    token = assert_every_post_form_carries_the_token(client, "/settings")
    for language in ("en", "lv"):  # the same token, twice, after other pages were rendered
        r = client.post("/settings", data={"csrf_token": token, "language": language, "notify_email": "y"})
        assert r.status_code == 303, r.get_data(as_text=True)[:500]


def test_a_csrf_token_of_another_session_is_refused(app, db):
    import models
    mine, theirs = app.test_client(), app.test_client()
    token = csrf_token(theirs, "/register")
    csrf_token(mine, "/register")  # this session has a token of its own
    r = mine.post("/register", data={"csrf_token": token, "client_type": "natural", "citizenship": "LV",
                                     "accept_privacy": "y", "accept_terms": "y"})
    assert r.status_code == 400
    assert models.PendingRegistration.select().count() == 0


def test_boosted_request_gets_the_full_page(client):
    r = client.get("/register", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in r.get_data(as_text=True)


def test_history_restore_gets_the_full_page(client):
    r = client.get("/register", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in r.get_data(as_text=True)


NASTY = ["", " ", "a" * 5000, "' OR 1=1 --", "<script>alert(1)</script>", "\x00", "💥" * 50,
         "+371" + "9" * 40, "@", "a@b", "%00", "../../etc/passwd"]


@pytest.mark.postgres
@pytest.mark.parametrize("value", NASTY)
def test_bad_input_never_gives_a_500(client, value):
    for url, field_names in [("/login", ["identifier", "password"]),
                             ("/password/reset", ["identifier"]),
                             ("/register", ["client_type", "citizenship", "citizenship2", "country"])]:
        r = post_form(client, url, {name: value for name in field_names})
        assert r.status_code in (303, 400, 422, 429), (url, r.status_code)
        assert "<script>alert(1)</script>" not in r.get_data(as_text=True)


@pytest.mark.postgres
def test_contact_step_bad_input_never_gives_a_500(client):
    post_form(client, "/register", {"client_type": "natural", "citizenship": "LV",
                                    "accept_privacy": "y", "accept_terms": "y"})
    for value in NASTY:
        r = post_form(client, "/register/contact", {"email": value, "phone_region": value, "phone": value,
                                                    "password": value, "confirm": value})
        assert r.status_code in (400, 422), r.status_code


def test_unknown_pages_and_methods_answer_with_pages_not_errors(client):
    assert client.get("/no-such-page").status_code == 404
    assert client.put("/login").status_code == 405
    assert client.get("/legal/secret").status_code == 404


@pytest.mark.postgres
def test_health_reports_database_and_redis(client):
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json == {"status": "ok", "down": [], "database": True, "redis": True}


def test_static_files_are_cached_long_by_content_hash(client):
    html = client.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/portal\.css\?v=[0-9a-f]+)"', html).group(1)
    r = client.get(css)
    assert r.status_code == 200 and "max-age=31536000" in r.headers["Cache-Control"]


def test_pages_are_gzip_compressed(client):
    r = client.get("/register", headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("Content-Encoding") == "gzip"
    css = client.get("/static/portal.css", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert css.headers.get("Content-Encoding") == "br"


# --- Hostile input found by the attacker's fuzz (issue 9): each one a 4xx or a redirect ----------

HUGE = "99999999999999999999"


@pytest.mark.postgres
def test_oversized_ids_are_not_found_not_an_overflow(client, app, db):
    create_user(app)
    login(client, "anna@example.lv")
    for url in (f"/documents/{HUGE}", f"/messages/{HUGE}", f"/messages/1/files/{HUGE}",
                f"/documents/1/files/{HUGE}", f"/staff/documents/{HUGE}", f"/messages/{2**31}/poll"):
        assert client.get(url).status_code == 404, url
    assert post_form(client, f"/accounts/{HUGE}", {}, page="/dashboard").status_code == 404
    # A page number or an "about" id too large for the database is the first page / nothing.
    assert client.get("/messages/new?about=document:" + HUGE).status_code == 200
    r = post_form(client, "/messages/new", {"subject": "Par", "body": "Teksts", "about_kind": "document",
                                            "about_id": HUGE}, page="/messages/new")
    assert r.status_code in (303, 422)
    create_user(app, email="vaditajs@example.lv", phone="+37123333334", staff_role="admin")
    staff = app.test_client()
    login(staff, "vaditajs@example.lv")
    for url in ("/staff/audit?page=18446744073709551616", "/staff/notifications?page=-5",
                "/staff/audit?page=1e309", "/staff/messages?page=" + HUGE):
        assert staff.get(url).status_code == 200, url


@pytest.mark.parametrize("target", ["/?x\ny", "/\r\nSet-Cookie: a=b", "/%0Ax\x00", "/\x7f"])
def test_control_characters_in_next_go_to_the_default_page(client, app, db, target):
    create_user(app)
    token = csrf_token(client, "/login")
    r = client.post("/language", data={"csrf_token": token, "lang": "en", "next": target})
    assert r.status_code in (302, 303) and r.headers["Location"] == "/"
    credentials = {"csrf_token": token, "identifier": "anna@example.lv", "password": "Zilais-Kalns7!"}
    r = client.post("/login?next=" + quote(target, safe=""), data=credentials)
    assert r.status_code in (302, 303) and r.headers["Location"].endswith("/dashboard")
    # Signed in already, the same again (a 500 here before).
    r = client.post("/login?next=%2F%3F%0Ax", data=dict(credentials, csrf_token=csrf_token(client, "/dashboard")))
    assert r.status_code in (302, 303) and "\n" not in r.headers["Location"]


def test_non_ascii_tokens_and_signatures_are_refused_not_a_500(client, app, db):
    from adapters import signing
    create_user(app)
    login(client, "anna@example.lv")
    assert client.get("/messages/1/poll?after=1&t=ā" * 3, headers={"HX-Request": "true"}).status_code < 500
    r = client.post("/signing-service/callback", data=b'{"invitation": "x"}',
                    headers={signing.TIMESTAMP_HEADER: "1", signing.SIGNATURE_HEADER: "ā" * 64})
    assert 400 <= r.status_code < 500


# --- What every kind of answer carries (SECURITY.md: ASVS V3.4, V4.1, V13.4) ----------------

def answers_of_every_kind(client, app):
    """A page, a form fragment, a static file, a 404, a 405, a CSRF refusal, JSON and a
    signed-in page: the headers may not depend on which."""
    create_user(app)
    signed_in = app.test_client()
    login(signed_in, "anna@example.lv")
    return {
        "page": client.get("/login"),
        "fragment": client.get("/register", headers={"HX-Request": "true"}),
        "static": client.get("/static/portal.css"),
        "not found": client.get("/no-such-page"),
        "method": client.put("/login"),
        "csrf refused": client.post("/login", data={"identifier": "x"}),
        "json": client.get("/health"),
        "signed in": signed_in.get("/dashboard"),
    }


def test_every_kind_of_answer_sends_the_policy_nosniff_and_a_referrer_policy(client, app):
    """ASVS 3.4.3 (object-src and base-uri 'none'), 3.4.4, 3.4.5, 3.4.6: on every answer,
    not only on pages."""
    for kind, r in answers_of_every_kind(client, app).items():
        csp = [d.strip() for d in r.headers.get("Content-Security-Policy", "").split(";")]
        for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'",
                          "frame-ancestors 'none'"):
            assert directive in csp, (kind, directive, csp)
        assert r.headers["X-Content-Type-Options"] == "nosniff", kind
        assert r.headers["Referrer-Policy"] == "same-origin", kind


def test_every_text_answer_names_its_charset(client, app):
    """ASVS 4.1.1: a body's Content-Type says what it is, and text says its charset."""
    for kind, r in answers_of_every_kind(client, app).items():
        content_type = r.headers["Content-Type"]
        if kind == "static":
            assert content_type == "text/css; charset=utf-8", content_type
        elif kind == "json":
            assert content_type == "application/json", content_type
        else:
            assert content_type == "text/html; charset=utf-8", (kind, content_type)


def test_no_origin_is_granted_cross_origin_access(client, app):
    """ASVS 3.4.2: the portal sends no CORS headers, so no other origin may read its answers,
    whatever Origin a request names (a preflight included)."""
    create_user(app)
    login(client, "anna@example.lv")
    for origin in ("https://evil.example", "null", "http://localhost"):
        for r in (client.get("/dashboard", headers={"Origin": origin}),
                  client.options("/messages/new", headers={"Origin": origin,
                                                           "Access-Control-Request-Method": "POST"}),
                  client.get("/health", headers={"Origin": origin})):
            assert not [h for h in r.headers.keys() if h.lower().startswith("access-control-")], r.headers


@pytest.mark.parametrize("method", ["TRACE", "TRACK"])
def test_trace_is_not_served(client, method):
    """ASVS 13.4.4: TRACE (and IIS's TRACK) answer 405 and never echo the request."""
    r = client.open("/login", method=method, headers={"X-Echo": "secret-header"})
    assert r.status_code == 405
    assert "secret-header" not in r.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/static/", "/static", "/static/..", "/static/../.git/config", "/.git/config",
                                 "/.git/HEAD", "/static/%2e%2e/portal.py", "/portal.py", "/instance/secret_key",
                                 "/.env", "/translations/"])
def test_no_directory_listing_source_control_or_source_file_is_served(client, url):
    """ASVS 13.4.1, 13.4.3: only static/ is served from the disk, file by file."""
    r = client.get(url)
    assert r.status_code == 404, (url, r.status_code)
    body = r.get_data(as_text=True)
    assert "[core]" not in body and "Index of" not in body and "def create_app" not in body


def test_the_layout_keeps_htmx_from_running_code_it_is_sent(client, app):
    """ASVS 1.3.2, 3.2.2: htmx is told not to eval (hx-on, js: values) nor to run <script> in
    swapped content, and may only call the portal's own origin; the CSP would block both anyway.
    Public pages load no script at all; signed-in pages load htmx with these settings."""
    import json
    assert "<script" not in client.get("/login").get_data(as_text=True)
    create_user(app)
    login(client, "anna@example.lv")
    page = client.get("/dashboard")
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    assert "htmx" in re.search(r'<script[^>]+src="([^"]+)"', html).group(1)
    config = json.loads(re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', html).group(1))
    assert config["allowEval"] is False and config["allowScriptTags"] is False
    assert config.get("selfRequestsOnly", True) is True
    assert config["historyCacheSize"] == 0  # no copy of a signed-in page in localStorage
