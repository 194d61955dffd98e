"""The README's demo: every demo account signs in with its e-mail and with its phone, in
development (PORTAL_ENV=development, as `make run` sets it) with the demo data loaded."""
import re
from pathlib import Path

import pytest

import models
from conftest import login
from models import demo

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def demo_app(app):
    assert app.config["PORTAL_ENV"] == "development"
    with app.app_context(), models.db.connection_context():
        assert demo.seed()
    return app


def readme_demo_accounts():
    """(e-mail, phone) of each row of the README's demo table, and the password it gives."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Demo accounts", 1)[1].split("\n### ", 1)[0]
    rows = re.findall(r"^\| (\S+@\S+) \| (\+\d+) \|", section, re.M)
    password = re.search(r"password is \*\*`([^`]+)`\*\*", section).group(1)
    return rows, password


def test_the_readme_lists_the_demo_accounts_and_their_password():
    rows, password = readme_demo_accounts()
    assert rows == [(email, phone) for email, phone, _name, _role in demo.ACCOUNTS]
    assert password == demo.PASSWORD


@pytest.mark.parametrize("by", ["e-mail", "phone"])
@pytest.mark.parametrize("email, phone, name, role", demo.ACCOUNTS, ids=[a[0] for a in demo.ACCOUNTS])
def test_every_demo_account_signs_in_by_email_and_by_phone(demo_app, by, email, phone, name, role):
    client = demo_app.test_client()
    r = login(client, email if by == "e-mail" else phone, demo.PASSWORD)
    assert r.status_code == 303, r.get_data(as_text=True)[-1500:]
    assert r.headers["Location"].endswith("/dashboard")
    page = client.get("/dashboard").get_data(as_text=True)
    assert name in page


def test_a_test_domain_address_registers_in_development(client):
    """The contact step takes a .test address in development, as the sign-in form does."""
    from conftest import post_form
    step1 = {"client_type": "natural", "citizenship": "LV", "accept_privacy": "y", "accept_terms": "y"}
    assert post_form(client, "/register", step1).status_code == 303
    r = post_form(client, "/register/contact", {"email": "jana@kabinets.test", "phone_region": "LV",
                                                "phone": "20000999", "password": "Zilais-Kalns7!",
                                                "confirm": "Zilais-Kalns7!"})
    assert r.status_code == 303, r.get_data(as_text=True)[-1500:]
