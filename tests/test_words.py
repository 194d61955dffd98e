"""The words the portal shows (issue 11): the institution's terms, sizes people read, labels
instead of codes."""
import io
import re
from datetime import datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale

import models
from conftest import PASSWORD, assign_clients, create_user, login, post_form
from uploads import format_size

ROOT = Path(__file__).resolve().parent.parent


def latvian_catalogue():
    with open(ROOT / "translations" / "lv" / "LC_MESSAGES" / "messages.po", "rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in read_po(f) if m.id}


def test_latvian_says_fails_for_a_file_never_datne():
    """One term in one field: the institution's documents (the seeds 000 and 004) say "fails",
    "failu", "failā" and never "datne"; the portal said both, sometimes in one upload field."""
    mixed = [(i, s) for i, s in latvian_catalogue().items()
             if re.search(r"\bdatn", " ".join(s if isinstance(s, tuple) else (s,)), re.I)]
    assert mixed == []


@pytest.mark.parametrize("size, lv, en", [
    (15, "15 B", "15 B"),
    (1023, "1023 B", "1023 B"),
    (1024, "1 KB", "1 KB"),
    (1536, "1,5 KB", "1.5 KB"),
    (640 * 1024 + 300, "640 KB", "640 KB"),
    (1024 * 1024 - 1, "1 MB", "1 MB"),
    (int(2.25 * 1024 * 1024), "2,2 MB", "2.2 MB"),
    (20 * 1024 * 1024, "20 MB", "20 MB"),
    (150 * 1024 * 1024, "150 MB", "150 MB"),
])
def test_sizes_read_as_people_write_them(app, size, lv, en):
    with app.test_request_context("/"):
        with force_locale("lv"):
            assert format_size(size) == lv
        with force_locale("en"):
            assert format_size(size) == en


def test_a_15_byte_attachment_shows_15_bytes_not_1_kb(app, client):
    create_user(app)
    login(client, "anna@example.lv")
    r = post_form(client, "/messages/new", {"body": "Pielikumā piezīme.",
                                           "files": (io.BytesIO(b"piecpadsmit b.\n"), "piezime.txt")},
                  content_type="multipart/form-data")
    assert r.status_code == 303, r.get_data(as_text=True)
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "piezime.txt</a> <span class=\"muted small\">(15 B)</span>" in page


def test_the_staff_thread_says_who_started_it_in_latvian(app, client):
    create_user(app, full_name="Anna Liepa")
    create_user(app, email="konsultante@example.lv", phone="+37123333333", staff_role="consultant")
    assign_clients(app, "konsultante@example.lv")
    login(client, "anna@example.lv")
    r = post_form(client, "/messages/new", {"subject": "Jautājums", "body": "Labdien!"})
    thread = r.headers["Location"].rsplit("/", 1)[1]
    staff = app.test_client()
    login(staff, "konsultante@example.lv")
    page = staff.get(f"/staff/messages/{thread}").get_data(as_text=True)
    assert re.search(r"<dt>Izveidoja</dt><dd>Anna Liepa", page), "“Started by” reads “Izveidoja”"


def previous_sign_in(client):
    found = re.search(r"Iepriekšējā pieslēgšanās: ([\d.]+ [\d:]+)\.", client.get("/dashboard").get_data(as_text=True))
    return found and found.group(1)


def test_the_dashboard_shows_the_sign_in_before_this_one(app):
    """Not the sign-in that started this session: the one before it, kept for the session
    (another browser signing in later does not change it, nor does a password change)."""
    user = create_user(app)
    laptop, phone, tablet = app.test_client(), app.test_client(), app.test_client()
    login(laptop, "anna@example.lv")
    assert previous_sign_in(laptop) is None  # the first sign-in ever
    with app.app_context(), models.db.connection_context():
        models.User.update(last_login_at=datetime(2026, 11, 20, 8, 15)).where(models.User.id == user.id).execute()
    login(phone, "+37121111111")
    assert previous_sign_in(phone) == "20.11.2026 10:15"  # in Riga
    assert previous_sign_in(laptop) is None  # not the phone's sign-in either
    login(tablet, "anna@example.lv")
    assert previous_sign_in(tablet) not in (None, "20.11.2026 10:15")  # the phone's, a moment ago
    r = post_form(phone, "/password/change", {"current_password": PASSWORD, "password": "Jauna-Parole-42?",
                                              "confirm": "Jauna-Parole-42?"})
    assert r.status_code == 303, r.get_data(as_text=True)[-2000:]
    assert previous_sign_in(phone) == "20.11.2026 10:15"


# --- The audit log in words -----------------------------------------------------------------

AUDIT_CALL = re.compile(r"""(?:\baudit|AuditLog\.record)\(\s*(f?)["']([^"']+)["']""")


def audit_codes_written():
    """Every action code the code base writes to the audit log (f-strings as families)."""
    codes = set()
    for path in ROOT.glob("**/*.py"):
        if any(part in (".venv", "tests", "migrations") for part in path.relative_to(ROOT).parts):
            continue
        for is_f, code in AUDIT_CALL.findall(path.read_text()):
            codes.add(code)
    return codes


def test_every_audit_action_the_code_writes_has_words():
    from forms.staff import DECISIONS
    from rules import audit as words
    from rules import documents as R
    codes = audit_codes_written()
    assert {"login.success", "password.reset", "document.{action}", "notification.{decision}"} <= codes
    families = {"document.{action}": [f"document.{a}" for a in (*R.CLIENT_ACTIONS, *R.STAFF_ACTIONS)],
                "notification.{decision}": [f"notification.{d}" for d in DECISIONS]}
    expanded = {c for code in codes for c in families.get(code, [code])}
    assert sorted(c for c in expanded if c not in words.ACTION_LABELS) == []


def test_the_audit_log_shows_actions_and_details_in_words(app, client):
    create_user(app)
    create_user(app, email="vaditajs@example.lv", phone="+37123333334", staff_role="supervisor")
    login(client, "anna@example.lv")
    assert post_form(client, "/settings", {"language": "en", "notify_email": "y"}).status_code == 303
    with app.app_context(), models.db.connection_context():
        models.AuditLog.record("document.submit", user=models.User.get(models.User.email == "anna@example.lv"),
                               document=12, status="processing")
        models.AuditLog.record("something.new", actor="cli", tally=3, ok=True, who={"a": 1})
    supervisor = app.test_client()
    login(supervisor, "vaditajs@example.lv")
    page = supervisor.get("/staff/audit").get_data(as_text=True)
    rows = {re.sub(r"<[^>]+>", "|", row) for row in re.findall(r"<tr><td[ >].*?</tr>", page)}
    text = "\n".join(" ".join(row.split()) for row in rows)
    assert "|Mainīti iestatījumi||settings.profile_changed|" in text
    assert "Mainīts: Saziņas valoda, Īsziņa" in text
    assert "|Dokuments: Iesniegts||document.submit|" in text and "Dokuments: Nr. 12; Statuss: Apstrādē" in text
    assert "|Ienāca portālā||login.success|" in text
    assert "|something.new|" in text and "ok: Jā; tally: 3; who: a: 1" in text  # an unknown code as it is
    assert not re.search(r"[\[\]{}]|&#39;", text), text  # no JSON, no Python lists
