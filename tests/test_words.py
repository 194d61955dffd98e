"""The words the portal shows (issue 11): the institution's terms, sizes people read, labels
instead of codes."""
import re
from pathlib import Path

from babel.messages.pofile import read_po

from conftest import create_user, login, post_form

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


def test_the_staff_thread_says_who_started_it_in_latvian(app, client):
    create_user(app, full_name="Anna Liepa")
    create_user(app, email="konsultante@example.lv", phone="+37123333333", staff_role="consultant")
    login(client, "anna@example.lv")
    r = post_form(client, "/messages/new", {"subject": "Jautājums", "body": "Labdien!"})
    thread = r.headers["Location"].rsplit("/", 1)[1]
    staff = app.test_client()
    login(staff, "konsultante@example.lv")
    page = staff.get(f"/staff/messages/{thread}").get_data(as_text=True)
    assert re.search(r"<dt>Izveidoja</dt><dd>Anna Liepa", page), "“Started by” reads “Izveidoja”"
