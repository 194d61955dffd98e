"""Password recovery: code, then a temporary password, then a forced change.

By e-mail and by SMS; each with JavaScript on and off.
"""
import pytest
from playwright.sync_api import expect

from .helpers import (NEW_PASSWORD, change_forced_password, enter_recovery_code, request_recovery,
                      screenshot, sign_in, sign_out)


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_client_recovers_password_through_temporary_one(page, live_server, person, js, channel):
    live_server.create_user(person)
    by_email = channel == "email"
    request_recovery(page, person.email if by_email else person.e164)
    # Message 1 carries the code, message 2 the temporary password, on the same channel.
    code = live_server.email_code(person.email) if by_email else live_server.sms_code(person.e164)
    enter_recovery_code(page, code)
    temporary = (live_server.email_password(person.email, 2) if by_email
                 else live_server.sms_password(person.e164, 2))
    screenshot(page, f"recovery-sent-{channel}-{'js' if js else 'nojs'}")

    page.locator("#reset-sent a.button").click()
    page.wait_for_url("**/login")
    sign_in(page, person.e164 if not by_email else person.email, temporary,
            lands_on="**/password/change")
    expect(page.locator("main .notice")).to_be_visible()  # "you signed in with a temporary password"
    page.goto("/dashboard")  # anywhere else leads back to the change
    page.wait_for_url("**/password/change")
    screenshot(page, f"recovery-forced-change-{channel}-{'js' if js else 'nojs'}")
    change_forced_password(page, temporary)
    expect(page.locator(".flash--success")).to_be_visible()

    user = live_server.user(person.email)
    assert not user.must_change_password
    sign_out(page)
    sign_in(page, person.email, NEW_PASSWORD)
    if js:
        assert page.console_errors == [], page.console_errors
        assert page.evaluate("() => window.__cspViolations") == []
