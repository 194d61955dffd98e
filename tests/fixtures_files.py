"""Small real files of every accepted type, and the bad files uploads must refuse.

Each builder makes its bytes from scratch (no files checked in): a PDF with a
correct cross-reference table, PNG/GIF/BMP/TIFF images, OOXML/ODF/ASiC-E zips,
and OLE2 compound files written sector by sector (olefile only reads them).
"""
import io
import struct
import zipfile
import zlib
from functools import cache

KB = 1024


# --- Plain formats -------------------------------------------------------------------

def pdf(pad=1200):
    """A one-page PDF; ``pad`` bytes of comment keep it over SEED_000's 1 KB minimum."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    out += b"%" + b"x" * pad + b"\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(pad=1200):
    """A 1×1 white PNG with a text chunk of ``pad`` bytes."""
    return (b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + _chunk(b"tEXt", b"Comment\x00" + b"k" * pad)
            + _chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
            + _chunk(b"IEND", b""))


def jpeg(pad=1200):
    """JFIF-headed bytes with a comment segment (the magic is what is judged)."""
    comment = b"k" * pad
    return (b"\xff\xd8\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + b"\xff\xd9")


def gif(pad=1200):
    """A 1×1 GIF89a with a comment extension."""
    comment = b"".join(bytes([len(part)]) + part
                       for part in (b"k" * 255 for _ in range(pad // 255 + 1)))
    return (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00"
            + b"\x21\xfe" + comment + b"\x00"
            + b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b")


def bmp(width=20, height=20):
    """A 24-bit BMP (20×20 is 1.2 KB of pixels)."""
    row = (b"\xff\x80\x00" * width).ljust((width * 3 + 3) // 4 * 4, b"\x00")
    pixels = row * height
    header = struct.pack("<2sIHHI", b"BM", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return header + info + pixels


def tiff(width=40, height=40):
    """An uncompressed 8-bit greyscale TIFF."""
    pixels = bytes(range(256)) * (width * height // 256) + b"\x80" * (width * height % 256)
    entries = [(256, 3, 1, width), (257, 3, 1, height), (258, 3, 1, 8), (259, 3, 1, 1),
               (262, 3, 1, 1), (273, 4, 1, 0), (278, 3, 1, height), (279, 4, 1, len(pixels))]
    ifd_size = 2 + 12 * len(entries) + 4
    data_offset = 8 + ifd_size
    out = bytearray(b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries)))
    for tag, kind, count, value in entries:
        if tag == 273:
            value = data_offset
        packed = struct.pack("<HI", value, 0)[:4] if kind == 3 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, kind, count) + packed
    out += struct.pack("<I", 0) + pixels
    return bytes(out)


def text_utf8():
    return ("Līgums Nr. 42\nPuses: SIA “Ābele” un Jānis Bērziņš.\n" * 30).encode()


def text_cp1257():
    return ("Ģirts Ķuzis, Rīga, Čiekurkalna iela 5\r\n" * 30).encode("cp1257")


def dwg(pad=1200):
    return b"AC1032" + b"\x00" * 6 + bytes(range(256)) * (pad // 256 + 1)


def dxf():
    return ("  0\nSECTION\n  2\nHEADER\n  9\n$ACADVER\n  1\nAC1015\n  0\nENDSEC\n"
            "  0\nSECTION\n  2\nENTITIES\n" + "  0\nLINE\n  8\n0\n 10\n0.0\n 20\n0.0\n 11\n1.0\n 21\n1.0\n" * 20
            + "  0\nENDSEC\n  0\nEOF\n").encode()


def exe(pad=2048):
    """The start of a Windows program (MZ header and the DOS stub's message)."""
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 50 + \
        b"This program cannot be run in DOS mode.\r\r\n$" + b"\x00" * pad


def elf(pad=2048):
    return b"\x7fELF\x02\x01\x01\x00" + b"\x00" * pad


# --- SVG -----------------------------------------------------------------------------

SVG_OPEN = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="20" height="20">'


def svg(body='<defs><linearGradient id="g"><stop offset="0" stop-color="#036"/></linearGradient></defs>'
             '<rect width="20" height="20" fill="url(#g)"/><use xlink:href="#g"/>', prolog=""):
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}{SVG_OPEN}{body}</svg>\n').encode()


# --- OLE2 compound files (DOC, XLS) ---------------------------------------------------

FREE, END, FAT_SECTOR, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _dir_entry(name, kind, child=NOSTREAM, start=END, size=0):
    encoded = (name + "\x00").encode("utf-16-le") if name else b""
    return struct.pack("<64sHBBIII16sIQQIII", encoded, len(encoded), kind, 1,
                       NOSTREAM, NOSTREAM, child, b"\x00" * 16, 0, 0, 0, start, size, 0)


def ole(stream_name="WordDocument", size=4096):
    """A version-3 compound file with one stream (size ≥ 4096, so no mini stream is needed)."""
    sector = 512
    data_sectors = -(-size // sector)
    fat = [FAT_SECTOR, END] + [3 + i for i in range(data_sectors - 1)] + [END]
    fat += [FREE] * (128 - len(fat))
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\x00" * 16,
                         0x3E, 3, 0xFFFE, 9, 6, b"\x00" * 6, 0, 1, 1, 0, 4096, END, 0, END, 0)
    header += struct.pack("<109I", 0, *([FREE] * 108))
    directory = (_dir_entry("Root Entry", 5, child=1)
                 + _dir_entry(stream_name, 2, start=2, size=size)
                 + _dir_entry("", 0) + _dir_entry("", 0))
    body = (b"\xec\xa5" + bytes(range(256)) * (size // 256 + 1))[:size].ljust(data_sectors * sector, b"\x00")
    return header + struct.pack("<128I", *fat) + directory + body


def doc():
    return ole("WordDocument")


def xls():
    return ole("Workbook")


# --- Zip containers ------------------------------------------------------------------

LONG_TEXT = ("Pakalpojuma līgums starp SIA “Ābele” un Jāni Bērziņu. " * 30)


def _zip(entries, stored=()):
    """A zip of (name, bytes) pairs; names in ``stored`` are not compressed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data, zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


CONTENT_TYPES_DOCX = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    '</Types>')


def _rels(target):
    return ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="{target}"/>'
            '</Relationships>')


def docx(document=None, extra=()):
    document = document if document is not None else (
        '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f'<w:body><w:p><w:r><w:t>{LONG_TEXT}</w:t></w:r></w:p></w:body></w:document>').encode()
    return _zip([("[Content_Types].xml", CONTENT_TYPES_DOCX), ("_rels/.rels", _rels("word/document.xml")),
                 ("word/document.xml", document), *extra], stored={"word/document.xml"})


def xlsx():
    content_types = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '</Types>')
    workbook = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                '<sheets><sheet name="Lapa1" sheetId="1" r:id="rId1"/></sheets></workbook>')
    workbook_rels = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                     '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
                     '</Relationships>')
    rows = "".join(f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>Rēķins {i}</t></is></c></row>' for i in range(1, 30))
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f'<sheetData>{rows}</sheetData></worksheet>')
    return _zip([("[Content_Types].xml", content_types), ("_rels/.rels", _rels("xl/workbook.xml")),
                 ("xl/workbook.xml", workbook), ("xl/_rels/workbook.xml.rels", workbook_rels),
                 ("xl/worksheets/sheet1.xml", sheet)], stored={"xl/worksheets/sheet1.xml"})


def _odf(mimetype, body):
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
                f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mimetype}"/>'
                '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               f'office:version="1.2"><office:body>{body}</office:body></office:document-content>')
    return _zip([("mimetype", mimetype), ("content.xml", content), ("META-INF/manifest.xml", manifest)],
                stored={"mimetype", "content.xml"})


def odt():
    return _odf("application/vnd.oasis.opendocument.text",
                f"<office:text><text:p>{LONG_TEXT}</text:p></office:text>")


def ods():
    cells = "".join(f"<table:table-row><table:table-cell><text:p>Summa {i}</text:p></table:table-cell></table:table-row>"
                    for i in range(30))
    return _odf("application/vnd.oasis.opendocument.spreadsheet",
                f'<office:spreadsheet><table:table table:name="Lapa1">{cells}</table:table></office:spreadsheet>')


def asice(data=None):
    """An ASiC-E (EDOC) container: mimetype first and stored, manifest, a signature file."""
    data = data if data is not None else LONG_TEXT.encode()
    manifest = ('<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.etsi.asic-e+zip"/>'
                '<manifest:file-entry manifest:full-path="ligums.txt" manifest:media-type="text/plain"/></manifest:manifest>')
    signature = ('<?xml version="1.0" encoding="UTF-8"?><asic:XAdESSignatures xmlns:asic="http://uri.etsi.org/02918/v1.2.1#" '
                 'xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:Signature Id="S0"/></asic:XAdESSignatures>')
    return _zip([("mimetype", "application/vnd.etsi.asic-e+zip"), ("ligums.txt", data),
                 ("META-INF/manifest.xml", manifest), ("META-INF/signatures0.xml", signature)],
                stored={"mimetype", "ligums.txt"})


# --- Hostile containers --------------------------------------------------------------

@cache
def zip_bomb_docx(megabytes=20):
    """A DOCX whose document part inflates from ~20 KB to ``megabytes`` MB of zeros."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES_DOCX)
        archive.writestr("_rels/.rels", _rels("word/document.xml"))
        with archive.open("word/document.xml", "w") as part:
            block = b"\x00" * (1024 * 1024)
            for _ in range(megabytes):
                part.write(block)
    return buffer.getvalue()


def lying_sizes_docx():
    """The zip bomb with its document part declared 1,000 bytes long in both headers."""
    data = bytearray(zip_bomb_docx())
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = archive.getinfo("word/document.xml")
    true_size = struct.pack("<I", info.file_size)
    lie = struct.pack("<I", 1000)
    # The local header (at header_offset) and the central directory both carry the size.
    local_size_at = info.header_offset + 22
    assert data[local_size_at:local_size_at + 4] == true_size
    data[local_size_at:local_size_at + 4] = lie
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46:central + 46 + name_length] == b"word/document.xml":
            assert data[central + 24:central + 28] == true_size
            data[central + 24:central + 28] = lie
            break
        central = data.find(b"PK\x01\x02", central + 4)
    else:
        raise AssertionError("no central directory entry for word/document.xml")
    return bytes(data)


def many_entries_docx(count=1001):
    return docx(extra=[(f"word/media/p{i}.xml", b"<p/>") for i in range(count)])


def nested_zip_docx(depth=2):
    """A DOCX with an embedded workbook; ``depth`` 2 hides a zip inside that workbook too."""
    inner = xlsx()
    for _ in range(depth - 1):
        inner = _zip([("[Content_Types].xml", CONTENT_TYPES_DOCX), ("xl/embeddings/inner.zip", inner)])
    return docx(extra=[("word/embeddings/Microsoft_Excel_Worksheet.xlsx", inner)])


def gzip_inside_docx():
    import gzip
    return docx(extra=[("word/media/data.gz", gzip.compress(b"\x00" * 100000))])


def docm_as_docx():
    return docx(extra=[("word/vbaProject.bin", ole("VBA", 4096))])


def encrypted_docx():
    """How Office saves a password-protected DOCX: an OLE file with an EncryptedPackage."""
    return ole("EncryptedPackage")
