"""Bidirectional controls (U+202A–U+202E, U+2066–U+2069) typed into the portal are not stored,
and none is shown, stored before or not; passwords are taken as typed."""
import models
from conftest import PASSWORD, create_user, login, post_form
from models.documents import Document
from models.messages import CLIENT as FROM_CLIENT, Thread
from rules.sanitize import BIDI_CONTROLS

RLO, LRI, PDI = "\u202e", "\u2066", "\u2069"


def has_bidi(text):
    return any(c in BIDI_CONTROLS for c in text)


def test_a_message_is_stored_without_bidi_controls(client, app, db):
    create_user(app)
    login(client, "anna@example.lv")
    r = post_form(client, "/messages/new", {"subject": f"Rēķins {RLO}fdp.exe",
                                            "body": f"Skatiet https://banka.lv/{RLO}nigol un {LRI}x{PDI}"})
    assert r.status_code == 303, r.get_data(as_text=True)
    thread = Thread.get()
    assert thread.subject == "Rēķins fdp.exe"
    assert thread.messages[0].body == "Skatiet https://banka.lv/nigol un x"
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert not has_bidi(page)


def test_questionnaire_answers_are_stored_without_bidi_controls(client, app, db):
    create_user(app)
    with app.app_context():
        user = models.User.get()
        client_row = models.Membership.get(models.Membership.user == user).client
        document = Document.start(client_row, "loan_application", user)
    login(client, "anna@example.lv")
    r = post_form(client, f"/documents/{document.id}/edit",
                  {"action": "save", "amount": "1000", "term_months": "12",
                   "purpose": f"Remonts {RLO}lv.ecnanif//:sptth"},
                  page=f"/documents/{document.id}/edit", content_type="multipart/form-data")
    assert r.status_code == 303, r.get_data(as_text=True)
    assert Document.get_by_id(document.id).values["purpose"] == "Remonts lv.ecnanif//:sptth"


def test_text_stored_before_the_fix_is_shown_without_bidi_controls(client, app, db):
    create_user(app, full_name=f"Anna {RLO}apiL")
    user = models.User.get()
    client_row = models.Membership.get(models.Membership.user == user).client
    thread = Thread.create(client=client_row, created_by=user, subject=f"Līgums {RLO}fdp.exe")
    thread.add_message(FROM_CLIENT, author=user, body=f"Teksts {LRI}ar{PDI} vadību {RLO}x")
    login(client, "anna@example.lv")
    for url in ("/messages", f"/messages/{thread.id}", "/dashboard", "/settings"):
        r = client.get(url)
        assert r.status_code == 200, url
        assert not has_bidi(r.get_data(as_text=True)), url


def test_passwords_keep_what_was_typed(client, app, db):
    create_user(app, password=PASSWORD + RLO)
    assert login(client, "anna@example.lv", PASSWORD).status_code == 422
    assert login(client, "anna@example.lv", PASSWORD + RLO).status_code == 303
