"""The job dashboard (issue 15): rq-dashboard under /staff/jobs works in a browser under the CSP
of its own (blueprints/operations.py) — its tables are built by its scripts, nothing is blocked —
and an administrator reaches it from the staff area. It is a JavaScript tool: with JavaScript
off it shows its frame without data (an administrator's tool; the queue figures are in /metrics)."""
import pytest
from playwright.sync_api import expect

from .helpers import sign_in


def test_an_administrator_sees_the_queues_and_workers_with_nothing_blocked(page, live_server, person, js):
    if not js:
        pytest.skip("rq-dashboard builds its pages with JavaScript (an administrator's tool)")
    live_server.create_user(person, staff_role="admin", full_name="Anna Administratore")
    sign_in(page, person.email)
    page.goto("/staff")
    page.locator('a[href="/staff/jobs/"]').click()
    page.wait_for_url("**/staff/jobs/")
    queue = live_server.app.config["RQ_QUEUE"]
    # the rows come from queues.json through underscore's templates: they need 'unsafe-eval'
    expect(page.locator("#queues")).to_contain_text(queue)
    page.goto("/staff/jobs/0/view/workers")
    expect(page.locator("#workers")).to_contain_text(queue, timeout=30_000)  # the stack's rq worker (it polls)
    assert page.evaluate("() => window.__cspViolations") == []
    assert page.console_errors == [], page.console_errors
