"""Signing in with e-identity through the development broker's pages, with JavaScript on and off:
the sign-in page's button, the broker's person picker, linking the account that stated the code
(its password, once), the accounts overview, switching account; and axe on the new pages.

The portal runs on a port of its own with ``BASE_URL`` naming it, so the broker it mounts
(``/dev/eid``) is the issuer it fetches discovery, token and JWKS from over HTTP, as in
``make run``."""
import socket
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

import models
import rules
from conftest import make_config  # tests/conftest.py
from blueprints.extensions import limiter
from models import demo
from portal import create_app

from .conftest import CSP_RECORDER
from .helpers import Axe, submit

PRIVATE_ACCOUNT = "Privātpersonas konts"  # the pages are in Latvian, the default


@pytest.fixture(scope="module")
def eid_portal(tmp_path_factory, sqlite_template, redis_url, smtp_server, signing_trust_dir):
    import shutil
    workdir = tmp_path_factory.mktemp("eid-live")
    shutil.copy(sqlite_template, workdir / "kabinets.sqlite3")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    app = create_app(make_config(f"sqlite:///{workdir}/kabinets.sqlite3", redis_url, smtp_server.port,
                                 UPLOAD_DIR=str(workdir / "uploads"), SIGNING_TRUST_DIR=signing_trust_dir,
                                 BASE_URL=base, EID_DEV_BROKER=True))
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


@pytest.fixture
def eid_page(browser, eid_portal, js):
    app, base, database = eid_portal
    if models.db.obj is not database:  # another app was built in this process meanwhile
        models.db.initialize(database)
    with app.app_context():
        limiter.reset()
        with models.db.connection_context():
            models.DigitalIdentity.delete().execute()  # each run is somebody's first e-identity sign-in
    context = browser.new_context(base_url=base, java_script_enabled=js)
    context.set_default_timeout(15_000)
    if js:
        context.add_init_script(CSP_RECORDER)
    page = context.new_page()
    yield page
    context.close()


def test_person_signs_in_with_e_identity_links_the_account_and_switches_accounts(eid_page, js):
    page = eid_page
    page.goto("/login")
    page.locator('a[href="/eid/dev/start"]').click()
    page.wait_for_url("**/dev/eid/authorize?**")
    page.check("#person-liga")
    page.locator('button[type=submit]:not([name=cancel])').click()
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


def test_cancelling_at_the_broker_shows_the_way_back(eid_page, js):
    page = eid_page
    page.goto("/login")
    page.locator('a[href="/eid/dev/start"]').click()
    page.wait_for_url("**/dev/eid/authorize?**")
    page.locator('button[name=cancel]').click()
    expect(page.locator("#eid-failed")).to_be_visible()
    page.locator('#eid-failed a[href="/login"]').click()
    page.wait_for_url("**/login")


def test_e_identity_pages_have_no_axe_violations(browser, eid_portal):
    app, base, database = eid_portal
    if models.db.obj is not database:
        models.db.initialize(database)
    context = browser.new_context(base_url=base, java_script_enabled=True, bypass_csp=True)
    axe = Axe(context.new_page())
    page = axe.page
    page.goto("/login")
    axe.check("eid-login")
    page.locator('a[href="/eid/dev/start"]').click()
    page.wait_for_url("**/dev/eid/authorize?**")
    axe.check("eid-broker")
    page.check("#person-ilze")
    page.locator('button[type=submit]:not([name=cancel])').click()
    page.wait_for_url("**/eid/link")
    axe.check("eid-link")
    page.goto("/login")
    page.locator('a[href="/eid/dev/start"]').click()
    page.locator('button[name=cancel]').click()
    expect(page.locator("#eid-failed")).to_be_visible()
    axe.check("eid-failed")
    context.close()
    axe.assert_clean()


def test_e_identity_pages_fit_320_px(browser, eid_portal, js):
    """The pages only a sign-in reaches (the broker's, the link page, the failure page), at 320 px
    (tests/browser/test_reflow.py measures the others)."""
    from .test_reflow import TOO_WIDE
    app, base, database = eid_portal
    if models.db.obj is not database:
        models.db.initialize(database)
    with app.app_context(), models.db.connection_context():
        models.DigitalIdentity.delete().execute()
    context = browser.new_context(base_url=base, viewport={"width": 320, "height": 700}, java_script_enabled=js)
    page = context.new_page()
    too_wide = []

    def measure(label):
        page.wait_for_load_state()
        found = page.evaluate(TOO_WIDE)
        if found:
            too_wide.append(f"{label}: {found}")

    page.goto("/login")
    page.locator('a[href="/eid/dev/start"]').click()
    page.wait_for_url("**/dev/eid/authorize?**")
    measure("broker")
    page.check("#person-janis")
    page.locator('button[type=submit]:not([name=cancel])').click()
    page.wait_for_url("**/eid/link")
    measure("link, an account stated the code")
    submit(page, "#password")
    measure("link, errors")
    page.goto("/login")
    page.locator('a[href="/eid/dev/start"]').click()
    page.check("#person-ilze")
    page.locator('button[type=submit]:not([name=cancel])').click()
    page.wait_for_url("**/eid/link")
    measure("link, no account")
    page.goto("/login")
    page.locator('a[href="/eid/dev/start"]').click()
    page.locator('button[name=cancel]').click()
    measure("failed")
    context.close()
    assert not too_wide, "\n".join(too_wide)
