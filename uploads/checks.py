"""Upload content checks: every file judged by its content before anything is stored.

Types are judged by content: magic bytes (``filetype``), the streams of OLE2
compound files (``olefile``), the parts of zip containers (read through in
bounded chunks, so zip bombs are caught however their sizes are declared,
under the one zip policy of ``rules.uploads``), strict text decoding, and a
streaming, entity-free XML walk of SVG images. ``check_files`` returns the
problems; ``uploads.store`` stores only files that pass.
"""
import codecs
import logging
import re
import shutil
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass

import filetype
import olefile
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse
from flask_babel import format_decimal, lazy_gettext as _l

from rules.uploads import KB, MB, ZIP_MAX_ENTRIES, ZIP_MAX_UNZIPPED, looks_like_zip_bomb

log = logging.getLogger(__name__)

CHUNK = 64 * KB
MAX_NAME_LENGTH = 120
# Room for the CSRF token, the multipart headers of each part and a message text.
FORM_OVERHEAD = 512 * KB

MAX_NESTING = 1  # an archive inside the container is read too; one inside that is refused

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
PROGRAM_MAGICS = (b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                  b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
# Compressed formats whose expansion could only be bounded by unpacking them too.
ARCHIVE_MAGICS = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00", b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07",
                  b"MSCF", b"\x28\xb5\x2f\xfd")

KIND_LABELS = {
    "pdf": _l("a PDF document"),
    "jpeg": _l("a JPEG image"),
    "png": _l("a PNG image"),
    "gif": _l("a GIF image"),
    "bmp": _l("a BMP image"),
    "tiff": _l("a TIFF image"),
    "svg": _l("an SVG image"),
    "text": _l("plain text"),
    "doc": _l("a Word document (DOC)"),
    "xls": _l("an Excel workbook (XLS)"),
    "ole": _l("another Office 97–2003 file"),
    "docx": _l("a Word document (DOCX)"),
    "xlsx": _l("an Excel workbook (XLSX)"),
    "odt": _l("an OpenDocument text (ODT)"),
    "ods": _l("an OpenDocument spreadsheet (ODS)"),
    "asice": _l("a signed container (EDOC/ASiC-E)"),
    "zip": _l("a ZIP archive"),
    "dwg": _l("a DWG drawing"),
    "cad": _l("a CAD drawing (DWG or DXF)"),
}

# What content each accepted extension must hold.
EXTENSION_KINDS = {
    "pdf": "pdf", "jpg": "jpeg", "jpeg": "jpeg", "png": "png", "gif": "gif", "bmp": "bmp",
    "tif": "tiff", "tiff": "tiff", "svg": "svg", "txt": "text", "doc": "doc", "xls": "xls",
    "docx": "docx", "xlsx": "xlsx", "odt": "odt", "ods": "ods", "edoc": "asice",
    "asice": "asice", "dwg": "dwg", "cad": "cad",
}

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif", "bmp": "image/bmp",
    "tiff": "image/tiff", "svg": "image/svg+xml",
    "doc": "application/msword", "xls": "application/vnd.ms-excel",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "asice": "application/vnd.etsi.asic-e+zip",
    "dwg": "image/vnd.dwg", "dxf": "image/vnd.dxf",
}

IMAGE_MIMES = {"image/jpeg": "jpeg", "image/png": "png", "image/gif": "gif", "image/bmp": "bmp",
               "image/tiff": "tiff"}
ZIP_KINDS = {"docx", "xlsx", "odt", "ods", "asice"}
ODF_MIMETYPES = {b"application/vnd.oasis.opendocument.text": "odt",
                 b"application/vnd.oasis.opendocument.spreadsheet": "ods"}
ASICE_MIMETYPE = b"application/vnd.etsi.asic-e+zip"


# --- Problems -----------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    """Why an upload is refused: for one file (``index``, shown ``name``) or for the set."""

    message: object  # a lazy translated string naming the file and the reason
    name: str = None
    index: int = None

    def __str__(self):
        return str(self.message)


class UploadRefused(Exception):
    """Raised by ``store_files`` when any file is refused; nothing was stored."""

    def __init__(self, problems):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = list(problems)

    @property
    def messages(self):
        """The problems as strings, e.g. to extend a form field's ``errors``."""
        return [str(p) for p in self.problems]


class _Refusal(Exception):
    """One file's refusal, raised inside the checks and turned into a Problem."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


# --- Names and sizes ----------------------------------------------------------------

def sanitise_filename(name, max_length=MAX_NAME_LENGTH):
    """A file name fit for display: no path, no control or invisible characters, limited
    length, the extension kept. Latvian (any) letters stay. Never used as a path."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[/\\]", name)[-1]
    kept = []
    for ch in name:
        category = unicodedata.category(ch)
        if category.startswith("Z") or ch in "\t\n\r":
            kept.append(" ")
        elif not category.startswith("C"):  # control, format (bidi tricks), private, unassigned
            kept.append(ch)
    name = re.sub(r'[<>:"|?*]', "_", "".join(kept))
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > max_length:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[:max_length - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:max_length].rstrip(" .")
    return name or "file"


def extension_of(name):
    """The lower-case extension of a (sanitised) name, or "" when it has none."""
    stem, dot, ext = name.rpartition(".")
    ext = ext.lower()
    return ext if dot and stem and re.fullmatch(r"[a-z0-9]{1,10}", ext) else ""


SIZE_UNITS = (("KB", KB), ("MB", MB), ("GB", 1024 * MB))


def format_size(n):
    """A size for people, in the current locale: bytes under a kilobyte ("15 B"), one decimal
    under ten of a unit ("1,5 KB"), whole units from there ("640 KB", "20 MB")."""
    if n < KB:
        return f"{n} B"
    index = max(i for i, (_unit, size) in enumerate(SIZE_UNITS) if n >= size)
    value = n / SIZE_UNITS[index][1]
    shown = round(value, 1) if value < 10 else round(value)
    if shown >= 1024 and index + 1 < len(SIZE_UNITS):  # 1 048 575 bytes is "1 MB", not "1 024 KB"
        index, shown = index + 1, 1
    return f"{format_decimal(shown)} {SIZE_UNITS[index][0]}"


def accepted_types(policy):
    """The policy's extensions for people: "DOC, DOCX, PDF"."""
    return ", ".join(sorted(e.upper() for e in policy.extensions))


# --- Checking ------------------------------------------------------------------------

@dataclass
class _Upload:
    index: int
    file: object  # werkzeug FileStorage
    stream: object  # seekable binary stream
    name: str
    extension: str
    size: int
    kind: str = None
    content_type: str = None


def _seekable(stream):
    """The stream itself when it can seek (Werkzeug's spooled parts can), else a spooled copy."""
    try:
        if stream.seekable():
            return stream
    except (AttributeError, ValueError):
        pass
    copy = tempfile.SpooledTemporaryFile(max_size=8 * MB)
    shutil.copyfileobj(stream, copy, CHUNK)
    return copy


def _collect(files):
    """The real files of a form: a browser sends one empty nameless part for an empty input."""
    uploads = []
    for file in files or ():
        if file is None:
            continue
        stream = _seekable(file.stream)
        stream.seek(0, 2)
        size = stream.tell()
        stream.seek(0)
        if not file.filename and size == 0:
            continue
        name = sanitise_filename(file.filename)
        uploads.append(_Upload(len(uploads), file, stream, name, extension_of(name), size))
    return uploads


def check_files(files, policy, existing_count=0, existing_total=0):
    """Every reason to refuse these files (an empty list when all are acceptable).

    ``files`` are Werkzeug ``FileStorage`` objects (``request.files.getlist(...)``);
    ``existing_count`` and ``existing_total`` count files already attached to the
    same thing, for the policy's limits on count and total size."""
    return _check(files, policy, existing_count, existing_total)[1]


def _check(files, policy, existing_count, existing_total):
    uploads = _collect(files)
    problems = []
    if existing_count + len(uploads) > policy.max_files:
        if existing_count:
            message = _l("Too many files: at most %(max)d in total, and %(existing)d are already attached.",
                         max=policy.max_files, existing=existing_count)
        else:
            message = _l("Too many files: at most %(max)d can be attached.", max=policy.max_files)
        problems.append(Problem(message))
    if existing_total + sum(u.size for u in uploads) > policy.max_total:
        problems.append(Problem(_l("The files together are larger than %(size)s.",
                                   size=format_size(policy.max_total))))
    for upload in uploads:
        try:
            _check_one(upload, policy)
        except _Refusal as refusal:
            problems.append(Problem(refusal.message, upload.name, upload.index))
        finally:
            upload.stream.seek(0)
    return uploads, problems


def _check_one(up, policy):
    name = up.name
    if not up.extension:
        raise _Refusal(_l("“%(name)s”: the file has no extension. Accepted types: %(types)s.",
                          name=name, types=accepted_types(policy)))
    if not policy.accepts_extension(up.extension) or up.extension not in EXTENSION_KINDS:
        raise _Refusal(_l("“%(name)s”: files of this type are not accepted. Accepted types: %(types)s.",
                          name=name, types=accepted_types(policy)))
    if up.size == 0:
        raise _Refusal(_l("“%(name)s”: the file is empty.", name=name))
    if up.size < policy.min_file_size:
        raise _Refusal(_l("“%(name)s”: the file is smaller than %(size)s.",
                          name=name, size=format_size(policy.min_file_size)))
    if up.size > policy.max_file_size:
        raise _Refusal(_l("“%(name)s”: the file is larger than %(size)s.",
                          name=name, size=format_size(policy.max_file_size)))
    up.kind, up.content_type = _judge(up, policy)


def _label(found):
    if found in KIND_LABELS:
        return KIND_LABELS[found]
    if isinstance(found, str) and found.startswith("other:"):
        return _l("a %(type)s file", type=found[6:].upper())
    return None


def _mismatch(up, expected, found=None):
    """The content is not what the extension says (naming what it is, when known)."""
    found_label = _label(found)
    if found_label is not None and found != expected:
        return _Refusal(_l("“%(name)s”: the content is %(found)s, not %(expected)s.",
                           name=up.name, found=found_label, expected=KIND_LABELS[expected]))
    return _Refusal(_l("“%(name)s”: the content is not %(expected)s.",
                       name=up.name, expected=KIND_LABELS[expected]))


def _sniff(head):
    """A coarse kind from the first bytes: "program", "pdf", "ole", "zip", "dwg", an image
    kind, "other:<ext>" for other recognised binaries, or None (maybe text)."""
    if head.startswith(b"MZ") or head.startswith(PROGRAM_MAGICS):
        return "program"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(OLE_MAGIC):
        return "ole"
    if head.startswith(ZIP_MAGICS):
        return "zip"
    if re.match(rb"AC10\d\d", head):
        return "dwg"
    guess = filetype.guess(head)
    if guess is not None:
        return IMAGE_MIMES.get(guess.mime) or f"other:{guess.extension}"
    return None


def _judge(up, policy):
    """(kind, content type) of an acceptable file; raises _Refusal otherwise."""
    stream = up.stream
    stream.seek(0)
    head = stream.read(8 * KB)
    stream.seek(0)
    found = _sniff(head)
    if found == "program":
        raise _Refusal(_l("“%(name)s”: this is a program, not a document. Programs are not accepted.",
                          name=up.name))
    expected = EXTENSION_KINDS[up.extension]
    if expected in ZIP_KINDS:
        if found == "ole":  # a password-protected DOCX/XLSX is an OLE file
            raise _mismatch(up, expected, _ole_kind(up, stream))
        if found != "zip":
            raise _mismatch(up, expected, found)
        actual = _zip_kind(up, _inspect_zip(up, stream, up.size, _Budget(_zip_budget(policy))))
        if actual != expected:
            raise _mismatch(up, expected, actual)
    elif expected in ("doc", "xls"):
        if found != "ole":
            raise _mismatch(up, expected, found)
        actual = _ole_kind(up, stream)
        if actual != expected:
            raise _mismatch(up, expected, actual)
    elif expected == "cad":
        if found == "dwg":
            return "dwg", CONTENT_TYPES["dwg"]
        if found is None and _is_dxf(head):
            return "dxf", CONTENT_TYPES["dxf"]
        raise _mismatch(up, expected, found)
    elif expected == "svg":
        if found is not None:
            raise _mismatch(up, expected, found)
        _check_svg(up, stream)
    elif expected == "text":
        if found is not None:
            raise _mismatch(up, expected, found)
        return "text", f"text/plain; charset={_text_charset(up, stream)}"
    elif found != expected:  # pdf, images, dwg: the magic bytes decide
        raise _mismatch(up, expected, found)
    return expected, CONTENT_TYPES[expected]


# --- Zip containers -----------------------------------------------------------------

class _Budget:
    """How many bytes the entries of one upload may still inflate to."""

    def __init__(self, limit):
        self.left = limit

    def spend(self, n, up):
        self.left -= n
        if self.left < 0:
            raise _bomb(up)


def _zip_budget(policy):
    return min(ZIP_MAX_UNZIPPED, max(10 * policy.max_file_size, 10 * MB))


def _bomb(up):
    return _Refusal(_l("“%(name)s”: the file unpacks to far more data than it holds "
                       "and looks like a zip bomb.", name=up.name))


def _damaged(up):
    return _Refusal(_l("“%(name)s”: the file is damaged and cannot be read.", name=up.name))


def _password(up):
    return _Refusal(_l("“%(name)s”: the file is protected with a password. "
                       "Please upload it without the password.", name=up.name))


@dataclass
class _ZipSummary:
    names: list
    first: str
    mimetype: bytes


def _inspect_zip(up, stream, size, budget, depth=0):
    """Read every entry through in bounded chunks; refuse bombs, nesting and damage."""
    try:
        archive = zipfile.ZipFile(stream)
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise _damaged(up) from None
    if len(infos) > ZIP_MAX_ENTRIES:
        raise _Refusal(_l("“%(name)s”: the file holds more than %(max)d parts.",
                          name=up.name, max=ZIP_MAX_ENTRIES))
    # Entries that overlap (declared sizes that lie) add up to more than the file.
    if sum(i.compress_size for i in infos) > size:
        raise _bomb(up)
    if any(i.flag_bits & 0x1 for i in infos):
        raise _password(up)
    mimetype = None
    for info in infos:
        if info.is_dir():
            continue
        inflated = 0
        nested = None
        try:
            with archive.open(info) as entry:
                while chunk := entry.read(CHUNK):
                    if inflated == 0:
                        if chunk.startswith(ZIP_MAGICS):
                            if depth >= MAX_NESTING:
                                raise _nested(up)
                            nested = tempfile.SpooledTemporaryFile(max_size=8 * MB)
                        elif chunk.startswith(ARCHIVE_MAGICS):
                            raise _nested(up)
                        if info is infos[0] and info.filename == "mimetype":
                            mimetype = chunk[:256].strip()
                    inflated += len(chunk)
                    budget.spend(len(chunk), up)
                    if looks_like_zip_bomb(inflated, info.compress_size):
                        raise _bomb(up)
                    if nested is not None:
                        nested.write(chunk)
            if nested is not None:
                nested.seek(0)
                _inspect_zip(up, nested, inflated, budget, depth + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                RuntimeError, ValueError):
            # CRC mismatch, truncated data, unsupported compression, overlapping entries
            raise _damaged(up) from None
        finally:
            if nested is not None:
                nested.close()
    return _ZipSummary([i.filename for i in infos], infos[0].filename if infos else None, mimetype)


def _nested(up):
    return _Refusal(_l("“%(name)s”: the file holds compressed archives inside archives, "
                       "which are not accepted.", name=up.name))


def _zip_kind(up, summary):
    """Which container a checked zip is: docx, xlsx, odt, ods, asice or plain zip."""
    names = set(summary.names)
    if summary.first == "mimetype":
        if summary.mimetype == ASICE_MIMETYPE:
            return "asice"
        if summary.mimetype in ODF_MIMETYPES:
            return ODF_MIMETYPES[summary.mimetype]
    if "[Content_Types].xml" in names:
        if any(n.lower().endswith("vbaproject.bin") for n in names):
            # A macro-enabled document (DOCM/XLSM) renamed to look like a plain one.
            raise _Refusal(_l("“%(name)s”: the document contains macros, which are not accepted.",
                              name=up.name))
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
    return "zip"


# --- OLE2 compound files (DOC, XLS) ---------------------------------------------------

def _ole_kind(up, stream):
    try:
        ole = olefile.OleFileIO(stream)
    except Exception:  # any failure of the parser on untrusted bytes means "cannot be read"
        raise _damaged(up) from None
    try:
        if ole.exists("EncryptedPackage"):  # a password-protected DOCX/XLSX
            raise _password(up)
        if ole.exists("WordDocument"):
            return "doc"
        if ole.exists("Workbook") or ole.exists("Book"):
            return "xls"
        return "ole"
    finally:
        ole.close()
        stream.seek(0)


# --- Text, drawings, SVG ------------------------------------------------------------

CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f]")


def _text_charset(up, stream):
    """"utf-8" or "windows-1257" for readable text without control characters."""
    for encoding, charset in (("utf-8-sig", "utf-8"), ("cp1257", "windows-1257")):
        stream.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            while chunk := stream.read(CHUNK):
                if CONTROL_CHARS.search(decoder.decode(chunk)):
                    raise _mismatch(up, "text")
            decoder.decode(b"", final=True)
            return charset
        except UnicodeDecodeError:
            continue
    raise _mismatch(up, "text")


DXF_START = re.compile(rb"\A\s*(?:999\r?\n[^\n]*\n\s*)*0\r?\n\s*SECTION\s*\r?\n")


def _is_dxf(head):
    return head.startswith(b"AutoCAD Binary DXF\r\n\x1a\x00") or bool(DXF_START.match(head))


SVG_NS = "http://www.w3.org/2000/svg"
ACTIVE_ELEMENTS = {"script", "foreignobject", "handler", "listener", "iframe", "embed", "object"}
ANIMATIONS = {"animate", "set", "animatemotion", "animatetransform", "animatecolor"}
SCRIPT_URL = re.compile(r"(?:javascript|vbscript|livescript):")
EXTERNAL_CSS = re.compile(r"@import|url\(\s*['\"]?\s*(?!#)", re.IGNORECASE)


def _local(name):
    return name.rsplit("}", 1)[-1]


def _check_svg(up, stream):
    """A well-formed SVG without scripts, event handlers, embedded content or outside references."""
    active = _Refusal(_l("“%(name)s”: the image contains scripts or active content, "
                         "which are not allowed.", name=up.name))
    external = _Refusal(_l("“%(name)s”: the image refers to outside files or addresses, "
                           "which is not allowed.", name=up.name))
    stream.seek(0)
    root = None
    try:
        for event, element in iterparse(stream, events=("start", "end", "pi")):
            if event == "pi":
                if (element.text or "").lstrip().lower().startswith("xml-stylesheet"):
                    raise external
                continue
            tag = _local(element.tag).lower()
            if event == "end":
                if tag == "style" and EXTERNAL_CSS.search(element.text or ""):
                    raise external
                element.clear()  # keeps memory flat for large drawings
                continue
            if root is None:
                root = element
                if element.tag not in ("svg", f"{{{SVG_NS}}}svg"):
                    raise _mismatch(up, "svg")
            if tag in ACTIVE_ELEMENTS:
                raise active
            if tag in ANIMATIONS and element.get("attributeName", "").lower().endswith("href"):
                raise active
            for attribute, value in element.attrib.items():
                attribute = _local(attribute).lower()
                plain = re.sub(r"[\s\x00-\x1f]", "", value).lower()
                if attribute.startswith("on") or SCRIPT_URL.search(plain):
                    raise active
                if attribute == "href":
                    if plain.startswith("data:"):
                        raise active
                    if plain and not plain.startswith("#"):
                        raise external
                if EXTERNAL_CSS.search(value):
                    raise external
    except DefusedXmlException:  # entity declarations, external DTD references
        raise external from None
    except (ParseError, ValueError, UnicodeDecodeError):
        raise _mismatch(up, "svg") from None
    if root is None:
        raise _mismatch(up, "svg")
