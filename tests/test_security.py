"""Headers, cookies, CSRF, fragments and bad input: the defaults every page keeps."""
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


@pytest.mark.parametrize("url", PAGES)
def test_pages_have_no_inline_script_or_style(client, url):
    html = client.get(url).get_data(as_text=True)
    assert "<script>" not in html and "style=" not in html and " on" + "click=" not in html


def test_session_cookie_is_httponly_lax_and_secure_over_https(app):
    create_user(app)
    plain = app.test_client()
    login(plain, "anna@example.lv")
    cookie = plain.get_cookie("kabinets_session")
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure
    r = app.test_client().get("/login", base_url="https://localhost")
    assert "Secure" in r.headers["Set-Cookie"]


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


def test_boosted_request_gets_the_full_page(client):
    r = client.get("/register", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in r.get_data(as_text=True)


def test_history_restore_gets_the_full_page(client):
    r = client.get("/register", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in r.get_data(as_text=True)


NASTY = ["", " ", "a" * 5000, "' OR 1=1 --", "<script>alert(1)</script>", "\x00", "💥" * 50,
         "+371" + "9" * 40, "@", "a@b", "%00", "../../etc/passwd"]


@pytest.mark.parametrize("value", NASTY)
def test_bad_input_never_gives_a_500(client, value):
    for url, field_names in [("/login", ["identifier", "password"]),
                             ("/password/reset", ["identifier"]),
                             ("/register", ["client_type", "citizenship", "citizenship2", "country"])]:
        r = post_form(client, url, {name: value for name in field_names})
        assert r.status_code in (303, 400, 422, 429), (url, r.status_code)
        assert "<script>alert(1)</script>" not in r.get_data(as_text=True)


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


def test_health_reports_database_and_redis(client):
    r = client.get("/health")
    assert r.status_code == 200 and r.json == {"database": True, "redis": True}


def test_static_files_are_cached_long_by_content_hash(client):
    html = client.get("/").get_data(as_text=True)
    import re
    css = re.search(r'href="(/static/portal\.css\?v=[0-9a-f]+)"', html).group(1)
    r = client.get(css)
    assert r.status_code == 200 and "max-age=31536000" in r.headers["Cache-Control"]


def test_pages_are_gzip_compressed(client):
    r = client.get("/register", headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("Content-Encoding") == "gzip"
    css = client.get("/static/portal.css", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert css.headers.get("Content-Encoding") == "br"
