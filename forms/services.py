"""Services forms: staff create or change a client's service (with a loan's schedule typed one
instalment a line); a client sends a request about one of their services."""
from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from forms.fields import PortalForm
from forms.finance import Money
from rules import services as S


class ServiceForm(PortalForm):
    """A service's columns; ``assignee`` offers the client's users (set by the view)."""

    category = SelectField(_l("Kind of service"), choices=lambda: list(S.CATEGORY_LABELS.items()),
                           default=S.PERMIT)
    number = StringField(_l("Number"), validators=[DataRequired(_l("Enter the service's number.")),
                                                   Length(max=50)],
                         description=_l("The permit's, contract's or connection's number."))
    name = StringField(_l("Kind, programme or plan"), validators=[Optional(), Length(max=200)],
                       description=_l("A permit's kind, a loan's or guarantee's programme, a connection's plan."))
    status = SelectField(_l("Status"), choices=lambda: [(s, S.STATUS_LABELS[s]) for s in S.STATUSES],
                         default=S.ACTIVE)
    valid_from = DateField(_l("Valid from (optional)"), validators=[Optional()], render_kw={"type": "date"})
    valid_until = DateField(_l("Valid until (optional)"), validators=[Optional()], render_kw={"type": "date"})
    # No Optional(): it would stop the checks below, which require them for a loan or guarantee.
    amount = StringField(_l("Amount, EUR (loans and guarantees)"))
    schedule = TextAreaField(_l("Schedule of instalments (loans and guarantees)"),
                             description=_l("One instalment a line: the due date and the amount, "
                                            "like 15.01.2027 250,00."),
                             render_kw={"rows": 6})
    assignee = SelectField(_l("Assigned to (optional)"), choices=[], coerce=int, default=0,
                           description=_l("A colleague limited to their own items sees only the services "
                                          "assigned to them."))
    note = TextAreaField(_l("Note for the client (optional)"), validators=[Optional(), Length(max=1000)])

    parsed_amount = None  # the amount as a Decimal, once validated (a loan's or a guarantee's)
    instalments = ()  # the schedule as [(date, Decimal)], once validated

    def set_assignees(self, members):
        """The client's live users (``[(user id, name)]``), after "nobody"."""
        self.assignee.choices = [(0, _l("Nobody: the whole company's"))] + list(members)

    def validate_amount(self, field):
        self.parsed_amount = None
        if self.category.data in S.WITH_AMOUNT:
            if not (field.data or "").strip():
                raise ValidationError(_l("Enter the amount of the loan or guarantee."))
            Money()(self, field)
            self.parsed_amount = field.amount

    def validate_valid_until(self, field):
        if not S.validity_valid(self.valid_from.data, field.data):
            raise ValidationError(_l("The validity must end on or after the day it starts."))

    def validate_schedule(self, field):
        self.instalments = []
        if self.category.data not in S.WITH_AMOUNT:
            return
        self.instalments, problems = S.parse_schedule(field.data)
        if problems:
            raise ValidationError(" ".join(str(p) for p in problems))


class ServiceRequestForm(PortalForm):
    """A request about a service: what the client asks for, and why (choices set per category)."""

    kind = SelectField(_l("What do you ask for?"), choices=[],
                       validators=[DataRequired(_l("Choose what you ask for."))])
    details = TextAreaField(_l("Details"), validators=[DataRequired(_l("Describe your request.")),
                                                       Length(max=S.REQUEST_DETAILS_MAX)],
                            description=_l("For example the new end date, the plan you want, or the amount "
                                           "you want to repay and when."),
                            render_kw={"rows": 5})
