"""The portal's form base and the field checks shared by several forms."""
from flask import current_app
import wtforms.widgets
import wtforms.widgets.core
from flask_babel import get_translations, lazy_gettext as _l, ngettext
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import PasswordField, SelectField, StringField
from wtforms.fields.choices import Choice, SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError
from wtforms.widgets import Select
from wtforms.widgets.core import clean_key

import rules
from rules.sanitize import strip_bidi_controls


def html_params(**kwargs):
    """WTForms' ``html_params`` (the attributes of every input, button, select and label it
    renders), giving the same text a quarter of the time: WTForms builds each attribute
    through ``Markup.format``'s string formatter, and a form of a few fields spent a tenth of
    its page doing so. Keys escaped, values escaped with their quotes as &quot;, True as the
    bare name, False left out, sorted by key (``tests/test_performance.py`` compares the two)."""
    params = []
    for key, value in sorted(kwargs.items()):
        key = escape(clean_key(key))
        if value is True:
            params.append(str(key))
        elif value is not False:
            params.append(f'{key}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return Markup(" ".join(params))


# Installed where WTForms looks it up: the module (text areas, selects, lists), the package
# (labels) and the classes that keep their own (inputs, buttons).
WTFORMS_HTML_PARAMS = wtforms.widgets.core.html_params
wtforms.widgets.core.html_params = wtforms.widgets.html_params = html_params
for _widget in (wtforms.widgets.core.Input, wtforms.widgets.core.Button):
    _widget.html_params = staticmethod(html_params)


class PortalTranslations:
    """WTForms' own messages (a choice that is not offered, a length past a limit the input
    does not set) in the visitor's language, from the portal's catalogue: WTForms ships no
    Latvian, so Flask-WTF's translations showed them in English."""

    def gettext(self, string):
        return get_translations().ugettext(string)

    def ngettext(self, singular, plural, n):
        return get_translations().ungettext(singular, plural, n)


PORTAL_TRANSLATIONS = PortalTranslations()


def _wtforms_messages():
    """Never called: marks the WTForms messages a request can still meet, so that ``make
    update-messages`` keeps them in the catalogue (WTForms formats them itself afterwards)."""
    return (_l("Not a valid choice."), _l("Invalid Choice: could not coerce."),
            _l("Invalid choice(s): one or more data inputs could not be coerced."),
            _l("This field is required."), _l("Not a valid integer value."), _l("Invalid input."),
            _l("Field must be between %(min)d and %(max)d characters long."),
            ngettext("Field must be at least %(min)d character long.",
                     "Field must be at least %(min)d characters long.", 1),
            ngettext("Field cannot be longer than %(max)d character.",
                     "Field cannot be longer than %(max)d characters.", 1),
            ngettext("Field must be exactly %(max)d character long.",
                     "Field must be exactly %(max)d characters long.", 1),
            ngettext("'%(value)s' is not a valid choice for this field.",
                     "'%(value)s' are not valid choices for this field.", 1))


class PortalForm(FlaskForm):
    """Every form of the portal. Text typed into any text field (subjects, message bodies,
    questionnaire answers, notes, names) loses its bidirectional controls before a view sees
    it; passwords are taken as typed. WTForms' own messages come from the portal's catalogue."""

    class Meta:
        def get_translations(self, form):
            return PORTAL_TRANSLATIONS

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


def code_field(label, missing=None, wrong_length=None):
    """A 6-digit code. A form with two codes names each in its messages, which the error
    summary shows without the label."""
    return StringField(label, validators=[
        DataRequired(missing or _l("Enter the code.")),
        Length(min=6, max=6, message=wrong_length or _l("The code has 6 digits."))],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code",
                   "pattern": "[0-9]{6}", "maxlength": 6})


class SharedOptionsSelect(Select):
    """WTForms' select, for a long list every request in a locale shares (every country, in
    three selects of the registration): its options are rendered once per list and locale
    (``LocalisedSelect.share_choices``) and reused, and only the chosen one is rendered again,
    marked selected. The markup is WTForms' own, byte for byte; any other select is rendered
    the usual way."""

    def __init__(self):
        super().__init__()
        self._rendered = {}  # shared key → (every option's markup joined, {value: (markup, choice)})

    def _options(self, key, shared):
        entry = self._rendered.get(key)
        if entry is None:
            options = {c.value: (self.render_option(Choice(c.value, c.label, False, c.render_kw)), c)
                       for c in shared}
            joined = "".join(markup for markup, _c in options.values())
            entry = self._rendered[key] = (joined, options) if len(options) == len(shared) else None
        return entry

    def __call__(self, field, **kwargs):
        key = getattr(field, "shared_key", None)
        entry = None if key is None or self.multiple or field.coerce is not str else self._options(key, field.choices)
        if entry is None:
            return super().__call__(field, **kwargs)
        joined, options = entry
        chosen = options.get(field.data) if isinstance(field.data, str) else None
        if chosen is not None:
            markup, c = chosen
            joined = joined.replace(markup, self.render_option(Choice(c.value, c.label, True, c.render_kw)), 1)
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for k in dir(flags):
            if k in self.validation_attrs and k not in kwargs:
                kwargs[k] = getattr(flags, k)
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{joined}</select>")


_SHARED_CHOICES = {}


class LocalisedSelect(SelectField):
    """A select whose choices are set per request (e.g. country names in the UI language).
    A long list that is the same for every request in a locale is shared instead
    (``share_choices``): made and rendered once per process."""

    widget = SharedOptionsSelect()

    def share_choices(self, key, make):
        """Use the choices ``make()`` gives (value, label pairs) for ``key``, which names the
        list and everything it depends on (the locale): made once per process and key, and
        their options rendered once, instead of 246 options built and rendered per request."""
        shared = _SHARED_CHOICES.get(key)
        if shared is None:
            shared = _SHARED_CHOICES[key] = choices(make())
        self.choices, self.shared_key = shared, key

    def pre_validate(self, form):
        if self.data in (None, "") and not self.flags.required:
            return
        super().pre_validate(form)


def choices(pairs):
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


class PhoneNumberChecks:
    """For a form with ``phone_region`` (a LocalisedSelect) and ``phone``: the country codes in
    the visitor's language, and the number checked and normalised for the chosen country
    (``field.normalised``), the same wherever a phone number is typed."""

    def set_choices(self, locale):
        self.phone_region.share_choices(("phone regions", locale), lambda: rules.phone_regions(locale))

    def validate_phone(self, field):
        normalised = rules.normalise_phone(field.data, self.phone_region.data or "LV")
        if not normalised:
            raise ValidationError(_l("Enter a valid phone number for the chosen country."))
        field.normalised = normalised
