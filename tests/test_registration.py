"""Registration in three steps (seed 004 §2): through the Flask client, codes from real messages."""
import re

import pytest

import models
import rules
from conftest import PASSWORD, create_user, last_sms_code, post_form, register, run_jobs


def step1(client, **overrides):
    data = {"client_type": "natural", "citizenship": "LV", "accept_privacy": "y", "accept_terms": "y"}
    data.update(overrides)
    return post_form(client, "/register", data)


def step2(client, email="jana@example.lv", phone="20000111", password=PASSWORD, confirm=None):
    return post_form(client, "/register/contact", {
        "email": email, "phone_region": "LV", "phone": phone,
        "password": password, "confirm": confirm or password})


@pytest.mark.postgres
def test_natural_person_registers_with_codes_from_email_and_sms(client, app, mailbox, db):
    r = register(client, app, mailbox)
    assert r.headers["Location"].endswith("/dashboard")
    user = models.User.get(models.User.email == "jana@example.lv")
    assert user.phone == "+37120000111"
    membership = models.Membership.get(models.Membership.user == user)
    assert membership.role == rules.SELF and membership.client.kind == rules.NATURAL
    assert membership.client.citizenship == "LV"
    consents = {c.document: c.version for c in user.consents}
    assert consents == {"privacy": rules.LEGAL_DOCUMENTS["privacy"]["version"],
                        "terms": rules.LEGAL_DOCUMENTS["terms"]["version"]}
    assert models.AuditLog.get_or_none(models.AuditLog.action == "registration.completed", models.AuditLog.user == user)
    page = client.get("/dashboard")
    assert page.status_code == 200 and "jana@example.lv" in page.get_data(as_text=True)


@pytest.mark.postgres
def test_legal_person_registrant_becomes_first_user_without_manage_rights(client, app, mailbox, db):
    register(client, app, mailbox, client_type="legal")
    user = models.User.get(models.User.email == "jana@example.lv")
    membership = models.Membership.get(models.Membership.user == user)
    assert membership.client.kind == rules.LEGAL and membership.client.country == "LV"
    assert membership.role == rules.REGISTRANT
    assert not membership.can_manage_users and membership.can_documents


def test_step_one_requires_both_acceptances_and_citizenship(client):
    r = step1(client, accept_privacy="", accept_terms="", citizenship="")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="error-summary"' in html
    assert html.count("field-error") >= 3


def field_error(html, field):
    """The text of a field's error message ("" when the field has none)."""
    match = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', html, re.S)
    return " ".join(match.group(1).split()) if match else ""


def test_second_citizenship_must_differ(client, db):
    r = step1(client, citizenship="LV", citizenship2="LV")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert field_error(html, "citizenship2") == "Otrajai pilsonībai jāatšķiras no pirmās."
    assert field_error(html, "citizenship") == ""  # the first one is fine
    assert models.PendingRegistration.select().count() == 0
    assert step1(client, citizenship="LV", citizenship2="EE").status_code == 303


def test_contact_step_cannot_be_skipped(client):
    r = client.get("/register/contact")
    assert r.status_code == 302 and r.headers["Location"].endswith("/register")
    r = client.get("/register/confirm")
    assert r.status_code == 302


def test_weak_password_is_refused_with_each_rule(client):
    step1(client)
    r = step2(client, password="password")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    # Each broken rule is named (Latvian): a digit, an upper-case letter, a symbol.
    assert field_error(html, "password") == (
        "Pievienojiet ciparu. Pievienojiet lielo burtu. Pievienojiet simbolu, piemēram, ! ? # vai %.")
    assert 'value="password"' not in html  # never echo a password


def test_common_password_refused_even_dressed_up(client):
    step1(client)
    r = step2(client, password="Password1!")
    assert r.status_code == 422
    assert field_error(r.get_data(as_text=True), "password") == (
        "Šī parole ir pārāk izplatīta; izvēlieties tādu, ko grūtāk uzminēt.")


@pytest.mark.postgres
def test_long_password_of_64_characters_is_accepted_untruncated(client, app, mailbox, db):
    long_password = "Aa1!" + "x" * 60
    step1(client)
    assert step2(client, password=long_password).status_code == 303
    pending = models.PendingRegistration.select().first()
    assert models.password_matches(pending.password_hash, long_password)
    assert not models.password_matches(pending.password_hash, long_password[:63])


def test_mismatched_passwords_and_bad_phone_give_field_errors(client):
    step1(client)
    r = step2(client, phone="12", confirm="Other-Password-9!")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="phone-error"' in html and 'id="confirm-error"' in html


def test_htmx_step_returns_only_the_step_fragment(client):
    r = client.get("/register", headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert html.lstrip().startswith("<section") or "<html" not in html
    assert 'id="registration-step"' in html
    full = client.get("/register").get_data(as_text=True)
    assert "<html" in full and 'id="registration-step"' in full


def test_back_shows_saved_answers(client):
    step1(client, citizenship="EE")
    html = client.get("/register").get_data(as_text=True)
    assert re.search(r'<option selected value="EE"|<option value="EE" selected', html)


@pytest.mark.postgres
def test_wrong_code_counts_tries_and_locks_after_five(client, app, mailbox, db):
    step1(client)
    step2(client)
    run_jobs(app)
    good_sms = last_sms_code(app, "+37120000111")
    for attempt in range(rules.CODE_MAX_ATTEMPTS):
        r = post_form(client, "/register/confirm", {"email_code": "000000" if mailbox.last_code("jana@example.lv") != "000000" else "111111",
                                                    "sms_code": good_sms})
        assert r.status_code == 422
    r = post_form(client, "/register/confirm", {"email_code": mailbox.last_code("jana@example.lv"), "sms_code": good_sms})
    assert r.status_code == 422
    assert not models.User.select().exists()


@pytest.mark.postgres
def test_resend_waits_for_the_cooldown_then_sends_a_new_code(client, app, mailbox, db):
    step1(client)
    step2(client)
    run_jobs(app)
    first = mailbox.last_code("jana@example.lv")
    r = post_form(client, "/register/resend/email", {}, page="/register/confirm")
    assert r.status_code == 303
    assert len(mailbox.to("jana@example.lv")) == 1  # refused: cooldown
    models.OneTimeCode.update(created_at=models.utcnow() - rules.CODE_RESEND_COOLDOWN).execute()
    post_form(client, "/register/resend/email", {}, page="/register/confirm")
    run_jobs(app)
    assert len(mailbox.to("jana@example.lv")) == 2
    second = mailbox.last_code("jana@example.lv")
    r = post_form(client, "/register/confirm", {"email_code": first, "sms_code": last_sms_code(app, "+37120000111")})
    assert r.status_code == 422 or first == second


def test_codes_are_stored_hashed(client, app, mailbox, db):
    step1(client)
    step2(client)
    run_jobs(app)
    code = mailbox.last_code("jana@example.lv")
    for row in models.OneTimeCode.select():
        assert code not in row.code_hash
    # the outbox row no longer holds the code once sent
    for n in models.Notification.select():
        assert n.status == "sent" and n.params == ""


def test_codes_are_drawn_from_the_os_random_source_and_die_ten_minutes_after_they_were_sent(
        client, app, mailbox, db, monkeypatch):
    """ASVS 6.5.3 (a CSPRNG: ``secrets``) and 6.5.5 (out-of-band codes live at most 10 minutes)."""
    import secrets
    from datetime import timedelta
    draw = secrets.randbelow
    monkeypatch.setattr(secrets, "randbelow", lambda n: 123456 if n == 10 ** rules.CODE_DIGITS else draw(n))
    step1(client)
    step2(client)
    run_jobs(app)
    assert mailbox.last_code("jana@example.lv") == "123456"
    codes = list(models.OneTimeCode.select())
    assert len(codes) == 2 and all(c.expires_at - c.created_at <= timedelta(minutes=10) for c in codes)
    for code in codes:  # ten minutes and a second later
        code.created_at -= rules.CODE_LIFETIME + timedelta(seconds=1)
        code.expires_at -= rules.CODE_LIFETIME + timedelta(seconds=1)
        code.save()
    r = post_form(client, "/register/confirm", {"email_code": "123456",
                                                "sms_code": last_sms_code(app, "+37120000111")})
    assert r.status_code == 422
    assert not models.User.select().exists()


def test_a_code_works_once(app, db):
    """ASVS 6.5.1: a right code, once used, is dead; a second use is refused even in a race."""
    with app.app_context():
        code, plain = models.OneTimeCode.issue("reset", "email", "anna@example.lv")
        assert code.check(plain) == rules.CODE_OK and code.use()
        again = models.OneTimeCode.get_by_id(code.id)
        assert again.check(plain) == rules.CODE_DEAD
        assert not again.use()


@pytest.mark.postgres
def test_registering_an_existing_email_does_not_reveal_it_and_cannot_finish(client, app, mailbox, db):
    create_user(app, email="jana@example.lv", phone="+37121111111")
    step1(client)
    r = step2(client)
    assert r.status_code == 303  # same answer as for a new address
    run_jobs(app)
    assert "already has an account" in mailbox.last_text("jana@example.lv") or \
        "jau ir konts" in mailbox.last_text("jana@example.lv")
    assert not re.search(r"\b\d{6}\b", mailbox.last_text("jana@example.lv"))


def test_codes_to_one_phone_are_rate_limited_across_registrations(app):
    for n in range(5):
        c = app.test_client()
        step1(c)
        assert step2(c, email=f"person{n}@example.lv").status_code == 303
    c = app.test_client()
    step1(c)
    r = step2(c, email="person9@example.lv")
    assert r.status_code == 429
    # "Too many codes were requested. Try again in %(n)d minutes." in Latvian; 5 per hour.
    html = r.get_data(as_text=True)
    wait = re.search(r"Pieprasīts pārāk daudz kodu\. Mēģiniet vēlreiz pēc (\d+) min\.", html)
    assert wait, "the 429 page says when to try again"
    assert 50 <= int(wait.group(1)) <= 60
    assert 'id="registration-step"' in html and 'name="phone"' in html  # the contact step stays


# --- The country lists: rendered once per language, each request marks its own choice -------------

def _selected(html, name):
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r"<option selected value=\"([^\"]*)\">", select)


def test_country_options_are_rendered_once_per_language_and_each_page_marks_its_own_choice(
        client, monkeypatch):
    from forms.fields import SharedOptionsSelect
    rendered, render_option = [], SharedOptionsSelect.render_option.__func__
    monkeypatch.setattr(SharedOptionsSelect, "render_option", classmethod(
        lambda cls, choice, **kw: rendered.append(choice.value) or render_option(cls, choice, **kw)))
    client.get("/register")  # may render the lists (or find them rendered by an earlier test)
    rendered.clear()
    page = client.get("/register").get_data(as_text=True)
    assert rendered == []  # every option from the cache (nothing is chosen yet)
    assert page.count("<option ") == 3 * (len(rules.countries("lv")) + 1)
    assert '<option value="DE">Vācija</option>' in page and "Germany" not in page
    r = step1(client, citizenship="DE", citizenship2="", accept_terms="")  # refused: the form again
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and sorted(rendered) == ["", "DE"]  # only the chosen options again
    assert _selected(html, "citizenship") == ["DE"] and _selected(html, "citizenship2") == [""]
    assert _selected(html, "country") == []
    post_form(client, "/language", {"lang": "en"}, page="/register")
    english = client.get("/register").get_data(as_text=True)
    assert '<option value="DE">Germany</option>' in english and "Vācija" not in english
    assert _selected(english, "citizenship") == [] and "— choose —" in english
    latvian = client.application.test_client().get("/register").get_data(as_text=True)  # another visitor
    assert '<option value="DE">Vācija</option>' in latvian and "Germany" not in latvian


@pytest.mark.parametrize("data", [None, "", "LV", "DE", "XX"])
def test_a_shared_country_select_renders_what_wtforms_renders(app, data):
    from wtforms.widgets import Select

    from forms.registration import ClientForm
    with app.test_request_context("/register"):
        for locale in ("lv", "en"):
            form = ClientForm(formdata=None)
            form.set_choices(locale)
            for field in (form.citizenship, form.citizenship2, form.country):
                field.data = data
                assert field.shared_key[1] == locale
                assert str(field(**{"aria-invalid": "true"})) == str(Select()(field, **{"aria-invalid": "true"}))
