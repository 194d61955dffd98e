"""Blank PDF questionnaires of the types filled in on paper, in the visitor's language (fpdf2)."""
import unicodedata
from pathlib import Path

from flask import abort, current_app
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from blueprints.documents import bp
from rules import documents as R


@bp.route("/documents/forms/<code>.pdf")
@login_required
def questionnaire_pdf(code):
    """The blank PDF questionnaire of a type filled in on paper (DOC-2)."""
    doc_type = R.DOCUMENT_TYPES.get(code)
    if doc_type is None or doc_type.questionnaire != R.PDF:
        abort(404)
    response = current_app.response_class(_blank_pdf(doc_type), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{code}.pdf"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


QUESTIONNAIRE_LINES = (_l("Company name"), _l("Registration number"), _l("Legal address"),
                       _l("Field of business"), _l("Countries of business partners"),
                       _l("Expected monthly turnover, EUR"),
                       _l("Ultimate beneficial owners (name, personal code, share in per cent)"),
                       _l("Representatives (name, personal code, position)"),
                       _l("Place, date, signature"))
UNICODE_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Debian fonts-dejavu-core


def new_pdf(title):
    """An A4 PDF (fpdf2) with its first page, the font family to write with and ``text``, which
    makes a value writable in it: every PDF of the portal starts here.

    DejaVu Sans carries the Latvian letters; without it (no fonts-dejavu-core) the
    built-in Helvetica is used and diacritics are folded (ā → a) rather than lost."""
    from fpdf import FPDF  # heavy: imported when a PDF is asked for, not by every worker

    pdf = FPDF(format="A4")
    pdf.set_title(str(title))
    pdf.set_creator("Kabinets")
    pdf.add_page()
    if UNICODE_FONT.exists():
        pdf.add_font("DejaVu", fname=str(UNICODE_FONT))
        return pdf, "DejaVu", str
    return pdf, "Helvetica", _folded


def _folded(value):
    return unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()


def _blank_pdf(doc_type):
    """A one-page PDF form to print and fill in, in the visitor's language."""
    pdf, family, text = new_pdf(doc_type.title)
    pdf.set_font(family, size=16)
    pdf.cell(0, 12, text(doc_type.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=10)
    for label in QUESTIONNAIRE_LINES:
        pdf.ln(6)
        pdf.cell(0, 6, text(label), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(8)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    return bytes(pdf.output())
