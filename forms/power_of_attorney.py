"""Forms of a power of attorney: the person's upload with the rights it grants, and the staff
decision (its validity, or a refusal with a note)."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, MultipleFileField, RadioField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

import rules
from forms.fields import PortalForm, choices
from forms.main_user import RegistrationNumber
from rules import company as C
from rules import power_of_attorney as P


class PowerOfAttorneyForm(PortalForm):
    files = MultipleFileField(_l("Signed power of attorney"),
                              description=_l("A power of attorney signed by those who may sign for the company "
                                             "(on paper and scanned, or with an e-signature)."))
    can_documents = BooleanField(rules.PERMISSION_LABELS["documents"])
    can_submit = BooleanField(rules.PERMISSION_LABELS["submit"])
    can_messages = BooleanField(rules.PERMISSION_LABELS["messages"])
    can_finance = BooleanField(rules.PERMISSION_LABELS["finance"])
    can_services = BooleanField(rules.PERMISSION_LABELS["services"])

    @property
    def rights(self):
        return [p for p in C.GRANTABLE_RIGHTS if self[f"can_{p}"].data]

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        for problem in C.rights_problems(self.rights):
            field = self.can_submit if problem == C.SUBMIT_NEEDS_DOCUMENTS else self.can_documents
            field.errors = [*field.errors, C.RIGHTS_MESSAGES[problem]]
            ok = False
        return ok


class PowerOfAttorneyByNumberForm(PowerOfAttorneyForm):
    """A power of attorney for a company the person does not act for yet, named by its number."""

    registration_number = StringField(
        _l("Company registration number"),
        validators=[DataRequired(_l("Enter the company's registration number: 11 digits.")), Length(max=20),
                    RegistrationNumber()])


class PowerOfAttorneyDecisionForm(PortalForm):
    decision = RadioField(_l("Decision"), choices=choices([("verify", _l("Verified: grant the rights")),
                                                           ("refuse", _l("Refuse"))]),
                          validators=[DataRequired(_l("Choose verified or refuse."))])
    valid_from = DateField(_l("Valid from"), validators=[Optional()])
    valid_until = DateField(_l("Valid until (the last day)"), validators=[Optional()])
    # What it really grants, as staff read it (the person's ticks to begin with).
    can_documents = BooleanField(rules.PERMISSION_LABELS["documents"])
    can_submit = BooleanField(rules.PERMISSION_LABELS["submit"])
    can_messages = BooleanField(rules.PERMISSION_LABELS["messages"])
    can_finance = BooleanField(rules.PERMISSION_LABELS["finance"])
    can_services = BooleanField(rules.PERMISSION_LABELS["services"])
    confirm_revoked = BooleanField(_l("The power of attorney stands although a main user revoked this person's "
                                      "access: give them fresh access with the rights above, and tell the main "
                                      "users."))
    note = TextAreaField(_l("Note to the client"), validators=[Length(max=P.MAX_NOTE)])

    @classmethod
    def for_request(cls, poa):
        """The form of a waiting power of attorney: the rights the person ticked."""
        return cls(formdata=None, data={f"can_{r}": True for r in poa.rights_list})

    @property
    def rights(self):
        return [p for p in C.GRANTABLE_RIGHTS if self[f"can_{p}"].data]

    def validate_note(self, field):
        if self.decision.data == "refuse" and not (field.data or "").strip():
            raise ValidationError(_l("Say why the power of attorney is refused: the client reads this note."))

    def validate(self, extra_validators=None, revoked=False):
        """``revoked``: the person's membership was revoked (verifying needs ``confirm_revoked``)."""
        ok = super().validate(extra_validators)
        if ok and self.decision.data == "verify":
            problem = P.validity_problem(self.valid_from.data, self.valid_until.data)
            if problem:
                self.valid_until.errors = [*self.valid_until.errors, problem]
                ok = False
            for problem in C.rights_problems(self.rights):
                field = self.can_submit if problem == C.SUBMIT_NEEDS_DOCUMENTS else self.can_documents
                field.errors = [*field.errors, C.RIGHTS_MESSAGES[problem]]
                ok = False
            if revoked and not self.confirm_revoked.data:
                self.confirm_revoked.errors = [*self.confirm_revoked.errors, P.REVOKED_MESSAGE]
                ok = False
        return ok
