"""Forms of becoming a company's main user: by e-identity against the register, by a signed
authorisation, and the staff decision about one."""
from flask_babel import lazy_gettext as _l
from wtforms import MultipleFileField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from forms.fields import PortalForm, choices
from rules import register as R


class RegistrationNumber:
    """An 11-digit registration number (a Latvian company), spaces allowed."""

    def __call__(self, form, field):
        if field.data and R.registration_number(field.data) is None:
            raise ValidationError(_l("Enter the company's registration number: 11 digits."))


class BecomeMainUserForm(PortalForm):
    """The registration number is asked only when the company has none in the portal yet."""

    registration_number = StringField(_l("Company registration number"),
                                      validators=[Optional(), Length(max=20), RegistrationNumber()])


class AuthorisationForm(PortalForm):
    files = MultipleFileField(_l("Signed authorisation"),
                              description=_l("An authorisation signed by those who may sign for the company "
                                             "(on paper and scanned, or with an e-signature)."))


class MainUserDecisionForm(PortalForm):
    decision = RadioField(_l("Decision"), choices=choices([("grant", _l("Grant main-user rights")),
                                                           ("refuse", _l("Refuse"))]),
                          validators=[DataRequired(_l("Choose grant or refuse."))])
    note = TextAreaField(_l("Note to the client"), validators=[Length(max=R.MAX_NOTE)])

    def validate_note(self, field):
        if self.decision.data == "refuse" and not (field.data or "").strip():
            raise ValidationError(_l("Say why the request is refused: the client reads this note."))
