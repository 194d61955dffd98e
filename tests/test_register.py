"""Company-register data (issue 13): reading the institution's CSV (``flask import-register``), the
rule that decides who may become a company's main user remotely, and the snapshot in the database
(the personal code only as its keyed hash)."""
from datetime import datetime, timedelta

import pytest

import models
from rules import register as R

HEADER = "registration_number,company_name,personal_code,role,signing_rights\n"
LIGA, PETERIS, JANIS = "020279-10002", "030390-10003", "010185-10001"
GOOD = (HEADER
        + f"40003000001,SIA Demo Būve,{LIGA},valdes locekle,alone\n"
        + f"40003000001,SIA Demo Būve,{PETERIS},valdes loceklis,jointly\n"
        + f"40003000002,\"SIA Bērziņa Darbnīca, filiāle\",{JANIS},valdes priekšsēdētājs,atsevišķi\n")


def lines(text, encoding="utf-8"):
    return [line for line in text.encode(encoding).splitlines(keepends=True)]


def read(text, encoding="utf-8"):
    return list(R.read(lines(text, encoding)))


def problems(records):
    return [str(p) for r in records if not isinstance(r, R.Entry) for p in r]


# --- The rule: may they become main user remotely? ------------------------------------------

NOW = datetime(2026, 12, 6, 12, 0)
FRESH, OLD = NOW - timedelta(days=1), NOW - R.MAX_AGE - timedelta(minutes=1)


@pytest.mark.parametrize("rights, imported_at, outcome", [
    ([R.ALONE], FRESH, R.MAY),
    ([R.JOINTLY, R.ALONE], FRESH, R.MAY),  # a second role with sole rights is enough
    ([R.NONE, R.ALONE], FRESH, R.MAY),
    ([R.JOINTLY], FRESH, R.NEEDS_STAFF),
    ([R.JOINTLY, R.NONE], FRESH, R.NEEDS_STAFF),
    ([R.NONE], FRESH, R.NO),
    ([], FRESH, R.NO),  # not in the register for this company
    ([R.ALONE], OLD, R.STALE),  # too old to confirm anything
    ([R.ALONE], NOW - R.MAX_AGE, R.MAY),  # exactly the limit still counts
    ([R.ALONE], None, R.STALE),  # no register data at all
    (["ALONE"], FRESH, R.NO),  # only the normalised words count
])
def test_who_may_become_main_user_remotely(rights, imported_at, outcome):
    assert R.decide(rights, imported_at, NOW) == outcome


@pytest.mark.parametrize("role, legal, allowed", [
    ("registrant", True, True), ("colleague", True, True), ("main", True, False), ("self", False, False),
    ("registrant", False, False),
])
def test_who_may_ask_for_main_user_rights(role, legal, allowed):
    assert R.may_ask_for_main_user(role, legal) is allowed


@pytest.mark.parametrize("value, expected", [
    ("40003000001", "40003000001"), (" 4000 3000 001 ", "40003000001"), ("4000300000", None),
    ("400030000012", None), ("LV40003000001", None), ("4000300000a", None), ("", None), (None, None),
    ("٤٠٠٠٣٠٠٠٠٠١", None),  # Arabic-Indic digits are digits to \d, not to the register
])
def test_registration_number_is_eleven_digits(value, expected):
    assert R.registration_number(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("020279-10002", "LV:02027910002"), ("02027910002", "LV:02027910002"),
    ("PNOLV-020279-10002", "LV:02027910002"), ("pnolv-020279-10002", "LV:02027910002"),
    ("0202791000", None), ("IDCLV-020279-10002", None), ("=1+1", None), ("", None),
])
def test_personal_code_reuses_the_e_identity_normalisation(value, expected):
    assert R.personal_code(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("alone", R.ALONE), ("Atsevišķi", R.ALONE), (" jointly ", R.JOINTLY), ("kopā", R.JOINTLY),
    ("none", R.NONE), ("nav", R.NONE), ("maybe", None), ("", None),
])
def test_signing_rights_words(value, expected):
    assert R.signing_rights(value) == expected


# --- Reading the CSV ---------------------------------------------------------------------------

def test_a_good_file_reads_every_row_with_its_line():
    records = read(GOOD)
    assert all(isinstance(r, R.Entry) for r in records)
    assert [(r.line, r.registration_number, r.personal_code, r.signing_rights) for r in records] == [
        (2, "40003000001", "LV:02027910002", R.ALONE), (3, "40003000001", "LV:03039010003", R.JOINTLY),
        (4, "40003000002", "LV:01018510001", R.ALONE)]
    assert records[2].company_name == "SIA Bērziņa Darbnīca, filiāle"


def test_semicolons_a_byte_order_mark_crlf_and_blank_lines_are_fine():
    text = "\ufeff" + GOOD.replace(",", ";").replace("SIA Bērziņa Darbnīca; filiāle", "SIA Bērziņa Darbnīca")
    text = text.replace("\n", "\r\n") + "\r\n;;;;\r\n \r\n"
    records = read(text)
    assert len(records) == 3 and all(isinstance(r, R.Entry) for r in records)


def test_columns_in_another_order_with_latvian_names_and_extra_columns():
    text = ("amats,personas_kods,extra,nosaukums,reg_nr,paraksta_tiesibas\n"
            f"valdes locekle,{LIGA},x,SIA Demo Būve,40003000001,alone\n")
    [entry] = read(text)
    assert (entry.role, entry.registration_number, entry.signing_rights) == ("valdes locekle", "40003000001", R.ALONE)


@pytest.mark.parametrize("row, message", [
    (f"4000300000,SIA A,{LIGA},valde,alone", "registration_number must be 11 digits"),
    ("40003000001,SIA A,12345,valde,alone", "personal_code is not a valid"),
    (f"40003000001,SIA A,{LIGA},valde,sometimes", "signing_rights must be one of"),
    (f"40003000001,,{LIGA},valde,alone", "company_name is empty"),
    (f"40003000001,SIA A,{LIGA},,alone", "role is empty"),
    (f"40003000001,SIA A,{LIGA}", "the row has 3 columns"),
    (f"40003000001,=cmd|' /C calc'!A0,{LIGA},valde,alone", "company_name starts with '='"),
    (f"40003000001,SIA A,{LIGA},+SUM(1;2),alone", "role starts with '+'"),
    (f"40003000001,SIA A,{LIGA},@HYPERLINK(\"x\"),alone", "role starts with '@'"),
    (f"40003000001,-2+3,{LIGA},valde,alone", "company_name starts with '-'"),
    (f"40003000001,\"SIA \x1b[31mA\",{LIGA},valde,alone", "company_name holds control characters"),
    (f"40003000001,{'A' * 251},{LIGA},valde,alone", "longer than 250"),
    (f"40003000001,\"SIA A,{LIGA},valde,alone", "not valid CSV"),
])
def test_a_bad_row_is_reported_with_its_line_number(row, message):
    records = read(HEADER + f"40003000002,SIA B,{JANIS},valde,alone\n" + row + "\n")
    assert isinstance(records[0], R.Entry)
    [problem] = problems(records)
    assert problem.startswith("line 3: ") and message in problem, problem


def test_problems_never_show_the_personal_code():
    records = read(HEADER + "4000300000,=SIA,020279-1000,valde,alone\n")
    text = " ".join(problems(records))
    assert "020279" not in text and "line 2" in text


def test_the_same_company_with_two_names_is_a_problem():
    records = read(HEADER + f"40003000001,SIA A,{LIGA},valde,alone\n40003000001,SIA B,{JANIS},valde,alone\n")
    assert problems(records) == ["line 3: company 40003000001 has another name on line 2"]


def test_a_line_that_is_not_utf8_is_reported_and_the_others_read():
    raw = lines(HEADER + f"40003000001,SIA A,{LIGA},valde,alone\n")
    raw.append(f"40003000002,SIA Bērziņš,{JANIS},valde,alone\n".encode("cp1257"))
    raw.append(f"40003000003,SIA C,{PETERIS},valde,alone\n".encode())
    records = list(R.read(raw))
    assert problems(records) == ['line 3: the line is not UTF-8 text (save the file as "CSV UTF-8")']
    assert [r.line for r in records if isinstance(r, R.Entry)] == [2, 4]


@pytest.mark.parametrize("raw, message", [
    (GOOD.encode("utf-16"), "UTF-16"),
    (GOOD.replace("registration_number", "reģistrācijas numurs").encode("cp1257"), "not UTF-8"),
    (b"", "empty"),
    (b"\n" + GOOD.encode(), "empty"),
    (b"a,b,c\n1,2,3\n", "missing: registration_number, company_name"),
    (b"registration_number,reg_nr,company_name,personal_code,role,signing_rights\n", "twice"),
    (b"\x00\x01\x02PK\x03\x04", "not text"),
])
def test_a_file_that_is_not_register_csv_is_refused_whole(raw, message):
    with pytest.raises(R.FileRefused) as refused:
        list(R.read(raw.splitlines(keepends=True)))
    assert message in refused.value.message


def test_too_many_rows_are_refused(monkeypatch):
    monkeypatch.setattr(R, "MAX_ROWS", 3)
    assert len(read(GOOD)) == 3
    with pytest.raises(R.FileRefused, match="more than 3 rows"):
        read(GOOD + f"40003000009,SIA Z,{LIGA},valde,alone\n")


def test_an_over_long_line_is_a_problem_of_its_own(tmp_path):
    path = tmp_path / "long.csv"
    path.write_bytes((HEADER + f"40003000001,{'A' * (R.MAX_LINE_BYTES + 10)},{LIGA},valde,alone\n"
                      + f"40003000002,SIA B,{JANIS},valde,alone\n").encode())
    from models.register import file_lines
    pieces = list(file_lines(str(path)))
    assert all(len(p) <= R.MAX_LINE_BYTES + 1 for p in pieces) and len(pieces) == 3
    records = list(R.read(pieces))
    assert problems(records) == [f"line 2: the line is longer than {R.MAX_LINE_BYTES} bytes"]
    assert records[-1].registration_number == "40003000002"


# --- flask import-register -------------------------------------------------------------------

def write(tmp_path, text, name="register.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def entries():
    return list(models.RegisterEntry.select().order_by(models.RegisterEntry.id))


def test_import_stores_the_rows_with_the_code_hashed_and_prints_a_summary(app, runner, db, tmp_path):
    result = runner.invoke(args=["import-register", write(tmp_path, GOOD), "--source", "UR 2026-12-06"])
    assert result.exit_code == 0, result.output
    assert "Imported 3 row(s) for 2 company(ies) and 3 person(s) from UR 2026-12-06" in result.output
    assert "the first snapshot" in result.output
    rows = entries()
    assert [(r.registration_number, r.signing_rights) for r in rows] == [
        ("40003000001", "alone"), ("40003000001", "jointly"), ("40003000002", "alone")]
    with app.app_context():
        from models.identity import personal_code_hashes
        assert rows[0].code_hash == personal_code_hashes("LV:02027910002")[0]
    snapshot = models.RegisterImport.get()
    assert (snapshot.source, snapshot.rows, snapshot.companies, snapshot.persons) == ("UR 2026-12-06", 3, 2, 3)
    import hashlib
    assert snapshot.sha256 == hashlib.sha256(GOOD.encode()).hexdigest()
    audit = models.AuditLog.get(models.AuditLog.action == "register.imported")
    assert audit.details["rows"] == 3 and audit.actor == "cli"
    # Nowhere in the database is a personal code in clear.
    for table in ("register_entry", "register_import", "audit_log"):
        dump = " ".join(str(row) for row in db.execute_sql(f"SELECT * FROM {table}").fetchall())
        assert "02027910002" not in dump and "020279-10002" not in dump


@pytest.mark.postgres
def test_an_import_replaces_the_previous_snapshot(app, runner, db, tmp_path):
    assert runner.invoke(args=["import-register", write(tmp_path, GOOD)]).exit_code == 0
    second = HEADER + f"40003000005,SIA Jauna,{JANIS},valde,alone\n"
    result = runner.invoke(args=["import-register", write(tmp_path, second, "second.csv")])
    assert result.exit_code == 0, result.output
    assert "replaced the snapshot of" in result.output and "(3 row(s))" in result.output
    assert [r.registration_number for r in entries()] == ["40003000005"]
    assert models.RegisterImport.select().count() == 2
    assert models.RegisterImport.current().source == "second.csv"


def test_an_invalid_row_imports_nothing_and_leaves_the_snapshot_in_force(app, runner, db, tmp_path):
    assert runner.invoke(args=["import-register", write(tmp_path, GOOD)]).exit_code == 0
    bad = GOOD + f"4000300000,SIA Z,{LIGA},valde,alone\n40003000007,=cmd,{LIGA},valde,alone\n"
    result = runner.invoke(args=["import-register", write(tmp_path, bad, "bad.csv")])
    assert result.exit_code == 1
    assert "line 5: registration_number must be 11 digits" in result.output
    assert "line 6: company_name starts with '='" in result.output
    assert "2 invalid row(s): nothing was imported" in result.output
    assert len(entries()) == 3 and models.RegisterImport.select().count() == 1


def test_skip_invalid_imports_the_rest_and_says_so(app, runner, db, tmp_path):
    bad = GOOD + f"4000300000,SIA Z,{LIGA},valde,alone\n"
    result = runner.invoke(args=["import-register", write(tmp_path, bad), "--skip-invalid"])
    assert result.exit_code == 0, result.output
    assert "line 5: registration_number" in result.output and "Left out 1 invalid row(s)." in result.output
    assert len(entries()) == 3 and models.RegisterImport.get().skipped == 1


@pytest.mark.parametrize("raw, message", [
    (GOOD.encode("utf-16"), "UTF-16"),
    (GOOD.encode("cp1257"), "not UTF-8"),
    (b"", "empty"),
    (HEADER.encode(), "no valid rows"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not"),
])
def test_hostile_files_are_refused_without_a_crash(app, runner, db, tmp_path, raw, message):
    result = runner.invoke(args=["import-register", write(tmp_path, raw), "--skip-invalid"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert message in result.output and "Traceback" not in result.output
    assert entries() == []


def test_a_file_larger_than_any_register_is_refused_before_reading(app, runner, db, tmp_path, monkeypatch):
    monkeypatch.setattr(R, "MAX_FILE_BYTES", len(GOOD) - 1)
    result = runner.invoke(args=["import-register", write(tmp_path, GOOD)])
    assert result.exit_code == 1 and "larger than" in result.output
    assert entries() == []


def test_exact_duplicates_are_kept_once(app, runner, db, tmp_path):
    twice = GOOD + f"40003000001,SIA Demo Būve,{LIGA},valdes locekle,alone\n"
    assert runner.invoke(args=["import-register", write(tmp_path, twice)]).exit_code == 0
    assert len(entries()) == 3


def test_a_file_that_changes_between_the_check_and_the_import_imports_nothing(app, runner, db, tmp_path,
                                                                             monkeypatch):
    path = write(tmp_path, GOOD)
    from models import register as M
    real = M.file_lines
    calls = []

    def changing(p, digest=None):
        calls.append(p)
        if len(calls) == 2:  # the second reading: someone rewrote the file meanwhile
            with open(p, "a") as f:
                f.write(f"40003000009,SIA Z,{LIGA},valde,alone\n")
        return real(p, digest)
    monkeypatch.setattr(M, "file_lines", changing)
    result = runner.invoke(args=["import-register", path])
    assert result.exit_code == 1 and "changed while it was imported" in result.output
    assert entries() == [] and models.RegisterImport.select().count() == 0


def test_after_the_secret_is_rotated_the_snapshot_confirms_nobody_until_imported_again(app, runner, db, tmp_path):
    assert runner.invoke(args=["import-register", write(tmp_path, GOOD)]).exit_code == 0
    from models.runtime import configure, runtime
    from rules.keys import Keyring
    before = runtime.keys
    with app.app_context():
        assert models.RegisterImport.current() is not None
        configure(keys=Keyring("another-secret-entirely", previous=["x"]))
        try:
            assert models.RegisterImport.current() is None
        finally:
            configure(keys=before)


def test_the_demo_holds_register_data_to_try_the_remote_flow(app, runner, db):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    snapshot = models.RegisterImport.current()
    assert snapshot is not None and snapshot.rows == 3 and snapshot.companies == 2
    with app.app_context():
        from models.register import code_hash
        janis = models.RegisterEntry.get(models.RegisterEntry.code_hash == code_hash("LV:01018510001"))
    assert (janis.registration_number, janis.signing_rights) == ("40003000002", R.ALONE)
    assert not models.Client.select().where(models.Client.registration_number == "40003000002").exists()
