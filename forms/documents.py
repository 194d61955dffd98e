"""Document forms: the questionnaire (built from its type's fields), staff decisions, signing."""
import re
import secrets
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import (BooleanField, HiddenField, MultipleFileField, RadioField, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.fields.choices import SelectChoice

from forms.fields import choices, PortalForm
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from models.admin import startable_document_types


class Amount:
    """Money as people type it in Latvia: 1 234,56 (or 1234.56); stored as 1234.56."""

    def __call__(self, form, field):
        text = re.sub(r"[\s\u00a0\u202f€]", "", field.data or "")
        if "," in text and "." in text:  # 1.234,56 or 1,234.56: the last one marks the cents
            group = "." if text.rindex(",") > text.rindex(".") else ","
            text = text.replace(group, "")
        text = text.replace(",", ".")
        if not text:
            return
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValidationError(_l("Enter an amount like 1 234,56.")) from None
        if value <= 0 or value >= Decimal("1e12") or value.as_tuple().exponent < -2:
            raise ValidationError(_l("Enter an amount like 1 234,56."))
        field.data = f"{value:.2f}"


class WholeNumber:
    def __call__(self, form, field):
        text = (field.data or "").strip()
        if text and (not text.isdigit() or not 0 < int(text) <= 1200):
            raise ValidationError(_l("Enter a whole number of months (1–1200)."))
        field.data = text


class Iban:
    """An IBAN whose check digits are right (ISO 13616, mod 97)."""

    def __call__(self, form, field):
        text = re.sub(r"\s", "", field.data or "").upper()
        field.data = text
        if not text:
            return
        if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", text):
            raise ValidationError(_l("Enter an IBAN like LV80BANK0000435195001."))
        digits = "".join(str(int(c, 36)) for c in text[4:] + text[:4])
        if int(digits) % 97 != 1:
            raise ValidationError(_l("The IBAN's check digits are not right."))


def _field_for(spec):
    """A WTForms field for one question. Every question is optional while saving; the
    document checks on submit that required ones are filled (Document.completeness_problems)."""
    common = {"description": spec.hint}
    if spec.kind == "textarea":
        return TextAreaField(spec.label, validators=[Optional(), Length(max=spec.max_length)],
                             render_kw={"rows": 4, "cols": 40, "maxlength": spec.max_length}, **common)
    if spec.kind == "choice":
        options = [SelectChoice("", _l("— choose —"))] + [SelectChoice(v, label) for v, label in spec.choices]
        return SelectField(spec.label, choices=options, validators=[Optional()], **common)
    if spec.kind == "yesno":
        return RadioField(spec.label, choices=choices([("yes", _l("Yes")), ("no", _l("No"))]),
                          validators=[Optional()], **common)
    checks = {"amount": [Amount()], "integer": [WholeNumber()], "iban": [Iban()]}.get(spec.kind, [])
    render = {"maxlength": spec.max_length}
    if spec.kind in ("amount", "integer"):
        render["inputmode"] = "decimal" if spec.kind == "amount" else "numeric"
    return StringField(spec.label, validators=[Optional(), Length(max=spec.max_length), *checks],
                       render_kw=render, filters=[lambda v: v.strip() if isinstance(v, str) else v], **common)


class _QuestionnaireBase(PortalForm):
    nonce = HiddenField()
    files = MultipleFileField(_l("Add files"))
    remove_files = SelectMultipleField(_l("Remove files"), coerce=int, choices=[],
                                       option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False),
                                       validate_choice=False)

    def values(self, doc_type):
        return {f.name: self[f.name].data or "" for f in doc_type.fields}

    def add_problems(self, problems):
        for name, messages in problems.items():
            target = self[name] if name in self._fields else None
            if target is None:
                self.form_errors.extend(messages)
            else:
                target.errors = list(target.errors) + list(messages)


def editable_values(doc_type, values, decimal_mark=","):
    """Saved answers as the form shows them: amounts with the locale's decimal mark and no grouping."""
    shown = dict(values)
    for spec in doc_type.fields:
        if spec.kind == "amount" and shown.get(spec.name):
            shown[spec.name] = str(shown[spec.name]).replace(".", decimal_mark)
    return shown


def questionnaire_form(doc_type, **kwargs):
    """The form of a document type: its questions, files, and the double-submit nonce."""
    attrs = {spec.name: _field_for(spec) for spec in doc_type.fields}
    form_class = type(f"{doc_type.code.title().replace('_', '')}Form", (_QuestionnaireBase,), attrs)
    form = form_class(**kwargs)
    if not form.nonce.data:
        form.nonce.data = secrets.token_urlsafe(16)
    return form


class NewDocumentForm(PortalForm):
    doc_type = RadioField(_l("Document"), validators=[DataRequired(_l("Choose a document."))])
    # The type the client confirmed to start although one of it is still open.
    another = HiddenField()

    def set_choices(self, client_kind):
        """The types a client may start: their kind's, less those an administrator switched off."""
        self.doc_type.choices = choices([(t.code, t.title) for t in startable_document_types(client_kind)])


class AddFilesForm(PortalForm):
    files = MultipleFileField(_l("Files"))


class AskForm(PortalForm):
    question = TextAreaField(_l("Your question"),
                             validators=[DataRequired(_l("Write your question.")), Length(max=2000)],
                             render_kw={"rows": 4, "cols": 40, "maxlength": 2000})


class SignedContainerForm(PortalForm):
    container = MultipleFileField(_l("Signed package (EDOC or ASiC-E)"),
                                  # The types and the size come from the policy (the upload hint).
                                  description=_l("The container holding every file of the package and "
                                                 "your qualified e-signature."))


class ActionForm(PortalForm):
    """A form with nothing but the CSRF token: agree, sign with the signing service."""


class AcceptForm(PortalForm):
    authority_checked = BooleanField(_l("I checked the submitter's authority (a power of attorney)"))
    note = TextAreaField(_l("Note for the history (optional)"), validators=[Length(max=2000)],
                         render_kw={"rows": 2, "cols": 40, "maxlength": 2000})


def request_info_form(doc_type, **kwargs):
    """One comment box per field of the document (and for the files and the whole)."""
    attrs = {f"comment_{name}": TextAreaField(label, validators=[Length(max=2000)],
                                              render_kw={"rows": 2, "cols": 40, "maxlength": 2000})
             for name, label in doc_type.comment_targets()}
    form = type("RequestInfoForm", (PortalForm,), attrs)(**kwargs)
    form.targets = [(name, form[f"comment_{name}"]) for name, _label in doc_type.comment_targets()]
    return form


def comments_of(form):
    return {name: field.data for name, field in form.targets if field.data and field.data.strip()}


class PackageForm(PortalForm):
    files = MultipleFileField(_l("Documents to sign"))
    include_submission = BooleanField(_l("Include the client's submitted files"), default=True)
    note = TextAreaField(_l("Message to the client (optional)"), validators=[Length(max=2000)],
                         render_kw={"rows": 3, "cols": 40, "maxlength": 2000})


class ResendForm(PortalForm):
    files = MultipleFileField(_l("Documents to add"))
    note = TextAreaField(_l("Answer to the client"), validators=[Length(max=2000)],
                         render_kw={"rows": 3, "cols": 40, "maxlength": 2000})
