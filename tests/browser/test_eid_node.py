"""E-identity sign-in end to end through a second, independent OpenID Connect provider's own
pages: npm's ``oidc-provider`` (tests/oidc/, ``tests/oidc_provider.py``) on loopback, configured
through ``EID_PROVIDERS`` as a real broker would be. With JavaScript on and off: the sign-in
page's button, the provider's login and consent forms (plain HTML forms: they need no
JavaScript), linking the account that stated the code, the accounts overview and switching
account; and an employee's first sign-in with a company's invitation (the one extra step).

The provider's development pages ask fonts.googleapis.com for a font; that request is refused
here (no third-party host is reached)."""
import shutil
import socket
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

import models
import rules
from blueprints.extensions import limiter
from conftest import make_config  # tests/conftest.py
from models import demo
from oidc_provider import client_entry, provider_config, running_provider
from portal import create_app

from .conftest import CSP_RECORDER
from .helpers import Axe, submit
from .test_reflow import TOO_WIDE

PRIVATE_ACCOUNT = "Privātpersonas konts"  # the pages are in Latvian, the default


@pytest.fixture(scope="module")
def node_portal(tmp_path_factory, sqlite_template, redis_url, smtp_server, signing_trust_dir):
    import json
    workdir = tmp_path_factory.mktemp("eid-node-live")
    shutil.copy(sqlite_template, workdir / "kabinets.sqlite3")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    with running_provider([client_entry([f"{base}/eid/node/callback"])]) as issuer:
        app = create_app(make_config(f"sqlite:///{workdir}/kabinets.sqlite3", redis_url, smtp_server.port,
                                     UPLOAD_DIR=str(workdir / "uploads"), SIGNING_TRUST_DIR=signing_trust_dir,
                                     BASE_URL=base, EID_DEV_BROKER=False,
                                     EID_PROVIDERS=json.dumps([provider_config(issuer)])))
        with app.app_context(), models.db.connection_context():
            demo.seed()
            # Līga has a private account too: two accounts to choose between.
            liga = models.User.get(models.User.email == "valde@kabinets.test")
            models.Membership.grant(liga, models.Client.create(kind=rules.NATURAL, name="Līga Ozola"), rules.SELF)
        database = models.db.obj
        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield app, base, database
        server.shutdown()
        thread.join(5)
        models.db.close()


def _fresh(app, database):
    """Each run is somebody's first e-identity sign-in; Anna's account from a run before is gone."""
    if models.db.obj is not database:  # another app was built in this process meanwhile
        models.db.initialize(database)
    with app.app_context():
        limiter.reset()
        with models.db.connection_context():
            models.DigitalIdentity.delete().execute()
            for user in models.User.select().where(models.User.email == "anna@demo.test"):
                models.Membership.update(revoked_at=models.utcnow()).where(models.Membership.user == user).execute()
                models.User.update(email=f"gone-{user.id}@demo.test", phone=f"+3712900{user.id:04d}").where(
                    models.User.id == user.id).execute()


def _context(browser, base, js, **options):
    context = browser.new_context(base_url=base, java_script_enabled=js, **options)
    context.set_default_timeout(15_000)
    context.route("https://fonts.googleapis.com/**", lambda route: route.abort())
    if js and not options.get("bypass_csp"):
        context.add_init_script(CSP_RECORDER)
    return context


@pytest.fixture
def node_page(browser, node_portal, js):
    app, base, database = node_portal
    _fresh(app, database)
    context = _context(browser, base, js)
    yield context.new_page()
    context.close()


def sign_in_at_provider(page, login, measure=None):
    """The provider's own pages: its login form (any password), then its consent form."""
    page.goto("/login")
    page.locator('a[href="/eid/node/start"]').click()
    page.wait_for_url("**/interaction/**")
    if measure:
        measure("provider login")
    page.fill('input[name="login"]', login)
    page.fill('input[name="password"]', "any password")
    page.locator("button.login-submit").click()
    expect(page.locator('input[name="prompt"][value="consent"]')).to_have_count(1)
    page.locator("button.login-submit").click()


def test_person_signs_in_through_the_providers_pages_links_the_account_and_switches(node_page, js):
    page = node_page
    sign_in_at_provider(page, "liga")
    page.wait_for_url("**/eid/link")
    expect(page.locator('input[name="account"]')).to_have_count(1)  # the account that stated the code
    page.fill("#password", demo.PASSWORD)
    submit(page, "#password")
    page.wait_for_url("**/dashboard")
    mine = page.locator("#your-accounts")  # not the register's companies beside it
    expect(mine.locator("ul.accounts > li")).to_have_count(2)
    expect(mine.locator("#accounts-private + ul.accounts")).to_contain_text(PRIVATE_ACCOUNT)
    expect(mine.locator("#accounts-managed + ul.accounts")).to_contain_text("SIA Demo Būve")
    other = mine.locator("ul.accounts > li:not(.account--active)")
    other_id = other.get_attribute("id")
    other.locator("button[type=submit]").click()
    expect(page.locator(f"#{other_id}")).to_have_class("account account--active")
    if js:
        assert page.evaluate("() => window.__cspViolations") == []


def _invite_anna(app):
    """Līga, main user of SIA Demo Būve, invites Anna to the phone the provider vouches for."""
    with app.app_context(), models.db.connection_context():
        liga = models.User.get(models.User.email == "valde@kabinets.test")
        company = models.Client.get(models.Client.name == "SIA Demo Būve")
        models.Invitation.issue(company, liga, ["documents", "messages"], True, email="anna@demo.test",
                                phone="+37120000055", full_name="Anna", link=lambda t: f"/invitations/{t}")


def test_employees_first_sign_in_joins_the_company_in_one_step_and_is_not_asked_again(node_page, node_portal, js):
    app, _base, _database = node_portal
    _invite_anna(app)
    page = node_page
    sign_in_at_provider(page, "anna")
    page.wait_for_url("**/eid/join")
    expect(page.locator("#eid-join")).to_contain_text("SIA Demo Būve")
    page.locator('#eid-join form[action="/eid/join"] button[type=submit]').click()
    page.wait_for_url("**/dashboard")
    expect(page.locator("#accounts-colleague + ul.accounts .account--active")).to_contain_text("SIA Demo Būve")
    page.locator('form[action="/logout"] button[type=submit]').first.click()
    page.wait_for_url("**/login")
    # Still signed in at the provider (its own session): straight back, and straight in, since
    # the step is not asked again.
    page.locator('a[href="/eid/node/start"]').click()
    page.wait_for_url("**/dashboard")
    expect(page.locator("#accounts-colleague + ul.accounts .account--active")).to_contain_text("SIA Demo Būve")
    if js:
        assert page.evaluate("() => window.__cspViolations") == []


def test_the_employee_step_pages_have_no_axe_violations_and_fit_320_px(browser, node_portal):
    app, base, database = node_portal
    _fresh(app, database)
    _invite_anna(app)
    context = _context(browser, base, True, bypass_csp=True, viewport={"width": 320, "height": 700})
    axe = Axe(context.new_page())
    page = axe.page
    too_wide = []

    def measure(label):
        page.wait_for_load_state()
        found = page.evaluate(TOO_WIDE)
        if found:
            too_wide.append(f"{label}: {found}")

    sign_in_at_provider(page, "anna")
    page.wait_for_url("**/eid/join")
    measure("join, invitation found by the phone")
    axe.check("eid-join")
    page.context.clear_cookies()  # another person, at the provider too
    sign_in_at_provider(page, "ilze")  # no invitation of hers: the link page offers the code form
    page.wait_for_url("**/eid/link")
    page.fill("#code", "not-a-code")
    submit(page, "#code")
    expect(page.locator("#eid-join")).to_be_visible()
    measure("join, wrong code")
    axe.check("eid-join-wrong-code")
    context.close()
    assert not too_wide, "\n".join(too_wide)
    axe.assert_clean()
