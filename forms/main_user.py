"""Forms of becoming a company's main user: by e-identity against the register, by a signed
authorisation, and the staff decision about one."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, MultipleFileField, RadioField, StringField, TextAreaField
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


class GrantAfterVisitForm(PortalForm):
    """Staff grant main-user rights to a person who came to the institution (CMP-2)."""

    person = StringField(_l("The person's e-mail address or personal code"),
                         validators=[DataRequired(_l("Enter the person's e-mail address or personal code.")),
                                     Length(max=254)])
    note = TextAreaField(_l("What was checked at the visit"),
                         description=_l("For example: identity document and signing rights in the register "
                                        "checked at the office. The person reads this note."),
                         validators=[DataRequired(_l("Say what was checked at the visit.")),
                                     Length(max=R.MAX_VISIT_NOTE)])


class RemoveMainUserForm(PortalForm):
    """Staff take main-user rights away; the last main user only with the box ticked."""

    note = TextAreaField(_l("Why"), validators=[DataRequired(_l("Say why: the person reads this note.")),
                                                Length(max=R.MAX_VISIT_NOTE)])
    last_confirmed = BooleanField(_l("I understand that the company is left without a main user: its users keep "
                                     "their access, but nobody can manage them until a new main user is "
                                     "confirmed."))
