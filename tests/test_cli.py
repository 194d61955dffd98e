"""The CLI commands `make run` relies on."""
import pytest

import models
from models import demo


@pytest.mark.postgres
def test_seed_demo_loads_once_and_lists_the_accounts(runner, db):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0 and "admin@kabinets.test" in first.output
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0 and "already present" in second.output
    assert models.User.select().count() == len(demo.ACCOUNTS) == 5
    company = models.Client.get(models.Client.kind == "legal")
    assert company.consultant.email == "konsultante@kabinets.test"  # issue 15: the demo consultant's client
    roles = sorted(m.role for m in company.memberships)
    assert roles == ["colleague", "main"]


def test_seed_demo_is_refused_in_production(app, runner, db):
    app.config["PORTAL_ENV"] = "production"
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code != 0 and "refused" in result.output
    assert models.User.select().count() == 0


@pytest.mark.postgres
def test_init_db_is_idempotent(runner):
    assert runner.invoke(args=["init-db"]).exit_code == 0
    assert "0 migration" in runner.invoke(args=["init-db"]).output


STAFF_ARGS = ["create-staff", "--email", "S@Example.lv", "--phone", "+37126000000", "--role", "supervisor"]


@pytest.mark.postgres
def test_create_staff_makes_a_staff_user_with_the_role(runner, db):
    result = runner.invoke(args=STAFF_ARGS + ["--name", "Sandra", "--password", "Stipra-Parole-9!"])
    assert result.exit_code == 0, result.output
    assert result.exception is None
    assert "Staff user s@example.lv (supervisor) created." in result.output
    user = models.User.get(models.User.email == "s@example.lv")
    assert (user.phone, user.staff_role, user.full_name) == ("+37126000000", "supervisor", "Sandra")
    assert user.is_staff and user.check_password("Stipra-Parole-9!")
    audit = models.AuditLog.get(models.AuditLog.action == "staff.created")
    assert audit.user_id == user.id and audit.actor == "cli"


def click_error(result):
    """The message of a ClickException (exit code 1, "Error: …" on the output), not a crash."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # a crash keeps its own type
    lines = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert lines, result.output
    return lines[-1][len("Error: "):]


def test_create_staff_refuses_a_weak_password_with_each_problem(runner, db):
    result = runner.invoke(args=STAFF_ARGS + ["--password", "weak"])
    # Outside a request the portal speaks its default language, Latvian.
    assert click_error(result) == ("Rakstzīmju skaitam jābūt vismaz 8. Pievienojiet ciparu. "
                                   "Pievienojiet lielo burtu. Pievienojiet simbolu, piemēram, ! ? # vai %.")
    assert models.User.select().count() == 0


def test_create_staff_refuses_a_bad_email_or_phone(runner, db):
    for email, phone in [("not-an-address", "+37126000000"), ("s@example.lv", "26000000")]:
        result = runner.invoke(args=["create-staff", "--email", email, "--phone", phone,
                                     "--password", "Stipra-Parole-9!"])
        assert click_error(result) == "Give a valid e-mail and a phone in +371… form."
    assert models.User.select().count() == 0
