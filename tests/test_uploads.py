"""Uploads: every accepted type is stored with its SHA-256; every bad file is refused with
its reason and leaves nothing behind (no StoredFile row, no blob on disk).

Files are built by the tests (tests/fixtures_files.py). Functions are tested with
Werkzeug FileStorage objects inside a request context; a small test-only blueprint
drives the real request path (413 before parsing, CSRF, 422 with per-file errors,
downloads with their headers).
"""
import hashlib
import io
from pathlib import Path

import pytest
from flask import Blueprint, render_template_string
from flask_babel import force_locale
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from peewee import IntegrityError
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

import fixtures_files as make
import models
import uploads
from blueprints import uploading
from conftest import form_token
from rules.uploads import KB, MB, SEED_000, SEED_004, UploadPolicy
from adapters.storage import LocalStorage
from models.runtime import runtime
from portal import init_domain

# Small limits keep the size tests fast.
SMALL = UploadPolicy(name="small", extensions=frozenset({"pdf", "png", "svg", "txt", "docx"}),
                     min_file_size=1, max_file_size=64 * KB, max_files=3, max_total=128 * KB)


@pytest.fixture
def upload_dir(app, tmp_path):
    """Blobs of this test go to its own directory."""
    path = tmp_path / "uploads"
    app.config["UPLOAD_DIR"] = str(path)
    init_domain(app)
    return path


@pytest.fixture
def ctx(app, db, upload_dir):
    """A request context in English, with the test's database and storage."""
    with app.test_request_context(), force_locale("en"):
        yield


@pytest.fixture
def owner(ctx):
    user = models.User.create(email="ilze@example.lv", phone="+37120000001", password_hash="x")
    client = models.Client.create(kind="natural", name="Ilze Kalniņa")
    return user, client


def file(data, name):
    return FileStorage(stream=io.BytesIO(data), filename=name)


def blobs(upload_dir):
    return [p for p in upload_dir.rglob("*") if p.is_file()] if upload_dir.exists() else []


def assert_nothing_stored(upload_dir):
    assert models.StoredFile.select().count() == 0
    assert blobs(upload_dir) == []


# --- Accepted -----------------------------------------------------------------------

ACCEPTED = [
    (SEED_004, "Pase.jpg", make.jpeg, "image/jpeg"),
    (SEED_004, "pase.JPEG", make.jpeg, "image/jpeg"),
    (SEED_004, "logo.bmp", make.bmp, "image/bmp"),
    (SEED_004, "logo.gif", make.gif, "image/gif"),
    (SEED_004, "skenējums.png", make.png, "image/png"),
    (SEED_004, "logo.svg", make.svg, "image/svg+xml"),
    (SEED_004, "piezīmes.txt", make.text_utf8, "text/plain; charset=utf-8"),
    (SEED_004, "vecs.txt", make.text_cp1257, "text/plain; charset=windows-1257"),
    (SEED_004, "līgums.doc", make.doc, "application/msword"),
    (SEED_004, "līgums.docx", make.docx,
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (SEED_004, "bilance.xls", make.xls, "application/vnd.ms-excel"),
    (SEED_004, "bilance.xlsx", make.xlsx,
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (SEED_004, "statūti.pdf", make.pdf, "application/pdf"),
    (SEED_004, "teksts.odt", make.odt, "application/vnd.oasis.opendocument.text"),
    (SEED_004, "tabula.ods", make.ods, "application/vnd.oasis.opendocument.spreadsheet"),
    (SEED_004, "parakstīts.edoc", make.asice, "application/vnd.etsi.asic-e+zip"),
    (SEED_004, "parakstīts.asice", make.asice, "application/vnd.etsi.asic-e+zip"),
    (SEED_004, "ar-tabulu.docx", lambda: make.nested_zip_docx(depth=1),
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (SEED_000, "rasējums.dwg", make.dwg, "image/vnd.dwg"),
    (SEED_000, "rasējums.cad", make.dwg, "image/vnd.dwg"),
    (SEED_000, "plāns.cad", make.dxf, "image/vnd.dxf"),
    (SEED_000, "foto.tif", make.tiff, "image/tiff"),
    (SEED_000, "foto.tiff", make.tiff, "image/tiff"),
    (SEED_000, "akts.pdf", make.pdf, "application/pdf"),
    (SEED_000, "akts.edoc", make.asice, "application/vnd.etsi.asic-e+zip"),
    (SEED_000, "līgums.doc", make.doc, "application/msword"),
    (SEED_000, "tāme.xlsx", make.xlsx,
     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (SEED_000, "foto.png", make.png, "image/png"),
    (SEED_000, "foto.jpg", make.jpeg, "image/jpeg"),
    (SEED_000, "foto.jpeg", make.jpeg, "image/jpeg"),
    (SEED_000, "akts.docx", make.docx,
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (SEED_000, "tāme.xls", make.xls, "application/vnd.ms-excel"),
]


@pytest.mark.parametrize("policy, name, build, content_type", ACCEPTED,
                         ids=[f"{p.name}-{n}" for p, n, _, _ in ACCEPTED])
def test_each_allowed_type_is_stored_with_its_sha256(owner, upload_dir, policy, name, build, content_type):
    user, client = owner
    data = build()
    assert uploads.check_files([file(data, name)], policy) == []
    [row] = uploads.store_files([file(data, name)], policy, user, client)
    row = models.StoredFile.get_by_id(row.id)
    assert (row.original_name, row.size, row.content_type) == (name, len(data), content_type)
    assert row.extension == name.rsplit(".", 1)[1].lower()
    assert row.sha256 == hashlib.sha256(data).hexdigest()
    assert (row.client_id, row.uploaded_by_id) == (client.id, user.id)
    with runtime.storage.open(row.key) as stored:
        assert stored.read() == data


def test_every_seed_extension_has_an_accepted_sample():
    covered = {(p.name, n.rsplit(".", 1)[1].lower()) for p, n, _, _ in ACCEPTED}
    for policy in (SEED_000, SEED_004):
        assert {e for name, e in covered if name == policy.name} == set(policy.extensions), policy.name


@pytest.mark.postgres
def test_blobs_are_kept_under_random_keys(owner, upload_dir):
    data = make.pdf()
    rows = uploads.store_files([file(data, "līgums.pdf"), file(data, "līgums.pdf")], SEED_004)
    keys = [r.key for r in rows]
    assert len(set(keys)) == 2 and all(len(k) >= 40 and "gums" not in k for k in keys)
    assert sorted(p.name for p in blobs(upload_dir)) == sorted(keys)


def test_the_default_upload_directory_is_under_instance_not_static(app, monkeypatch):
    from portal import default_config
    monkeypatch.delenv("UPLOAD_DIR", raising=False)
    upload_dir = Path(default_config(app.instance_path)["UPLOAD_DIR"])
    assert upload_dir == Path(app.instance_path) / "uploads"
    assert not upload_dir.is_relative_to(Path(app.static_folder))


# --- Refused ------------------------------------------------------------------------

REFUSED = [
    ("renamed-exe", SEED_004, "rēķins.pdf", make.exe,
     "“rēķins.pdf”: this is a program, not a document. Programs are not accepted."),
    ("renamed-elf", SEED_004, "notes.txt", make.elf,
     "“notes.txt”: this is a program, not a document. Programs are not accepted."),
    ("png-as-pdf", SEED_004, "scan.pdf", make.png,
     "“scan.pdf”: the content is a PNG image, not a PDF document."),
    ("pdf-as-docx", SEED_004, "x.docx", make.pdf,
     "“x.docx”: the content is a PDF document, not a Word document (DOCX)."),
    ("xlsx-as-docx", SEED_004, "x.docx", make.xlsx,
     "“x.docx”: the content is an Excel workbook (XLSX), not a Word document (DOCX)."),
    ("doc-as-xls", SEED_004, "x.xls", make.doc,
     "“x.xls”: the content is a Word document (DOC), not an Excel workbook (XLS)."),
    ("odt-as-ods", SEED_004, "x.ods", make.odt,
     "“x.ods”: the content is an OpenDocument text (ODT), not an OpenDocument spreadsheet (ODS)."),
    ("docx-as-edoc", SEED_004, "x.edoc", make.docx,
     "“x.edoc”: the content is a Word document (DOCX), not a signed container (EDOC/ASiC-E)."),
    ("pdf-as-dwg", SEED_000, "x.dwg", make.pdf, "“x.dwg”: the content is a PDF document, not a DWG drawing."),
    ("text-as-cad", SEED_000, "x.cad", lambda: b"just words " * 200,
     "“x.cad”: the content is not a CAD drawing (DWG or DXF)."),
    ("text-as-png", SEED_004, "x.png", make.text_utf8, "“x.png”: the content is not a PNG image."),
    ("binary-as-txt", SEED_004, "x.txt", lambda: b"abc\x00\x01def" * 100,
     "“x.txt”: the content is not plain text."),
    ("empty", SEED_004, "tukšs.pdf", lambda: b"", "“tukšs.pdf”: the file is empty."),
    ("under-1kb", SEED_000, "mazs.pdf", lambda: make.pdf(pad=10),
     "“mazs.pdf”: the file is smaller than 1 KB."),
    ("over-file-limit", SMALL, "liels.pdf", lambda: make.pdf(pad=70 * KB),
     "“liels.pdf”: the file is larger than 64 KB."),
    ("type-not-accepted", SMALL, "programma.exe", make.exe,
     "“programma.exe”: files of this type are not accepted. Accepted types: DOCX, PDF, PNG, SVG, TXT."),
    ("no-extension", SMALL, "README", make.text_utf8,
     "“README”: the file has no extension. Accepted types: DOCX, PDF, PNG, SVG, TXT."),
    ("zip-bomb-as-docx", SEED_004, "bumba.docx", make.zip_bomb_docx,
     "“bumba.docx”: the file unpacks to far more data than it holds and looks like a zip bomb."),
    ("lying-sizes", SEED_004, "meli.docx", make.lying_sizes_docx,
     "“meli.docx”: the file is damaged and cannot be read."),
    ("too-many-parts", SEED_004, "daudz.docx", make.many_entries_docx,
     "“daudz.docx”: the file holds more than 1000 parts."),
    ("zip-in-zip-in-docx", SEED_004, "ligzda.docx", make.nested_zip_docx,
     "“ligzda.docx”: the file holds compressed archives inside archives, which are not accepted."),
    ("gzip-in-docx", SEED_004, "gz.docx", make.gzip_inside_docx,
     "“gz.docx”: the file holds compressed archives inside archives, which are not accepted."),
    ("docm-as-docx", SEED_004, "makro.docx", make.docm_as_docx,
     "“makro.docx”: the document contains macros, which are not accepted."),
    ("password-docx", SEED_004, "slepens.docx", make.encrypted_docx,
     "“slepens.docx”: the file is protected with a password. Please upload it without the password."),
    ("truncated-docx", SEED_004, "puse.docx", lambda: make.docx()[:1500],
     "“puse.docx”: the file is damaged and cannot be read."),
]

SVG_ACTIVE = "“x.svg”: the image contains scripts or active content, which are not allowed."
SVG_EXTERNAL = "“x.svg”: the image refers to outside files or addresses, which is not allowed."
REFUSED += [(f"svg-{label}", SEED_004, "x.svg", build, message) for label, build, message in [
    ("script", lambda: make.svg("<script>alert(document.cookie)</script>"), SVG_ACTIVE),
    ("onload", lambda: make.svg('<rect width="5" height="5" onload="steal()"/>'), SVG_ACTIVE),
    ("javascript-href", lambda: make.svg('<a href=" java\tscript:alert(1)"><rect/></a>'), SVG_ACTIVE),
    ("data-href", lambda: make.svg('<image xlink:href="data:image/svg+xml;base64,PHN2Zz4="/>'), SVG_ACTIVE),
    ("foreign-object", lambda: make.svg("<foreignObject><p>hi</p></foreignObject>"), SVG_ACTIVE),
    ("animated-href", lambda: make.svg('<a><set attributeName="href" to="javascript:x()"/></a>'), SVG_ACTIVE),
    ("external-image", lambda: make.svg('<image href="https://tracker.example/p.png"/>'), SVG_EXTERNAL),
    ("external-use", lambda: make.svg('<use xlink:href="other.svg#icon"/>'), SVG_EXTERNAL),
    ("stylesheet-pi", lambda: make.svg(prolog='<?xml-stylesheet href="https://x.example/a.css"?>'), SVG_EXTERNAL),
    ("css-import", lambda: make.svg("<style>@import url(https://x.example/a.css);</style>"), SVG_EXTERNAL),
    ("css-url", lambda: make.svg('<rect style="fill: url(https://x.example/p.png)"/>'), SVG_EXTERNAL),
    ("entities", lambda: b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY big "x">]>'
                         b'<svg xmlns="http://www.w3.org/2000/svg">&big;</svg>', SVG_EXTERNAL),
    ("not-svg", lambda: b"<html><body>hi</body></html>", "“x.svg”: the content is not an SVG image."),
    ("not-xml", lambda: b"<svg", "“x.svg”: the content is not an SVG image."),
]]


@pytest.mark.parametrize("policy, name, build, message", [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_bad_file_is_refused_with_its_reason_and_nothing_is_stored(owner, upload_dir, policy, name, build,
                                                                   message):
    user, client = owner
    data = build()
    problems = uploads.check_files([file(data, name)], policy)
    assert [str(p) for p in problems] == [message]
    assert (problems[0].index, problems[0].name) == (0, name)
    with pytest.raises(uploads.UploadRefused) as refused:
        uploads.store_files([file(make.pdf(), "labs.pdf"), file(data, name)], policy, user, client)
    assert refused.value.messages == [message]
    assert_nothing_stored(upload_dir)


def test_an_eleventh_file_is_refused_and_nothing_is_stored(ctx, upload_dir):
    files = [file(make.png(), f"lapa-{i}.png") for i in range(11)]
    with pytest.raises(uploads.UploadRefused) as refused:
        uploads.store_files(files, SEED_004)
    assert refused.value.messages == ["Too many files: at most 10 can be attached."]
    assert_nothing_stored(upload_dir)


def test_files_already_attached_count_towards_the_limits(ctx, upload_dir):
    two = [file(make.png(), "a.png"), file(make.png(), "b.png")]
    assert [str(p) for p in uploads.check_files(two, SEED_004, existing_count=9)] == [
        "Too many files: at most 10 in total, and 9 are already attached."]
    assert [str(p) for p in uploads.check_files(two, SEED_004, existing_total=150 * MB - 100)] == [
        "The files together are larger than 150 MB."]
    assert uploads.check_files(two, SEED_004, existing_count=8, existing_total=100 * MB) == []


def test_files_over_the_total_are_refused_and_nothing_is_stored(ctx, upload_dir):
    files = [file(make.pdf(pad=50 * KB), f"{i}.pdf") for i in range(3)]  # 3 × 51 KB > 128 KB
    with pytest.raises(uploads.UploadRefused) as refused:
        uploads.store_files(files, SMALL)
    assert refused.value.messages == ["The files together are larger than 128 KB."]
    assert_nothing_stored(upload_dir)


def test_every_file_is_checked_and_each_problem_names_its_file(ctx, upload_dir):
    files = [file(make.pdf(), "labs.pdf"), file(make.exe(), "slikts.pdf"), file(b"", "tukšs.txt"),
             file(make.png(), "labs.png")]
    problems = uploads.check_files(files, SEED_004)
    assert [(p.index, p.name) for p in problems] == [(1, "slikts.pdf"), (2, "tukšs.txt")]
    with pytest.raises(uploads.UploadRefused):
        uploads.store_files(files, SEED_004)
    assert_nothing_stored(upload_dir)


def test_an_empty_file_input_sends_nothing_to_check(ctx, upload_dir):
    assert uploads.store_files([file(b"", ""), None], SEED_004) == []
    assert_nothing_stored(upload_dir)


class FailingStorage(LocalStorage):
    """Local disk that fails on the second put, as a full disk would."""

    def __init__(self, root):
        super().__init__(root)
        self.puts = 0

    def put(self, key, fileobj):
        self.puts += 1
        if self.puts == 2:
            raise OSError(28, "No space left on device")
        super().put(key, fileobj)


def test_a_failure_while_storing_removes_the_blobs_already_put(ctx, upload_dir):
    storage = FailingStorage(upload_dir)
    with pytest.raises(OSError):
        uploads.store_files([file(make.pdf(), "a.pdf"), file(make.pdf(), "b.pdf")], SEED_004,
                            storage=storage)
    assert storage.puts == 2
    assert_nothing_stored(upload_dir)


@pytest.mark.postgres
def test_a_failing_row_removes_the_blobs_already_put(ctx, upload_dir):
    ghost = models.Client(id=987654, kind="natural")  # never saved: the foreign key fails
    with pytest.raises(IntegrityError):
        uploads.store_files([file(make.pdf(), "a.pdf")], SEED_004, client=ghost)
    assert_nothing_stored(upload_dir)


@pytest.mark.postgres
def test_uploads_atomic_removes_blobs_when_the_callers_transaction_rolls_back(ctx, upload_dir):
    with pytest.raises(RuntimeError):
        with uploads.atomic():
            rows = uploads.store_files([file(make.pdf(), "a.pdf")], SEED_004)
            assert len(blobs(upload_dir)) == 1 and rows
            with uploads.atomic():  # nested blocks hand their blobs to the outer one
                uploads.store_files([file(make.png(), "b.png")], SEED_004)
            raise RuntimeError("the document could not be saved")
    assert_nothing_stored(upload_dir)


@pytest.mark.postgres
def test_uploads_atomic_keeps_blobs_when_it_commits(ctx, upload_dir):
    with uploads.atomic():
        [row] = uploads.store_files([file(make.pdf(), "a.pdf")], SEED_004)
    assert models.StoredFile.select().count() == 1
    assert [p.name for p in blobs(upload_dir)] == [row.key]


# --- File names ---------------------------------------------------------------------

@pytest.mark.parametrize("given, shown", [
    ("līgums Nr. 5 (ĀČĒĢĪĶĻŅŠŪŽ).pdf", "līgums Nr. 5 (ĀČĒĢĪĶĻŅŠŪŽ).pdf"),
    ("C:\\Users\\anna\\Desktop\\rēķins.pdf", "rēķins.pdf"),
    ("../../etc/passwd", "passwd"),
    ("invoice\u202efdp.exe", "invoicefdp.exe"),  # a right-to-left override would show "exe.pdf"
    ("a\x00b\x1b[31mc\r\n.pdf", "ab[31mc .pdf"),
    ('bad<>:"|?*name.pdf', "bad_______name.pdf"),
    ("  .hidden.pdf  ", "hidden.pdf"),
    ("", "file"),
    ("l" * 300 + ".docx", "l" * 115 + ".docx"),
])
def test_file_names_are_sanitised_for_display(given, shown):
    assert uploads.sanitise_filename(given) == shown


# --- Request size -------------------------------------------------------------------

def test_limit_request_size_refuses_an_oversized_body_before_parsing(app):
    body = {"files": (io.BytesIO(b"%PDF-" + b"x" * (700 * KB)), "big.pdf")}
    with app.test_request_context("/", method="POST", data=body):
        from flask import request
        assert uploading.limit_request_size(SMALL) == SMALL.max_total + uploads.FORM_OVERHEAD
        with pytest.raises(RequestEntityTooLarge):
            request.files


def test_limit_request_size_never_exceeds_the_app_backstop(app):
    with app.test_request_context("/", method="POST"):
        assert uploading.limit_request_size(SEED_000) == app.config["MAX_CONTENT_LENGTH"] == 160 * MB


def test_limit_request_size_after_the_body_was_read_is_a_programming_error(app):
    with app.test_request_context("/", method="POST", data={"a": "b"}):
        from flask import request
        request.form
        with pytest.raises(RuntimeError):
            uploading.limit_request_size(SMALL)


# --- Through real requests ----------------------------------------------------------

PAGE = """{% extends "base.html" %}{% from "_macros/upload.html" import upload_field %}
{% block content %}<form method="post" enctype="multipart/form-data" data-upload-progress>
{{ form.csrf_token }}{{ upload_field(form.files, policy) }}<button type="submit">Sūtīt</button></form>
<script src="{{ static_url('upload-progress.js') }}" defer></script>{% endblock %}"""


class UploadForm(FlaskForm):
    files = MultipleFileField("Dokumenti")


@pytest.fixture
def routes(app, upload_dir):
    """A tiny upload page and download route, as documents and messages will have."""
    bp = Blueprint("upload_test", __name__, url_prefix="/_test")

    @bp.route("/upload", methods=["GET", "POST"])
    @uploading.accepts_uploads(SMALL)
    def upload():
        form = UploadForm()
        if form.validate_on_submit():
            try:
                with uploads.atomic():
                    rows = uploads.store_files(form.files.data, SMALL)
                return {"stored": [r.id for r in rows]}, 201
            except uploads.UploadRefused as refused:
                form.files.errors.extend(refused.messages)
                return render_template_string(PAGE, form=form, policy=SMALL), 422
        return render_template_string(PAGE, form=form, policy=SMALL)

    @bp.get("/files/<int:file_id>")
    def download(file_id):
        return uploading.send_stored(models.StoredFile.get_by_id(file_id))

    app.register_blueprint(bp)
    return app.test_client()


def post_files(client, files, token=True):
    data = {"files": [(io.BytesIO(d), n) for d, n in files]}
    if token:
        data["csrf_token"] = form_token(client, "/_test/upload")
    return client.post("/_test/upload", data=data, content_type="multipart/form-data")


def test_the_upload_field_shows_limits_accept_and_a_hidden_progress_bar(routes):
    page = routes.get("/_test/upload").get_data(as_text=True)
    assert 'accept=".docx,.pdf,.png,.svg,.txt"' in page and "multiple" in page
    assert '<progress id="files-progress" data-upload-bar max="100" value="0" hidden' in page
    assert 'data-max-total="131072"' in page
    assert "64 KB" in page and "128 KB" in page
    assert "/static/upload-progress.js?v=" in page


def test_upload_progress_script_needs_no_eval_or_inline_code():
    script = (Path(__file__).resolve().parent.parent / "static" / "upload-progress.js").read_text()
    assert "htmx:xhr:progress" in script and "data-upload-progress" in script
    for forbidden in ("eval(", "new Function", "innerHTML", "setTimeout(\""):
        assert forbidden not in script


def test_a_request_over_the_limit_gets_413_and_nothing_is_stored(routes, db, upload_dir):
    response = post_files(routes, [(make.pdf(pad=700 * KB), "liels.pdf")])
    assert response.status_code == 413
    assert "Nosūtīto datu apjoms ir pārāk liels." in response.get_data(as_text=True)
    assert_nothing_stored(upload_dir)


def test_upload_views_still_check_csrf(routes, db, upload_dir):
    response = post_files(routes, [(make.pdf(), "a.pdf")], token=False)
    assert response.status_code == 400
    assert_nothing_stored(upload_dir)


@pytest.mark.postgres
def test_a_refused_upload_answers_422_with_each_file_named(routes, db, upload_dir):
    response = post_files(routes, [(make.pdf(), "labs.pdf"), (make.exe(), "vīruss.pdf")])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'class="field-error" id="files-error"' in page and "“vīruss.pdf”" in page
    assert 'aria-invalid="true"' in page
    assert_nothing_stored(upload_dir)


@pytest.mark.postgres
def test_an_accepted_upload_is_stored_and_downloads_as_a_safe_attachment(routes, db, upload_dir):
    data = make.svg()
    response = post_files(routes, [(make.pdf(), "a.pdf"), (data, "Ģerbonis ar ēnu.svg")])
    assert response.status_code == 201, response.get_data(as_text=True)
    svg_id = response.get_json()["stored"][1]
    download = routes.get(f"/_test/files/{svg_id}")
    assert download.status_code == 200
    assert download.get_data() == data
    headers = download.headers
    assert headers["Content-Type"] == "image/svg+xml"
    assert headers["Content-Disposition"] == (
        "attachment; filename=\"Gerbonis ar enu.svg\"; "
        "filename*=UTF-8''%C4%A2erbonis%20ar%20%C4%93nu.svg")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert headers["Cache-Control"] == "private, no-store"
    assert int(headers["Content-Length"]) == len(data)


def test_a_missing_blob_answers_404(routes, db, upload_dir):
    [file_id] = post_files(routes, [(make.pdf(), "a.pdf")]).get_json()["stored"]
    for path in blobs(upload_dir):
        path.unlink()
    assert routes.get(f"/_test/files/{file_id}").status_code == 404
