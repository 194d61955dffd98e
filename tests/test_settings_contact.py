"""Changing the e-mail or phone (ACC-18, issue 11): the new value and the current password, a code
to the new value, a notice to the old one; throttled like sign-in, never telling whose a value is."""
from datetime import timedelta

import pytest

import models
import rules
from blueprints.throttling import DEVICE_COOKIE
from conftest import PASSWORD, create_user, last_sms_code, login, post_form, run_jobs, sms_to
from rules import throttle as budgets
from rules.identity import STEP_UP_WINDOW

EMAIL, PHONE = "anna@example.lv", "+37121111111"
NEW_EMAIL, NEW_PHONE = "anna.liepa@example.lv", "+37122222222"
WRONG = "Nepareiza-Parole1!"


@pytest.fixture
def user(app):
    return create_user(app, email=EMAIL, phone=PHONE)


@pytest.fixture
def signed_in(client, user):
    assert login(client, EMAIL).status_code == 303
    return client


def ask_email(client, email=NEW_EMAIL, password=PASSWORD, **kwargs):
    return post_form(client, "/settings/contact/email", {"email": email, "password": password},
                     page="/settings", **kwargs)


def ask_phone(client, phone="22222222", region="LV", password=PASSWORD, **kwargs):
    return post_form(client, "/settings/contact/phone",
                     {"phone_region": region, "phone": phone, "password": password}, page="/settings", **kwargs)


def confirm(client, code, **kwargs):
    return post_form(client, "/settings/contact/confirm", {"code": code}, page="/settings", **kwargs)


def email_code(app, mailbox, address=NEW_EMAIL):
    run_jobs(app)
    return mailbox.last_code(address)


def notifications(**where):
    """The notifications written, but the new-device notice of signing in (tests/test_sessions.py)."""
    query = (models.Notification.select().where(models.Notification.template != "new_device_sign_in")
             .order_by(models.Notification.id))
    for name, value in where.items():
        query = query.where(getattr(models.Notification, name) == value)
    return list(query)


def wrong(code):
    """A code that is not ``code``."""
    return f"{(int(code) + 1) % 10 ** rules.CODE_DIGITS:06d}"


# --- The settings page ---------------------------------------------------------------------

def test_settings_show_the_email_and_phone_with_change_links(signed_in):
    html = signed_in.get("/settings").get_data(as_text=True)
    assert EMAIL in html and PHONE in html
    assert 'href="/settings/contact/email"' in html and 'href="/settings/contact/phone"' in html
    for url in ("/settings/contact/email", "/settings/contact/phone"):
        page = signed_in.get(url)
        assert page.status_code == 200 and 'name="password"' in page.get_data(as_text=True)


def test_signed_out_visitor_is_sent_to_sign_in(client, user):
    for url in ("/settings/contact/email", "/settings/contact/confirm"):
        r = client.get(url)
        assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_settings_point_to_a_change_waiting_for_its_code(signed_in, db):
    assert 'href="/settings/contact/confirm"' not in signed_in.get("/settings").get_data(as_text=True)
    ask_email(signed_in)
    html = signed_in.get("/settings").get_data(as_text=True)
    assert 'href="/settings/contact/confirm"' in html and NEW_EMAIL in html


# --- Happy paths ---------------------------------------------------------------------------

@pytest.mark.postgres
def test_email_change_with_the_code_from_the_new_address(app, signed_in, mailbox, db, user):
    r = ask_email(signed_in, "Anna.Liepa@Example.lv")
    assert r.status_code == 303 and r.headers["Location"].endswith("/settings/contact/confirm")
    page = signed_in.get("/settings/contact/confirm").get_data(as_text=True)
    assert NEW_EMAIL in page and 'name="code"' in page
    assert models.User.get_by_id(user.id).email == EMAIL  # nothing changes before the code

    r = confirm(signed_in, email_code(app, mailbox))
    assert r.status_code == 303 and r.headers["Location"].endswith("/settings")
    assert models.User.get_by_id(user.id).email == NEW_EMAIL
    page = signed_in.get("/settings")  # still signed in, in this browser
    assert page.status_code == 200 and NEW_EMAIL in page.get_data(as_text=True)

    notice, copy = notifications(template="contact_changed")
    assert (notice.channel, notice.recipient, notice.user_id) == ("email", EMAIL, user.id)
    with app.app_context():
        assert notice.opened_params() == {"contact": "email", "new": "a***@example.lv"}
    # A copy by SMS to the account's phone (issue 12), in words about the e-mail.
    assert (copy.channel, copy.recipient) == ("sms", PHONE)
    run_jobs(app)
    assert "e-pasta adrese" in sms_to(app, PHONE)[-1] and "a***@example.lv" in sms_to(app, PHONE)[-1]
    run_jobs(app)
    assert "a***@example.lv" in mailbox.last_text(EMAIL)

    entry = models.AuditLog.get(models.AuditLog.action == "settings.contact_changed")
    assert entry.user_id == user.id
    assert entry.details == {"contact": "email", "previous": EMAIL, "new": NEW_EMAIL}


def test_phone_change_with_the_code_from_the_new_number(app, signed_in, db, user):
    assert ask_phone(signed_in, "22 222 222").status_code == 303
    run_jobs(app)
    code = last_sms_code(app, NEW_PHONE)
    assert confirm(signed_in, code).status_code == 303
    assert models.User.get_by_id(user.id).phone == NEW_PHONE

    notice, = notifications(template="contact_changed")
    assert (notice.channel, notice.recipient) == ("sms", PHONE)
    run_jobs(app)
    assert "+371 ****2222" in sms_to(app, PHONE)[-1]
    assert models.AuditLog.get(models.AuditLog.action == "settings.contact_changed").details == {
        "contact": "phone", "previous": PHONE, "new": NEW_PHONE}


def test_sign_in_works_with_the_new_identifier_and_not_the_old(app, signed_in, mailbox, user):
    ask_email(signed_in)
    confirm(signed_in, email_code(app, mailbox))
    ask_phone(signed_in)
    run_jobs(app)
    confirm(signed_in, last_sms_code(app, NEW_PHONE))

    for identifier in (EMAIL, PHONE):
        other = app.test_client()
        r = login(other, identifier)
        assert r.status_code == 422, identifier
    for identifier in (NEW_EMAIL, NEW_PHONE):
        other = app.test_client()
        r = login(other, identifier)
        assert r.status_code == 303 and r.headers["Location"].endswith("/dashboard"), identifier


def test_every_other_session_ends_and_this_one_goes_on(app, signed_in, mailbox, user):
    elsewhere = app.test_client()
    assert login(elsewhere, EMAIL).status_code == 303
    ask_email(signed_in)
    confirm(signed_in, email_code(app, mailbox))
    assert signed_in.get("/dashboard").status_code == 200
    r = elsewhere.get("/dashboard")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_a_recovery_heading_for_the_old_address_ends(app, signed_in, mailbox, db, user):
    """A recovery started at the old address cannot send a temporary password there afterwards."""
    stranger = app.test_client()
    post_form(stranger, "/password/reset", {"identifier": EMAIL})
    ask_email(signed_in)
    confirm(signed_in, email_code(app, mailbox))
    reset = models.PasswordReset.get(models.PasswordReset.target == EMAIL)
    assert reset.completed_at is not None
    code = mailbox.last_code(EMAIL)  # the recovery code, sent to the old address
    r = post_form(stranger, "/password/reset/code", {"code": code}, page="/password/reset")
    assert r.status_code == 302 and "/password/reset" in r.headers["Location"]
    assert notifications(template="temporary_password") == []


# --- Refusals -----------------------------------------------------------------------------

def test_wrong_password_changes_nothing_and_sends_nothing(signed_in, db, user):
    r = ask_email(signed_in, password=WRONG)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="password-error"' in html and 'href="#password"' in html
    assert models.ContactChange.select().count() == 0
    assert notifications() == []
    assert models.AuditLog.get(models.AuditLog.action == "settings.contact_password_failed").user_id == user.id


@pytest.mark.parametrize("value", ["", "not-an-address", "anna@", "a" * 300 + "@example.lv"])
def test_a_malformed_email_is_refused_next_to_the_field(signed_in, db, value):
    r = ask_email(signed_in, value)
    assert r.status_code == 422 and 'id="email-error"' in r.get_data(as_text=True)
    assert models.ContactChange.select().count() == 0


@pytest.mark.parametrize("phone, region", [("123", "LV"), ("", "LV"), ("22222222", "XX"),
                                           ("abc", "LV"), ("9" * 40, "LV")])
def test_a_malformed_phone_is_refused(signed_in, db, phone, region):
    r = ask_phone(signed_in, phone, region)
    assert r.status_code == 422
    assert models.ContactChange.select().count() == 0


def test_the_current_value_is_not_a_change(signed_in, db):
    r = ask_email(signed_in, "ANNA@example.lv")
    assert r.status_code == 422 and 'id="email-error"' in r.get_data(as_text=True)
    assert ask_phone(signed_in, "21111111").status_code == 422
    assert models.ContactChange.select().count() == 0


def test_a_wrong_code_counts_and_the_sixth_try_is_dead(app, signed_in, mailbox, db, user):
    ask_email(signed_in)
    code = email_code(app, mailbox)
    for left in range(rules.CODE_MAX_ATTEMPTS - 1, 0, -1):
        r = confirm(signed_in, wrong(code))
        assert r.status_code == 422 and f": {left}." in r.get_data(as_text=True)
    r = confirm(signed_in, wrong(code))
    assert r.status_code == 422
    r = confirm(signed_in, code)  # the right one, too late
    assert r.status_code == 422
    assert models.User.get_by_id(user.id).email == EMAIL
    assert models.AuditLog.select().where(
        models.AuditLog.action == "settings.contact_code_failed").count() == rules.CODE_MAX_ATTEMPTS + 1


def test_an_expired_code_is_refused(app, signed_in, mailbox, db, user):
    ask_email(signed_in)
    code = email_code(app, mailbox)
    models.OneTimeCode.update(expires_at=models.utcnow() - timedelta(seconds=1)).execute()
    r = confirm(signed_in, code)
    assert r.status_code == 422 and 'id="code-error"' in r.get_data(as_text=True)
    assert models.User.get_by_id(user.id).email == EMAIL


def test_an_expired_change_starts_again(app, signed_in, mailbox, db, user):
    ask_email(signed_in)
    code = email_code(app, mailbox)
    models.ContactChange.update(
        created_at=models.utcnow() - rules.CONTACT_CHANGE_LIFETIME - timedelta(seconds=1)).execute()
    r = confirm(signed_in, code)
    assert r.status_code == 303 and r.headers["Location"].endswith("/settings")
    assert models.User.get_by_id(user.id).email == EMAIL


def test_a_used_code_cannot_be_used_again(app, signed_in, mailbox, db, user):
    ask_email(signed_in)
    code = email_code(app, mailbox)
    assert confirm(signed_in, code).status_code == 303
    again = confirm(signed_in, code)  # nothing waits for a code any more
    assert again.status_code == 303 and again.headers["Location"].endswith("/settings")
    row = models.OneTimeCode.get(models.OneTimeCode.purpose == "contact_email")
    assert row.used_at is not None and row.check(code) == rules.CODE_DEAD and not row.use()
    assert len(notifications(template="contact_changed", channel="email")) == 1


def test_a_new_code_replaces_the_old_one(app, signed_in, mailbox, db, user):
    ask_email(signed_in)
    first = email_code(app, mailbox)
    models.OneTimeCode.update(created_at=models.utcnow() - rules.CODE_RESEND_COOLDOWN).execute()
    r = post_form(signed_in, "/settings/contact/resend", {}, page="/settings/contact/confirm")
    assert r.status_code == 303
    second = email_code(app, mailbox)
    if first != second:
        assert confirm(signed_in, first).status_code == 422
    assert confirm(signed_in, second).status_code == 303
    assert models.User.get_by_id(user.id).email == NEW_EMAIL


def test_a_new_code_waits_a_minute(signed_in, db):
    ask_email(signed_in)
    r = post_form(signed_in, "/settings/contact/resend", {}, page="/settings/contact/confirm")
    assert r.status_code == 303
    assert "flash--error" in signed_in.get("/settings/contact/confirm").get_data(as_text=True)
    assert models.OneTimeCode.select().count() == 1


def test_a_second_change_ends_the_first(app, signed_in, mailbox, db, user):
    ask_email(signed_in)
    first = email_code(app, mailbox)
    ask_email(signed_in, "anna.other@example.lv")
    r = confirm(signed_in, first)  # the first change's code does not finish the second
    assert r.status_code == 422
    assert models.User.get_by_id(user.id).email == EMAIL


def test_without_csrf_nothing_happens(signed_in, db, user):
    r = signed_in.post("/settings/contact/email", data={"email": NEW_EMAIL, "password": PASSWORD})
    assert r.status_code == 400
    assert models.ContactChange.select().count() == 0


# --- A value another account has -----------------------------------------------------------

@pytest.mark.postgres
def test_a_taken_email_answers_as_a_free_one_and_its_holder_gets_a_notice(app, signed_in, mailbox, db, user):
    holder = create_user(app, email="berta@example.lv", phone="+37123333333")
    free = ask_email(signed_in, "free@example.lv")
    taken = ask_email(signed_in, "Berta@example.lv")
    assert (taken.status_code, taken.headers["Location"]) == (free.status_code, free.headers["Location"])
    page = signed_in.get("/settings/contact/confirm").get_data(as_text=True)
    assert "berta@example.lv" in page  # "we have sent a code to …", as for any address

    to_holder = notifications(recipient="berta@example.lv")
    assert [(n.template, n.user_id) for n in to_holder] == [("contact_taken", holder.id)]
    run_jobs(app)
    assert "stays with" in mailbox.last_text("berta@example.lv") or "paliek" in mailbox.last_text("berta@example.lv")
    assert not any(m.isdigit() and len(m) == 6 for m in mailbox.last_text("berta@example.lv").split())
    # The code exists (equal work), but nobody received it: whatever is tried fails.
    assert confirm(signed_in, "123456").status_code == 422
    assert models.User.get_by_id(holder.id).email == "berta@example.lv"
    assert models.User.get_by_id(user.id).email == EMAIL


def test_a_taken_phone_gets_a_notice_instead_of_a_code(app, signed_in, db, user):
    create_user(app, email="berta@example.lv", phone=NEW_PHONE)
    assert ask_phone(signed_in).status_code == 303
    assert [n.template for n in notifications(recipient=NEW_PHONE)] == ["contact_taken"]
    run_jobs(app)
    assert not any(ch.isdigit() for ch in sms_to(app, NEW_PHONE)[-1].replace("Kabinets", ""))


@pytest.mark.postgres
def test_a_value_taken_while_the_code_travelled_is_refused_without_a_500(app, signed_in, mailbox, db, user):
    ask_email(signed_in)
    code = email_code(app, mailbox)
    create_user(app, email=NEW_EMAIL, phone="+37123333333")  # registered meanwhile
    r = confirm(signed_in, code)
    assert r.status_code == 422 and "error-summary" in r.get_data(as_text=True)
    assert models.User.get_by_id(user.id).email == EMAIL
    assert notifications(template="contact_changed") == []
    assert not models.AuditLog.select().where(models.AuditLog.action == "settings.contact_changed").exists()


# --- Nobody else can confirm your change ---------------------------------------------------

def test_another_client_cannot_confirm_your_change(app, signed_in, mailbox, db, user):
    ask_email(signed_in)
    code = email_code(app, mailbox)
    token = models.ContactChange.get().token
    mallory = create_user(app, email="mallory@example.lv", phone="+37124444444")
    intruder = app.test_client()
    assert login(intruder, "mallory@example.lv").status_code == 303
    with intruder.session_transaction() as session:
        session["contact_change"] = token  # even with the victim's token in hand
    r = confirm(intruder, code)
    assert r.status_code == 303 and r.headers["Location"].endswith("/settings")
    assert models.User.get_by_id(mallory.id).email == "mallory@example.lv"
    assert models.User.get_by_id(user.id).email == EMAIL
    assert models.OneTimeCode.get().used_at is None
    assert confirm(signed_in, code).status_code == 303  # the owner still can
    assert models.User.get_by_id(user.id).email == NEW_EMAIL


def test_a_signed_out_visitor_cannot_confirm(app, signed_in, mailbox, db, user):
    ask_email(signed_in)
    code = email_code(app, mailbox)
    stranger = app.test_client()
    r = post_form(stranger, "/settings/contact/confirm", {"code": code}, page="/login")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert models.User.get_by_id(user.id).email == EMAIL


# --- Throttling -----------------------------------------------------------------------------

def test_password_guesses_from_a_stolen_session_are_throttled_but_the_owner_goes_on(app, signed_in, db, user):
    """A copy of the session cookie without the owner's device cookie spends the account's
    budget; the owner's browser (a known device) has its own."""
    assert signed_in.get_cookie(DEVICE_COOKIE) is not None
    thief = app.test_client()
    cookie = signed_in.get_cookie(app.config["SESSION_COOKIE_NAME"])
    thief.set_cookie(cookie.key, cookie.value)
    thief.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    for _ in range(budgets.CONTACT_CHANGE_PER_ACCOUNT.amount):
        assert ask_email(thief, password=WRONG).status_code == 422
    refused = ask_email(thief, password=WRONG)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert ask_email(thief).status_code == 429  # the right password too: refused before the check
    assert models.AuditLog.select().where(models.AuditLog.action == "auth.throttled").count() == 1
    assert ask_email(signed_in).status_code == 303  # the owner, from their own browser


def test_codes_to_one_new_address_are_capped(app, signed_in, db):
    for _ in range(budgets.CONTACT_CHANGE_MESSAGES_PER_TARGET.amount):
        assert ask_email(signed_in).status_code == 303
    r = ask_email(signed_in)
    assert r.status_code == 429
    assert len(notifications(recipient=NEW_EMAIL)) == budgets.CONTACT_CHANGE_MESSAGES_PER_TARGET.amount


# --- With htmx ----------------------------------------------------------------------------

def test_with_htmx_the_steps_swap_fragments_and_the_end_is_a_whole_page(app, signed_in, mailbox, db, user):
    hx = {"HX-Request": "true"}
    step1 = signed_in.get("/settings/contact/email", headers=hx).get_data(as_text=True)
    assert "<html" not in step1 and 'id="contact-change"' in step1
    r = ask_email(signed_in, headers=hx, follow_redirects=True)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in html and 'name="code"' in html
    bad = confirm(signed_in, "000000" if email_code(app, mailbox) != "000000" else "111111", headers=hx)
    assert bad.status_code == 422 and "<html" not in bad.get_data(as_text=True)
    r = confirm(signed_in, mailbox.last_code(NEW_EMAIL), headers=hx)
    assert r.status_code == 200 and '"/settings"' in r.headers["HX-Location"]
    assert models.User.get_by_id(user.id).email == NEW_EMAIL


def make_stale(client, minutes=10):
    """The session signed in ``minutes`` ago (beyond the step-up window), active a moment ago."""
    import time
    with client.session_transaction() as session:
        session["login_at"] = session["authenticated_at"] = time.time() - minutes * 60
        session["seen_at"] = time.time()


def test_a_contact_change_needs_a_fresh_sign_in(app, signed_in, db):
    """Issue 12's step-up: a session that signed in longer ago than the window is sent to
    confirm (password or e-identity) first, and changes nothing meanwhile."""
    make_stale(signed_in)
    page = signed_in.get("/settings/contact/email")
    assert page.status_code == 303 and page.headers["Location"].endswith("/signin/confirm?next=/settings/contact/email")
    r = ask_email(signed_in, headers={"Referer": "http://localhost/settings/contact/email"})
    assert r.status_code == 303 and "/signin/confirm?next=/settings/contact/email" in r.headers["Location"]
    r = ask_phone(signed_in)
    assert r.status_code == 303 and "/signin/confirm" in r.headers["Location"]
    assert models.ContactChange.select().count() == 0 and notifications() == []
    confirmed = post_form(signed_in, "/signin/confirm?next=/settings/contact/email", {"password": PASSWORD})
    assert confirmed.status_code == 303 and confirmed.headers["Location"] == "/settings/contact/email"
    assert ask_email(signed_in).status_code == 303
    assert models.ContactChange.select().count() == 1


def test_a_session_within_the_step_up_window_goes_straight_on(app, signed_in, db):
    make_stale(signed_in, minutes=STEP_UP_WINDOW.total_seconds() / 60 - 1)
    assert signed_in.get("/settings/contact/phone").status_code == 200
    assert ask_email(signed_in).status_code == 303


# --- The domain, without a request ----------------------------------------------------------

def test_a_code_finishes_one_change_only(app, user, db):
    """Two requests with the same right code at once: the code is used once, so the second
    (which read it before the first used it) changes nothing and sends no second notice."""
    with app.app_context():
        with models.action():
            change = models.ContactChange.start(user, "email", NEW_EMAIL)
        code = models.OneTimeCode.latest(change.purpose, contact_change=change)
        with models.action():
            assert change.complete(code) == EMAIL
        with models.action():
            assert change.complete(code) is None
    assert len(notifications(template="contact_changed", channel="email")) == 1
    assert models.User.get_by_id(user.id).session_version == 2


@pytest.mark.parametrize("template, channel", [(t, c) for t in ("contact_code", "contact_taken", "contact_changed")
                                               for c in ("email", "sms")])
@pytest.mark.parametrize("language", ["lv", "en"])
def test_the_messages_render_in_each_language(app, user, db, template, channel, language):
    from tasks.notifications import render_notification
    params = {"contact_code": {"code": "123456"}, "contact_taken": {},
              "contact_changed": {"contact": "email" if channel == "email" else "phone", "new": "a***@example.lv"}}
    with app.app_context():
        with models.action():
            row = models.Notification.queue(channel, "x@example.lv" if channel == "email" else PHONE, template,
                                            language=language, user=user, **params[template])
        subject, text, _html = render_notification(row)
    assert text and "%(" not in text and (channel == "sms" or subject)
    assert params[template].get("code", "") in text and params[template].get("new", "") in text


def test_stale_changes_are_cleaned_away(app, user, db):
    with app.app_context():
        with models.action():
            models.ContactChange.start(user, "email", NEW_EMAIL)
        later = models.utcnow() + rules.CONTACT_CHANGE_LIFETIME + timedelta(seconds=1)
        assert models.clean_expired(later) == 1
    assert models.ContactChange.select().count() == 0 and models.OneTimeCode.select().count() == 0


HOSTILE = ["", " ", "\x00", "9" * 40, "ā" * 3000, "x" * 70000, "<script>alert(1)</script>", "' OR 1=1 --",
           "\u202e\u2066evil", "+37120000001", "klients@kabinets.test", "a@b", "00371 2222 2222"]


def test_hostile_input_never_answers_500(app, signed_in, db):
    for value in HOSTILE:
        for url, data in [("/settings/contact/email", {"email": value, "password": value}),
                          ("/settings/contact/phone", {"phone_region": value, "phone": value, "password": value}),
                          ("/settings/contact/phone", {"phone_region": "LV", "phone": value, "password": PASSWORD}),
                          ("/settings/contact/confirm", {"code": value}),
                          ("/settings/contact/resend", {"x": value})]:
            r = post_form(signed_in, url, data, page="/settings")
            assert r.status_code < 500, (url, value, r.status_code)
    assert signed_in.get("/settings/contact/mobile").status_code == 404
