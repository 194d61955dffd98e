"""The CLI commands `make run` relies on."""
import models


def test_seed_demo_loads_once_and_lists_the_accounts(runner, db):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0 and "admin@kabinets.test" in first.output
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0 and "already present" in second.output
    assert models.User.select().count() == 4
    company = models.Client.get(models.Client.kind == "legal")
    roles = sorted(m.role for m in company.memberships)
    assert roles == ["colleague", "main"]


def test_seed_demo_is_refused_in_production(app, runner, db):
    app.config["PORTAL_ENV"] = "production"
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code != 0 and "refused" in result.output
    assert models.User.select().count() == 0


def test_init_db_is_idempotent(runner):
    assert runner.invoke(args=["init-db"]).exit_code == 0
    assert "0 migration" in runner.invoke(args=["init-db"]).output


def test_create_staff_checks_the_password_rule(runner, db):
    weak = runner.invoke(args=["create-staff", "--email", "s@example.lv", "--phone", "+37126000000",
                               "--role", "supervisor", "--password", "weak"])
    assert weak.exit_code != 0
    ok = runner.invoke(args=["create-staff", "--email", "s@example.lv", "--phone", "+37126000000",
                             "--role", "supervisor", "--password", "Stipra-Parole-9!"])
    assert ok.exit_code == 0, ok.output
    assert models.User.get().staff_role == "supervisor"
