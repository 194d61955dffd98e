"""The README's demo: every demo account signs in with its e-mail and with its phone, in
development (PORTAL_ENV=development, as `make run` sets it) with the demo data loaded."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import models
from conftest import login, post_form
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
    step1 = {"client_type": "natural", "citizenship": "LV", "accept_privacy": "y", "accept_terms": "y"}
    assert post_form(client, "/register", step1).status_code == 303
    r = post_form(client, "/register/contact", {"email": "jana@kabinets.test", "phone_region": "LV",
                                                "phone": "20000999", "password": "Zilais-Kalns7!",
                                                "confirm": "Zilais-Kalns7!"})
    assert r.status_code == 303, r.get_data(as_text=True)[-1500:]


def procfile_command(name):
    """The command of one Procfile process, as honcho runs it (through a shell)."""
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith(f"{name}:"))
    return line.split(":", 1)[1].strip()


def test_the_worker_shows_each_development_message_in_its_terminal_lines(demo_app, tmp_path):
    """README: in development the codes and temporary passwords are in the `worker` lines of
    `make run`'s terminal. The Procfile's worker, as honcho starts it, with the development
    e-mail and SMS backends, sends a recovery code to a demo account's e-mail and phone."""
    for target in ("admin@kabinets.test", "+37120000001"):
        assert post_form(demo_app.test_client(), "/password/reset", {"identifier": target}).status_code == 303
    config = demo_app.config
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MAIL_", "SMS_"))}
    env.update(PORTAL_ENV="development", SECRET_KEY=config["SECRET_KEY"], DATABASE_URL=config["DATABASE_URL"],
               REDIS_URL=config["REDIS_URL"], RQ_QUEUE=config["RQ_QUEUE"], UPLOAD_DIR=config["UPLOAD_DIR"],
               SIGNING_TRUST_DIR=config["SIGNING_TRUST_DIR"], PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    worker = subprocess.run(["bash", "-c", f"exec {procfile_command('worker')} --burst"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    output = worker.stdout + worker.stderr
    assert worker.returncode == 0, output[-3000:]
    with demo_app.app_context(), models.db.connection_context():
        sent = list(models.DevOutbox.select().where(
            models.DevOutbox.recipient.in_(["admin@kabinets.test", "+37120000001"])))
    assert len(sent) == 2, output[-3000:]
    for message in sent:
        code = re.search(r"\b\d{6}\b", message.body).group(0)
        line = next((line for line in output.splitlines() if message.recipient in line), None)
        kind = "SMS" if message.channel == "sms" else "E-MAIL"
        assert line and line.startswith(f"DEV {kind} to {message.recipient}: "), output[-3000:]  # as the README shows
        assert code in output[output.index(line):], f"the code sent to {message.recipient} is not shown"


def test_links_in_e_mails_point_at_the_port_make_run_serves(monkeypatch, tmp_path):
    """`make run PORT=5080`: the Makefile hands the port to honcho as WEB_PORT, the Procfile's
    web process listens on it, and BASE_URL (links in e-mails) follows it unless set."""
    from portal import default_config
    makefile = (ROOT / "Makefile").read_text()
    run = re.search(r"^run:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "WEB_PORT=$(PORT)" in next(line for line in run.splitlines() if "honcho start" in line)
    assert "${WEB_PORT:-5000}" in procfile_command("web")
    monkeypatch.delenv("BASE_URL", raising=False)
    monkeypatch.setenv("WEB_PORT", "5080")
    assert default_config(tmp_path)["BASE_URL"] == "http://127.0.0.1:5080"
    monkeypatch.delenv("WEB_PORT")
    assert default_config(tmp_path)["BASE_URL"] == "http://127.0.0.1:5000"
    monkeypatch.setenv("WEB_PORT", "5080")
    monkeypatch.setenv("BASE_URL", "https://kabinets.example.lv")
    assert default_config(tmp_path)["BASE_URL"] == "https://kabinets.example.lv"
