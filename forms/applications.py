"""The onboarding application's forms (seed 004 §3.1, §3.2.1, §3.2.2): which fields a form has
follows ``rules.onboarding.form_shape``; repeating groups are WTForms FieldLists of sub-forms.
Fields keep the text as typed (a draft is saved as it is); the checks run before submitting."""
from datetime import datetime
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from wtforms import (BooleanField, FieldList, Form, FormField, MultipleFileField, SelectField, SelectMultipleField,
                     StringField)
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

import rules
from forms.fields import LocalisedSelect, PortalForm, ValidEmail, choices
from models.admin import offered_services
from rules import onboarding as O
from rules import personal_code
from rules.calendar import RIGA

LV = "LV"
NAME_MAX, TEXT_MAX = 200, 200


def today():
    """The day of filling in, in Riga."""
    return datetime.now(RIGA).date()


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def text(label, required=None, max_length=TEXT_MAX, validators=(), optional=True, **kwargs):
    """A text field; ``optional=False`` for one whose check decides when it is required
    (WTForms' Optional would stop the checks of an empty field before it)."""
    checks = [DataRequired(required)] if required else ([Optional()] if optional else [])
    checks += list(validators)
    render = {"maxlength": max_length, **kwargs.pop("render_kw", {})}
    return StringField(label, validators=[*checks, Length(max=max_length)], filters=[_strip],
                       render_kw=render, **kwargs)


def date_text(label, required):
    return text(label, required, max_length=10, description=_l("dd.mm.yyyy"),
                render_kw={"inputmode": "numeric", "autocomplete": "off"})


def select(label, pairs, required=None):
    return SelectField(label, choices=choices([("", _l("— choose —")), *pairs]),
                       validators=[DataRequired(required)] if required else [Optional()])


def country(label, required=None):
    field = LocalisedSelect(label, validators=[DataRequired(required)] if required else [Optional()],
                            validate_choice=True)
    return field


class SubForm(Form):
    """A group entry or a part of the application: the portal's field handling, no CSRF of its own."""

    class Meta(PortalForm.Meta):
        pass


# --- Checks shared by the people in the form -------------------------------------------------

class PersonChecks:
    """Name, personal code and birth date as the seed asks for every person: the code is
    required for a Latvian citizen or resident (``code_required``) and must be valid; an
    old-form code must carry the birth date given; the person is at least 18 today."""

    def code_required(self):
        return False

    def validate_personal_code(self, field):
        if not field.data:
            if self.code_required():
                raise ValidationError(_l("Enter the personal code: it is required for Latvian citizens and residents."))
            return
        problem = personal_code.problem(field.data)
        if problem:
            raise ValidationError(problem)
        field.data = personal_code.normalise(field.data)

    def validate_birth_date(self, field):
        born = O.parse_date(field.data)
        if born is None:
            raise ValidationError(_l("Enter the date of birth as dd.mm.yyyy, for example 01.02.1990."))
        problem = O.birth_date_problem(born, today())
        if problem:
            raise ValidationError(problem)
        coded = personal_code.birth_date(self.personal_code.data or "")
        if coded and not self.personal_code.errors and coded != born:
            raise ValidationError(_l("The date of birth does not match the personal code."))


def _share_check(form, field):
    problem = O.share_problem(O.parse_share(field.data))
    if problem:
        raise ValidationError(problem)


def _registration_date_check(form, field):
    day = O.parse_date(field.data)
    if day is None:
        raise ValidationError(_l("Enter the registration date as dd.mm.yyyy, for example 15.03.2012."))
    problem = O.registration_date_problem(day, today())
    if problem:
        raise ValidationError(problem)


NAME_REQUIRED = _l("Enter the name and surname.")
BIRTH_REQUIRED = _l("Enter the date of birth.")
SHARE_LABEL = _l("Share (%)")


class RepresentativeForm(PersonChecks, SubForm):
    full_name = text(_l("Name, surname"), NAME_REQUIRED, NAME_MAX, description=_l("In Latvian or English."))
    personal_code = text(_l("Personal code"), max_length=12, optional=False,
                         description=_l("Required if the person is a Latvian citizen or resident."))
    birth_date = date_text(_l("Date of birth"), BIRTH_REQUIRED)
    citizenship = country(_l("Citizenship"), _l("Choose the citizenship."))
    position = text(_l("Basis of representation / position"), _l("Enter the basis of representation or the position."))
    representation_type = select(_l("Type of representation"), O.REPRESENTATION_TYPES,
                                 _l("Choose the type of representation."))
    email = text(_l("E-mail address"), _l("Enter the representative's e-mail address."), 254,
                 render_kw={"type": "email", "autocomplete": "off"})
    represents = BooleanField(_l("Will represent the client in relations with the bank"))

    def code_required(self):
        return self.citizenship.data == LV

    def validate_email(self, field):
        if field.data:
            ValidEmail()(self, field)
            field.data = field.normalised


class NaturalOwnerForm(PersonChecks, SubForm):
    full_name = text(_l("Name, surname"), NAME_REQUIRED, NAME_MAX, description=_l("In Latvian or English."))
    personal_code = text(_l("Personal code"), max_length=12, optional=False,
                         description=_l("Required if the person is a Latvian citizen or resident."))
    birth_date = date_text(_l("Date of birth"), BIRTH_REQUIRED)
    citizenship = country(_l("Citizenship"), _l("Choose the citizenship."))
    residence = country(_l("Country of residence"), _l("Choose the country of residence."))
    share = text(SHARE_LABEL, _l("Enter the share in per cent."), 8, validators=[_share_check],
                 render_kw={"inputmode": "decimal"})

    def code_required(self):
        return LV in (self.citizenship.data, self.residence.data)


class LegalOwnerForm(SubForm):
    company_name = text(_l("Company name"), _l("Enter the company name."), NAME_MAX,
                        description=_l("In Latvian or English."))
    registration_number = text(_l("Registration number"), _l("Enter the registration number."), 40)
    registration_date = date_text(_l("Registration date"), _l("Enter the registration date."))
    country = country(_l("Country of registration"), _l("Choose the country of registration."))
    share = text(SHARE_LABEL, _l("Enter the share in per cent."), 8, validators=[_share_check],
                 render_kw={"inputmode": "decimal"})

    def validate_registration_date(self, field):
        _registration_date_check(self, field)


class UboForm(PersonChecks, SubForm):
    full_name = text(_l("Name, surname"), NAME_REQUIRED, NAME_MAX, description=_l("In Latvian or English."))
    personal_code = text(_l("Personal code"), max_length=12, optional=False,
                         description=_l("Required if the person is a Latvian citizen or resident."))
    birth_date = date_text(_l("Date of birth"), BIRTH_REQUIRED)
    tax_residence = country(_l("Country of tax residence"), _l("Choose the country of tax residence."))
    citizenship = country(_l("Citizenship"), _l("Choose the citizenship."))
    share = text(SHARE_LABEL, _l("Enter the share in per cent."), 8, validators=[_share_check],
                 render_kw={"inputmode": "decimal"})

    def code_required(self):
        return LV in (self.citizenship.data, self.tax_residence.data)


def _submitter_form(with_role):
    class SubmitterForm(PersonChecks, SubForm):
        full_name = text(_l("Name, surname"), NAME_REQUIRED, NAME_MAX, description=_l("In Latvian or English."))
        latvian = BooleanField(_l("I am a Latvian citizen or resident"))
        personal_code = text(_l("Personal code"), max_length=12, optional=False,
                             description=_l("Required if you are a Latvian citizen or resident."))
        birth_date = date_text(_l("Date of birth"), BIRTH_REQUIRED)
        if with_role:
            role = select(_l("Role in the company"), O.SUBMITTER_ROLES, _l("Choose your role in the company."))

        def code_required(self):
            return bool(self.latvian.data)
    return SubmitterForm


GROUP_FORMS = {O.REPRESENTATIVES_GROUP: RepresentativeForm, O.OWNERS_NATURAL: NaturalOwnerForm,
               O.OWNERS_LEGAL: LegalOwnerForm, O.UBOS: UboForm}
GROUP_MIN = {O.REPRESENTATIVES_GROUP: 1, O.OWNERS_NATURAL: 0, O.OWNERS_LEGAL: 0, O.UBOS: 0}

# Where a group's total error is shown (the owners' groups share one 100 %).
OWNERS_TOGETHER = _l("the owners together")


# --- The application form ---------------------------------------------------------------------

class ServicesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ApplicationBase(PortalForm):
    """What every application form has: the services (changing them changes the form)."""

    services = ServicesField(_l("Services you are interested in"), validate_choice=False,
                             description=_l("You can choose several."))

    # Filled by the view or the constructor below.
    shape = None
    latvian_applicant = False

    def setup(self, locale, managers=(), latvian_applicant=False):
        """Per-request choices: the services of the client's kind, countries in ``locale``,
        the institution's staff as personal managers."""
        self.services.choices = choices([(s, O.SERVICE_LABELS[s]) for s in O.services_for(self.shape.kind)])
        self.latvian_applicant = latvian_applicant
        countries = ("countries", locale, "choose")

        def make():
            return [("", str(_l("— choose —")))] + list(rules.countries(locale))
        for field in self.country_fields():
            field.share_choices(countries, make)
        if "personal_manager" in self._fields:
            self.personal_manager.choices = choices([("", _l("— none —")), *managers])
        return self

    def country_fields(self):
        for name in self.shape.groups:
            for entry in self[name].entries:
                for field in entry.form:
                    if isinstance(field, LocalisedSelect):
                        yield field

    def validate_services(self, field):
        if not O.valid_services(self.shape.kind, field.data):
            raise ValidationError(_l("Choose at least one service."))

    def answers(self):
        """What was typed, to store: the fields' data without the token and the services."""
        return {name: field.data for name, field in self._fields.items() if name not in ("csrf_token", "services")}

    # --- repeating groups ---

    def add_entry(self, group):
        if group in self.shape.groups and len(self[group].entries) < O.MAX_GROUP_ENTRIES:
            self[group].append_entry()
            return True
        return False

    def remove_entry(self, name):
        """Remove the entry named ``name`` (``representatives-1``); the others keep their names."""
        group = name.rsplit("-", 1)[0]
        if group not in self.shape.groups:
            return False
        entries = self[group].entries
        kept = [e for e in entries if e.name != name]
        if len(kept) == len(entries):
            return False
        self[group].entries = kept
        return True

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        self.group_errors = {g: [] for g in self.shape.groups}
        if O.REPRESENTATIVES_GROUP in self.shape.groups:
            reps = self[O.REPRESENTATIVES_GROUP].entries
            if not reps:
                self.group_errors[O.REPRESENTATIVES_GROUP].append(_l("Add at least one representative."))
            elif not any(e.form.represents.data for e in reps):
                self.group_errors[O.REPRESENTATIVES_GROUP].append(
                    _l("Mark at least one representative who will represent the client in relations with the bank."))
            owners = {g: [O.parse_share(e.form.share.data) for e in self[g].entries]
                      for g in (O.OWNERS_NATURAL, O.OWNERS_LEGAL, O.UBOS)}
            for group in (O.OWNERS_NATURAL, O.OWNERS_LEGAL, O.UBOS):
                problem = O.shares_total_problem(owners[group], O.GROUP_LABELS[group])
                if problem:
                    self.group_errors[group].append(problem)
            if not self.group_errors[O.OWNERS_NATURAL] and not self.group_errors[O.OWNERS_LEGAL]:
                problem = O.shares_total_problem(owners[O.OWNERS_NATURAL] + owners[O.OWNERS_LEGAL], OWNERS_TOGETHER)
                if problem:
                    self.group_errors[O.OWNERS_LEGAL].append(problem)
        return ok and not any(self.group_errors.values())

    def error_entries(self):
        """Every message with the id of what it is about, in the form's order (the summary)."""
        found = [(None, m) for m in self.form_errors]
        if "csrf_token" in self._fields and self.csrf_token.errors:
            found.append((None, _l("The form has expired. Please submit it again.")))

        def walk(field):
            if isinstance(field, FieldList):
                for message in getattr(self, "group_errors", {}).get(field.name, []):
                    found.append((f"group-{field.name}", message))
                for entry in field.entries:
                    walk(entry)
            elif isinstance(field, FormField):
                for sub in field.form:
                    walk(sub)
            elif field.errors and field.type != "CSRFTokenField":
                found.extend((field.id, m) for m in field.errors)
        for field in self._fields.values():
            walk(field)
        return found


class NaturalFields:
    full_name = text(_l("Name, surname"), NAME_REQUIRED, NAME_MAX, description=_l("In Latvian or English."))
    personal_code = text(_l("Personal code"), max_length=12, optional=False,
                         description=_l("Required if you are a Latvian citizen or resident."))
    residence_permit = BooleanField(
        _l("I have a residence permit in Latvia"),
        description=_l("Tick it and enter your personal code if you are not a Latvian citizen but "
                       "have a residence permit in Latvia."))
    birth_date = date_text(_l("Date of birth"), BIRTH_REQUIRED)
    language = select(_l("Language for communication"), O.COMMUNICATION_LANGUAGES,
                      _l("Choose the language for communication."))


def _natural_form(shape):
    attrs = {}
    if shape.linked_client:
        attrs["linked_client"] = text(
            _l("Linked client of the bank"), _l("Enter the linked client's name or company name."), NAME_MAX,
            description=_l("The full name of the linked (main) client, or the name of the linked company."))

    class NaturalApplicationForm(PersonChecks, ApplicationBase):
        def code_required(self):
            return self.latvian_applicant or bool(self.residence_permit.data)

    for name, value in vars(NaturalFields).items():
        if not name.startswith("_"):
            attrs[name] = value
    return type("NaturalApplicationForm", (NaturalApplicationForm,), attrs)


def _legal_form(shape):
    attrs = {}
    if shape.resource_url:
        attrs["resource_url"] = text(
            _l("Resource URL the service will be used for"),
            _l("Enter the web address the service will be used for.") if shape.resource_url_required else None, 300,
            description=_l("Your website's address; it can be the address of an online shop."),
            render_kw={"inputmode": "url", "autocomplete": "url"})
    attrs["company_name"] = text(_l("Company name"), _l("Enter the company name."), NAME_MAX,
                                 description=_l("In Latvian or English."))
    attrs["registration_number"] = text(_l("Registration number"), _l("Enter the registration number."), 40)
    if shape.full_company:
        attrs["registration_date"] = date_text(_l("Registration date"), _l("Enter the registration date."))
        attrs["industry"] = select(_l("Industry"), O.INDUSTRIES, _l("Choose the field of business."))
    attrs["language"] = select(_l("Language for communication"), O.COMMUNICATION_LANGUAGES,
                               _l("Choose the language for communication."))
    attrs["personal_manager"] = SelectField(
        _l("Personal manager"), validators=[Optional()], choices=[],
        description=_l("If you spoke with a particular employee of the bank, choose them."))
    if shape.full_company:
        attrs["employees"] = select(_l("Number of employees"), O.EMPLOYEE_RANGES,
                                    _l("Choose the number of employees."))
        attrs["us_related"] = BooleanField(
            _l("The client is a US-related legal person"),
            description=_l("Place of registration, country of tax residence, address or correspondence address, "
                           "or an ultimate beneficial owner who is a US citizen or resident for tax purposes."))
        attrs["licensed_payment_institution"] = BooleanField(_l("Licensed payment institution"))
        for group in shape.groups:
            attrs[group] = FieldList(FormField(GROUP_FORMS[group]), min_entries=GROUP_MIN[group],
                                     max_entries=O.MAX_GROUP_ENTRIES)
    attrs["submitter"] = FormField(_submitter_form(shape.full_company), label=_l("The submitter"))

    def validate_resource_url(self, field):
        if field.data:
            problem = O.url_problem(field.data)
            if problem:
                raise ValidationError(problem)
            field.data = O.normalise_url(field.data)

    def validate_registration_date(self, field):
        _registration_date_check(self, field)
    attrs["validate_resource_url"] = validate_resource_url
    attrs["validate_registration_date"] = validate_registration_date
    return type("LegalApplicationForm", (ApplicationBase,), attrs)


@lru_cache(maxsize=64)
def form_class(shape):
    """The form class of a shape (built once per shape)."""
    made = _natural_form(shape) if shape.kind == rules.NATURAL else _legal_form(shape)
    made.shape = shape
    return made


def application_form(kind, services, **kwargs):
    """The form for a ``kind`` client asking for ``services``."""
    return form_class(O.form_shape(kind, services))(**kwargs)


class NewApplicationForm(PortalForm):
    services = ServicesField(_l("Services you are interested in"), validate_choice=False,
                             description=_l("You can choose several."))

    def set_kind(self, kind):
        """The choices: ``kind``'s services an administrator offers to new applications."""
        self.kind = kind
        self.offered = offered_services(kind)
        self.services.choices = choices([(s, O.SERVICE_LABELS[s]) for s in self.offered])
        return self

    def validate_services(self, field):
        if not O.valid_services(self.kind, field.data) or not set(field.data) <= set(self.offered):
            raise ValidationError(_l("Choose at least one service."))


class SubmitForm(PortalForm):
    """Confirming the checked answers: nothing but the CSRF token."""


class IdDocumentForm(PortalForm):
    files = MultipleFileField(_l("Copy of your identity document"))


# --- The answers as read back ("check your answers", the receipt) ------------------------------

def shown_value(field):
    """A field's answer as a person reads it: the chosen option's label, yes or no, the text."""
    if isinstance(field, BooleanField):
        return _l("Yes") if field.data else _l("No")
    if isinstance(field, SelectMultipleField):
        labels = dict((c.value, c.label) for c in field.choices or [])
        return ", ".join(str(labels.get(v, v)) for v in field.data or [])
    if isinstance(field, SelectField):
        for c in field.choices or []:
            value, label = (c.value, c.label) if hasattr(c, "value") else (c[0], c[1])
            if value == field.data and value != "":
                return label
        return ""
    return field.data or ""


def summary(form):
    """The answers in sections: [{"title", "anchor", "rows": [(label, value, field id)]}]."""
    sections, own = [], {"title": _l("Your answers"), "anchor": "", "rows": []}
    sections.append(own)
    for name, field in form._fields.items():
        if name == "csrf_token":
            continue
        if isinstance(field, FieldList):
            if not field.entries:
                sections.append({"title": O.GROUP_LABELS[name], "anchor": f"group-{name}",
                                 "rows": [(_l("None"), "", f"group-{name}")]})
            for n, entry in enumerate(field.entries, 1):
                sections.append({"title": O.group_item_label(name, n), "anchor": f"group-{name}",
                                 "rows": [(f.label.text, shown_value(f), f.id) for f in entry.form]})
        elif isinstance(field, FormField):
            sections.append({"title": field.label.text, "anchor": field.id,
                             "rows": [(f.label.text, shown_value(f), f.id) for f in field.form]})
        else:
            own["rows"].append((field.label.text, shown_value(field), field.id))
    return sections

