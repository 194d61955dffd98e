"""A company's users (CMP-2, CMP-3): inviting a colleague, a colleague's rights, revoking access."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

import rules
from forms.fields import LocalisedSelect, PortalForm, ValidEmail, choices
from rules import company as R

SCOPES = (("company", _l("The whole company's items")), ("own", _l("Only their own items")))


class RightsForm(PortalForm):
    """What a colleague may do, and over which items."""

    can_documents = BooleanField(rules.PERMISSION_LABELS["documents"])
    can_submit = BooleanField(rules.PERMISSION_LABELS["submit"])
    can_messages = BooleanField(rules.PERMISSION_LABELS["messages"])
    can_finance = BooleanField(rules.PERMISSION_LABELS["finance"])
    can_services = BooleanField(rules.PERMISSION_LABELS["services"])
    scope = RadioField(_l("Which items"), choices=choices(SCOPES),
                       validators=[DataRequired(_l("Choose which items the user sees."))])

    @property
    def rights(self):
        return frozenset(p for p in R.GRANTABLE_RIGHTS if self[f"can_{p}"].data)

    @property
    def own_items_only(self):
        return self.scope.data == "own"

    def fill_from(self, holder):
        """The form showing what ``holder`` (a membership or an invitation) grants now."""
        for p in R.GRANTABLE_RIGHTS:
            self[f"can_{p}"].data = bool(getattr(holder, f"can_{p}"))
        self.scope.data = "own" if holder.own_items_only else "company"

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        for problem in R.rights_problems(self.rights):
            field = self.can_submit if problem == R.SUBMIT_NEEDS_DOCUMENTS else self.can_documents
            field.errors = [*field.errors, R.RIGHTS_MESSAGES[problem]]
            ok = False
        return ok


class InvitationForm(RightsForm):
    """Whom to invite (an e-mail, a phone, or both; checked as the registration checks them)
    and with which rights."""

    full_name = StringField(_l("Name, surname"), validators=[Optional(), Length(max=120)],
                            render_kw={"autocomplete": "off"})
    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=254), ValidEmail()],
                        render_kw={"autocomplete": "off", "type": "email"})
    phone_region = LocalisedSelect(_l("Country code"), validators=[Optional()])
    phone = StringField(_l("Phone number"), validators=[Optional(), Length(max=32)],
                        description=_l("The invitation goes by e-mail, by SMS, or both: give at least one."),
                        render_kw={"autocomplete": "off", "inputmode": "tel"})
    language = RadioField(_l("Language of the invitation"), choices=choices(rules.LANGUAGES.items()),
                          validators=[DataRequired(_l("Choose a language."))])

    def set_choices(self, locale):
        self.phone_region.share_choices(("phone regions", locale), lambda: rules.phone_regions(locale))

    def validate_phone(self, field):
        field.normalised = None
        if not (field.data or "").strip():
            return
        normalised = rules.normalise_phone(field.data, self.phone_region.data or "LV")
        if not normalised:
            raise ValidationError(_l("Enter a valid phone number for the chosen country."))
        field.normalised = normalised

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if not (self.email.data or "").strip() and not (self.phone.data or "").strip():
            self.email.errors = [*self.email.errors, _l("Enter an e-mail, a phone number, or both.")]
            ok = False
        return ok

    @property
    def normalised_email(self):
        return getattr(self.email, "normalised", None) if (self.email.data or "").strip() else None

    @property
    def normalised_phone(self):
        return getattr(self.phone, "normalised", None)


class RevokeForm(PortalForm):
    """Revoking needs a tick: it takes effect at once."""

    confirm = BooleanField(_l("Yes, revoke this user's access to the company now"),
                           validators=[DataRequired(_l("Tick the box to confirm."))])


class ConfirmForm(PortalForm):
    """A button alone (demote, resend, cancel, accept): the CSRF token is the whole form."""
