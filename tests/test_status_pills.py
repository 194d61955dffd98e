"""Statuses by meaning (issue 11): every status of a document, a thread and a notification
means "waiting for you", "with the institution", "done" or "refused"; the pages give
statuses of different meaning different classes, and the stylesheet a colour and a sign each."""
import re
from pathlib import Path

import pytest

import models
from conftest import create_user, login
from models.documents import Document
from rules import documents as D
from rules import identification as I
from rules import outbox
from rules import status as S

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("kind, statuses", [(S.DOCUMENT, D.STATUSES), (S.NOTIFICATION, outbox.STATUSES),
                                            (S.THREAD, S.THREAD_STATUSES), (S.IDENTIFICATION, I.STATUSES)])
def test_every_status_has_a_meaning(kind, statuses):
    for status in statuses:
        assert S.meaning(kind, status) in S.MEANINGS, (kind, status)
    assert set(S.TABLES[kind]) == set(statuses), f"the {kind} table names statuses that do not exist"


def test_every_meaning_is_used():
    used = {m for table in S.TABLES.values() for m in table.values()}
    assert used == set(S.MEANINGS)


@pytest.mark.parametrize("status", D.STATUSES)
@pytest.mark.parametrize("question_open", [False, True])
def test_a_document_waits_for_you_exactly_when_the_client_must_act(status, question_open):
    waits_for_you = S.meaning(S.DOCUMENT, status, question_open) == S.ACTION
    assert waits_for_you == D.client_must_act(status, question_open)


def test_statuses_that_looked_alike_now_differ():
    assert S.css_class(S.DOCUMENT, D.INFO_NEEDED) == "status status--action"
    assert S.css_class(S.DOCUMENT, D.SIGNED) == "status status--done"
    assert S.css_class(S.DOCUMENT, D.PROCESSING) == "status status--institution"
    assert S.css_class(S.DOCUMENT, D.READY, question_open=True) == "status status--institution"
    assert S.css_class(S.NOTIFICATION, outbox.FAILED) == "status status--refused"


def test_a_thread_with_an_unread_reply_waits_for_you():
    assert S.thread_status(is_waiting=False, unread=2) == S.THREAD_UNREAD
    assert S.thread_status(is_waiting=True) == S.THREAD_WAITING
    assert S.thread_status(is_waiting=False) == S.THREAD_ANSWERED


def test_the_stylesheet_gives_every_meaning_a_colour_and_a_sign():
    css = (ROOT / "static" / "portal.css").read_text()
    signs, colours = set(), set()
    for m in S.MEANINGS:
        rule = re.search(r"\.status--%s\s*\{([^}]*)\}" % m, css)
        sign = re.search(r"\.status--%s::before\s*\{[^}]*content:\s*\"([^\"]+)\"" % m, css)
        assert rule and sign, f"static/portal.css has no colour or sign for status--{m}"
        colours.add(re.search(r"(?:^|;)\s*color:\s*([^;]+)", rule.group(1)).group(1).strip())
        signs.add(sign.group(1))
    assert len(colours) == len(signs) == len(S.MEANINGS)


def _relative_luminance(hex_colour):
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_every_pill_colour_has_at_least_4_5_to_1_contrast_with_its_background():
    css = (ROOT / "static" / "portal.css").read_text()
    for m in S.MEANINGS:
        rule = re.search(r"\.status--%s\s*\{([^}]*)\}" % m, css).group(1)
        ink = re.search(r"(?:^|;)\s*color:\s*(#[0-9a-f]{6})", rule).group(1)
        paper = re.search(r"background:\s*(#[0-9a-f]{6})", rule).group(1)
        light, dark = sorted((_relative_luminance(ink), _relative_luminance(paper)), reverse=True)
        ratio = (light + 0.05) / (dark + 0.05)
        assert ratio >= 4.5, f"status--{m}: {ink} on {paper} is {ratio:.2f}:1"


def test_the_documents_list_gives_statuses_of_different_meaning_different_classes(app, client):
    user = create_user(app, email="anna@example.lv", phone="+37121111111")
    staff = create_user(app, email="staff@example.lv", phone="+37122222222", staff_role="consultant")
    with app.app_context():
        membership = models.Membership.get(models.Membership.user == user.id)
        waiting = Document.start(membership.client, "loan_application", user)
        with_us = Document.start(membership.client, "loan_application", user)
        with_us.transition(D.SUBMIT, by=user, values={"amount": "100", "term_months": "12", "purpose": "Jumts"})
        asked = Document.start(membership.client, "loan_application", user)
        asked.transition(D.SUBMIT, by=user, values={"amount": "100", "term_months": "12", "purpose": "Jumts"})
        asked.transition(D.REQUEST_INFO, by=staff, comments={"purpose": "Kāds jumts?"})
    login(client, "anna@example.lv")
    html = client.get("/documents").get_data(as_text=True)

    def pill(document):
        match = re.search(r'<span class="([^"]+)" id="document-%d-status"' % document.id, html)
        assert match, f"no status pill for document {document.id}"
        return match.group(1)

    assert pill(waiting) == pill(asked) == "status status--action"
    assert pill(with_us) == "status status--institution"
    shown = client.get(f"/documents/{asked.id}").get_data(as_text=True)
    assert 'class="status status--action" id="document-status"' in shown
