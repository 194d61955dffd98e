"""The portal's form base and the field checks shared by several forms."""
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

import rules
from rules.sanitize import strip_bidi_controls


class PortalForm(FlaskForm):
    """Every form of the portal. Text typed into any text field (subjects, message bodies,
    questionnaire answers, notes, names) loses its bidirectional controls before a view sees
    it; passwords are taken as typed."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            field_class = unbound_field.field_class
            if issubclass(field_class, StringField) and not issubclass(field_class, PasswordField):
                filters = (*(unbound_field.kwargs.get("filters") or ()), strip_bidi_controls)
                options = dict(options, filters=filters)
            return unbound_field.bind(form=form, **options)


class StrongPassword:
    """The seed's password rule plus ASVS: length, character classes, not common."""

    def __call__(self, form, field):
        problems = rules.password_problems(field.data or "")
        if problems:
            raise ValidationError(" ".join(str(p) for p in problems))


def takes_test_domains():
    """Addresses under ``.test`` (the demo accounts') are taken in development only: in
    production no e-mail could reach them."""
    return current_app.config.get("PORTAL_ENV") == "development"


def _refuse_reserved_domain(value):
    """A well-formed address under a special-use domain is refused for that, not its format."""
    domain = rules.reserved_email_domain(value)
    if domain:
        raise ValidationError(_l("No e-mail can be delivered to “%(domain)s”, a reserved domain. "
                                 "Enter the address you use.", domain=domain))


class ValidEmail:
    def __call__(self, form, field):
        normalised = rules.normalise_email(field.data, takes_test_domains())
        if not normalised:
            _refuse_reserved_domain(field.data)
            raise ValidationError(_l("Enter an e-mail address like name@example.lv."))
        field.normalised = normalised


class Identifier:
    """E-mail or phone in +xxx12345678 form, as ACC-9 asks."""

    def __call__(self, form, field):
        kind, value = rules.parse_identifier(field.data, takes_test_domains())
        if not kind:
            _refuse_reserved_domain(field.data)
            raise ValidationError(_l("Enter your e-mail or phone number in the form +37120000000."))
        field.kind, field.normalised = kind, value


def new_password_fields(label=None):
    """A new password and its confirmation, with the rule shown as help."""
    password = PasswordField(
        label or _l("Password"),
        validators=[DataRequired(_l("Enter a password.")), StrongPassword()],
        description=_l("At least 8 characters with a digit, a lower-case and an upper-case "
                       "letter and a symbol."),
        render_kw={"autocomplete": "new-password", "maxlength": rules.PASSWORD_MAX_LENGTH})
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[DataRequired(_l("Repeat the password.")),
                    EqualTo("password", _l("The passwords do not match."))],
        render_kw={"autocomplete": "new-password", "maxlength": rules.PASSWORD_MAX_LENGTH})
    return password, confirm


def code_field(label):
    return StringField(label, validators=[
        DataRequired(_l("Enter the code.")),
        Length(min=6, max=6, message=_l("The code has 6 digits."))],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code",
                   "pattern": "[0-9]{6}", "maxlength": 6})


class LocalisedSelect(SelectField):
    """A select whose choices are set per request (e.g. country names in the UI language)."""

    def pre_validate(self, form):
        if self.data in (None, "") and not self.flags.required:
            return
        super().pre_validate(form)


def choices(pairs):
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]
