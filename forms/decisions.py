"""Forms of an application's later stages: a staff decision per service (stage 6), the
commission-fee invoice (stage 4), a service the client adds later (seed 004 §12)."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from forms.fields import PortalForm
from forms.finance import Money
from models.base import utcnow
from rules import decisions as DR
from rules import finance as F
from rules import onboarding as O
from rules.calendar import to_local

SEPARATOR = ":"


def decision_value(service, code):
    return f"{service}{SEPARATOR}{code}"


class DecisionForm(PortalForm):
    """One decision: which question of which service (``SERVICE:code``), why (negative ones),
    and — for a positive decision while earlier stages are open — that staff checked them."""

    decision = SelectField(_l("Decision"), validate_choice=False)
    reason = TextAreaField(_l("Reason (required for a negative decision)"),
                           validators=[Length(max=DR.REASON_MAX)],
                           description=_l("For our records; the client is told to contact the personal manager."))
    earlier_checked = BooleanField(_l("I checked the earlier stages that are not marked done"))

    def set_services(self, services, decided=()):
        """The choices: each service's decisions, without the questions already answered."""
        decided = set(decided)
        self.services = list(services)
        self.decision.choices = [("", _l("— choose —"))] + [
            (decision_value(s, d.code), f"{O.SERVICE_LABELS[s]} — {d.label}")
            for s in services for d in DR.choices_for(s) if (s, d.question) not in decided]
        return self

    @property
    def service(self):
        return (self.decision.data or "").partition(SEPARATOR)[0]

    @property
    def code(self):
        return (self.decision.data or "").partition(SEPARATOR)[2]

    def validate_decision(self, field):
        if not DR.allowed(self.services, self.service, self.code):
            raise ValidationError(_l("Choose a decision for one of the services of this application."))

    def validate_reason(self, field):
        if DR.allowed(self.services, self.service, self.code):
            problem = DR.reason_problem(self.code, field.data)
            if problem:
                raise ValidationError(problem)


class FeeInvoiceForm(PortalForm):
    """The commission fee's invoice (seed 004 §7), issued from the application."""

    amount = StringField(_l("Amount, EUR"), validators=[DataRequired(_l("Enter the amount.")), Money()])
    due_on = DateField(_l("Due date"), validators=[DataRequired(_l("Enter the due date as yyyy-mm-dd."))],
                       render_kw={"type": "date"})
    description = TextAreaField(_l("Description"),
                                validators=[DataRequired(_l("Describe what the invoice is for.")),
                                            Length(max=500)])

    def validate_due_on(self, field):
        if field.data and not F.due_date_valid(field.data, to_local(utcnow()).date()):
            raise ValidationError(_l("The due date must be today or later, within two years."))


class AddServiceForm(PortalForm):
    """Seed 004 §12: one more service, of those the client has not asked for yet."""

    service = SelectField(_l("Service"), validate_choice=False)

    def set_services(self, services):
        self.offered = list(services)
        self.service.choices = [("", _l("— choose —"))] + [(s, O.SERVICE_LABELS[s]) for s in services]
        return self

    def validate_service(self, field):
        if field.data not in self.offered:
            raise ValidationError(_l("Choose one of the services you have not asked for yet."))
