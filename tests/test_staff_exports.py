"""The staff notification log (filters, paging by key, send again) and the CSV exports of the
audit log and of the documents and messages queues (escaping, Latvian letters, audited)."""
import csv
import io

import pytest

import models
from conftest import create_user, login, post_form, run_jobs
from models.documents import Document
from models.messages import Thread
from rules import export


def queue_one(app, template="password_changed", channel="email", recipient="anna@example.lv", user=None, **params):
    with app.app_context():
        return models.Notification.queue(channel, recipient, template, user=user, **params)


def supervisor(client, app, role="supervisor"):
    create_user(app, email="vaditajs@example.lv", phone="+37123333334", staff_role=role)
    login(client, "vaditajs@example.lv")


def read_csv(response):
    body = response.get_data()
    assert body.startswith("\ufeff".encode())  # the BOM, so Excel reads UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


# --- rules.export ----------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_that_starts_like_a_formula_is_neutralised(value):
    assert export.cell(value) == "'" + value


def test_other_cells_stay_as_they_are_and_the_limit_holds():
    assert export.cell("Ādažu iela 1") == "Ādažu iela 1" and export.cell(None) == "" and export.cell(12) == "12"
    lines = list(export.lines(("a",), ([n] for n in range(10)), limit=3))
    assert len(lines) == 4 and lines[0] == "\ufeffa\r\n"


@pytest.mark.postgres
# --- The notification log -------------------------------------------------------------------

def test_the_log_shows_every_notification_with_its_state_and_no_secret(client, app, db):
    anna = create_user(app)
    failed = queue_one(app, recipient="neizdevas@example.lv", user=anna, template="reset_code", code="918273")
    models.Notification.update(status="failed", attempts=5, error="550 mailbox unavailable").where(
        models.Notification.id == failed.id).execute()
    queue_one(app, recipient="anna@example.lv", user=anna)
    queue_one(app, recipient="svesais@example.lv", template="reset_code")  # to nobody known: still logged
    with app.app_context():
        models.Notification.queue_nowhere("email", "nav@example.lv", "reset_code", code="1")
    supervisor(client, app)
    page = client.get("/staff/notification-log").get_data(as_text=True)
    assert "neizdevas@example.lv" in page and "550 mailbox unavailable" in page and "anna@example.lv" in page
    assert "918273" not in page and "nav@example.lv" not in page
    # Filters: recipient, status, template, client.
    page = client.get("/staff/notification-log?q=NEIZDEVAS").get_data(as_text=True)
    assert "neizdevas@example.lv" in page and "svesais@example.lv" not in page
    page = client.get("/staff/notification-log?status=failed").get_data(as_text=True)
    assert "neizdevas@example.lv" in page and "svesais@example.lv" not in page
    page = client.get("/staff/notification-log?template=password_changed").get_data(as_text=True)
    assert "anna@example.lv" in page and "neizdevas@example.lv" not in page
    client_id = models.Membership.get(models.Membership.user == anna.id).client_id
    page = client.get(f"/staff/notification-log?client={client_id}").get_data(as_text=True)
    assert "neizdevas@example.lv" in page and "svesais@example.lv" not in page
    page = client.get(f"/staff/notification-log?client={client_id + 1}").get_data(as_text=True)
    assert "neizdevas@example.lv" not in page
    # A filter that is none (an unknown status, an overlong search) lists everything.
    for query in ("status=bogus", "q=" + "x" * 201):
        page = client.get(f"/staff/notification-log?{query}").get_data(as_text=True)
        assert "neizdevas@example.lv" in page and "svesais@example.lv" in page, query


@pytest.mark.postgres
def test_the_log_pages_by_key_newest_first(client, app, db):
    for n in range(30):
        queue_one(app, recipient=f"r{n:02d}@example.lv")
    supervisor(client, app)
    first = client.get("/staff/notification-log?q=@example.lv&q=r").get_data(as_text=True)
    assert "r29@example.lv" in first and "r00@example.lv" not in first and 'rel="next"' in first
    older = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert "before=" in older
    second = client.get(older).get_data(as_text=True)
    assert "r00@example.lv" in second and "r29@example.lv" not in second


def test_a_failed_one_is_sent_again_from_the_log_and_audited(client, app, mailbox, db):
    anna = create_user(app)
    failed = queue_one(app, recipient="atkartot@example.lv", user=anna)
    models.Notification.update(status="failed", attempts=5, error="timeout").where(
        models.Notification.id == failed.id).execute()
    wiped = queue_one(app, recipient="kods@example.lv", user=anna, template="reset_code", code="1")
    models.Notification.update(status="failed", attempts=5, params="").where(
        models.Notification.id == wiped.id).execute()
    supervisor(client, app)
    page = client.get("/staff/notification-log?status=failed").get_data(as_text=True)
    assert "kods@example.lv" in page and page.count('value="send_again"') == 1  # a wiped code cannot go again
    r = post_form(client, f"/staff/notifications/{failed.id}?back=log", {"decision": "send_again"},
                  page="/staff/notification-log")
    assert r.status_code == 303 and r.headers["Location"].endswith("/staff/notification-log")
    run_jobs(app)
    assert len(mailbox.to("atkartot@example.lv")) == 1
    assert models.Notification.get_by_id(failed.id).status == "sent"
    assert models.AuditLog.select().where(models.AuditLog.action == "notification.send_again").count() == 1


@pytest.mark.parametrize("url", ["/staff/notification-log", "/staff/audit.csv", "/staff/documents.csv",
                                 "/staff/messages.csv"])
def test_clients_get_404(client, app, url):
    create_user(app)
    login(client, "anna@example.lv")
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", ["/staff/notification-log", "/staff/audit.csv", "/staff/documents.csv",
                                 "/staff/messages.csv"])
def test_a_consultant_gets_404(client, app, url):
    supervisor(client, app, role="consultant")
    assert client.get(url).status_code == 404


@pytest.mark.postgres
@pytest.mark.parametrize("query", [
    "q=%00%27%22<script>", "client=-1", "client=99999999999999999999", "status=nowhere", "status[]=x",
    "template=../../etc", "before=abc", "after=1_2_3", "before=" + "9" * 70, "q=" + "x" * 5000,
    "action=%25%27--", "client=1&client=x"])
def test_hostile_query_strings_are_no_500(client, app, query):
    supervisor(client, app)
    for url in ["/staff/notification-log", "/staff/audit", "/staff/audit.csv"]:
        assert client.get(f"{url}?{query}").status_code == 200, url


@pytest.mark.postgres
# --- CSV exports -----------------------------------------------------------------------------

def test_the_audit_csv_neutralises_formulas_keeps_latvian_letters_and_is_audited(client, app, db):
    models.AuditLog.record("demo.hostile", actor="=HYPERLINK(\"http://evil\",\"x\")", ip="+1",
                           note="Ģirts Šņore, Ādaži")
    models.AuditLog.record("other.thing", actor="cits")
    supervisor(client, app)
    r = client.get("/staff/audit.csv?action=demo.")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = read_csv(r)
    assert len(rows) == 2  # the header and the one row the filter keeps
    row = rows[1]
    assert row[1] == "demo.hostile"
    assert row[3] == "'=HYPERLINK(\"http://evil\",\"x\")" and row[4] == "'+1"
    assert "Ģirts Šņore, Ādaži" in row[6]
    exported = models.AuditLog.get(models.AuditLog.action == "staff.exported")
    assert exported.details == {"export": "audit", "filters": {"action": "demo."}}


def test_the_queue_exports_list_what_waits(client, app, db):
    anna = create_user(app)
    client_row = models.Membership.get(models.Membership.user == anna.id).client
    client_row.name = "=cmd|' /C calc'!A0 Bērziņš"
    client_row.save()
    now = models.utcnow()
    thread = Thread.create(client=client_row, created_by=anna, subject="@Jautājums par ķēdi",
                                  waiting_since=now, due_at=now)
    Thread.create(client=client_row, created_by=anna, subject="Atbildēts")
    supervisor(client, app)
    rows = read_csv(client.get("/staff/messages.csv"))
    assert len(rows) == 2
    assert rows[1][0] == str(thread.id) and rows[1][1].startswith("'=cmd") and "Bērziņš" in rows[1][1]
    assert rows[1][3] == "'@Jautājums par ķēdi"
    waiting = Document.create(client=client_row, created_by=anna, doc_type="client_questionnaire",
                              status="processing", waiting=True, data={}, submitted_at=now)
    Document.create(client=client_row, created_by=anna, doc_type="client_questionnaire", data={})  # a draft
    rows = read_csv(client.get("/staff/documents.csv"))
    assert len(rows) == 2 and rows[1][0] == str(waiting.id) and "Bērziņš" in rows[1][1]
    kinds = [a.details["export"] for a in models.AuditLog.select().where(models.AuditLog.action == "staff.exported")]
    assert kinds == ["messages", "documents"]
