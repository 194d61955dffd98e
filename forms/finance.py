"""Finance forms (staff): issue an invoice, record a payment, import a bank statement, assign
an unmatched statement entry to an invoice."""
from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import DateField, FileField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

import rules
from forms.fields import PortalForm
from rules import finance as F
from rules.calendar import to_local
from models.base import utcnow


class Money:
    """An amount in euro as people type it (1 234,56 or 1234.56), at most two decimals;
    ``field.amount`` is the Decimal."""

    def __call__(self, form, field):
        field.amount = F.parse_amount(field.data)
        if field.amount is None:
            raise ValidationError(_l("Enter an amount in euro like 1 234,56 (at least 0,01)."))


def _purpose_choices():
    return [(code, label) for code, label in F.PURPOSES.items()]


class IssueInvoiceForm(PortalForm):
    client_id = IntegerField(_l("Client number"),
                             validators=[DataRequired(_l("Enter the client's number.")),
                                         NumberRange(min=1, max=rules.MAX_ID,
                                                     message=_l("Enter the client's number."))])
    amount = StringField(_l("Amount, EUR"), validators=[DataRequired(_l("Enter the amount.")), Money()])
    due_on = DateField(_l("Due date"), validators=[DataRequired(_l("Enter the due date as yyyy-mm-dd."))],
                       render_kw={"type": "date"})
    purpose = SelectField(_l("For"), choices=_purpose_choices, default=F.COMMISSION_FEE)
    purpose_ref = StringField(_l("Linked to (optional)"), validators=[Optional(), Length(max=100)],
                              description=_l("For example the application it belongs to: application:12"))
    description = TextAreaField(_l("Description"),
                                validators=[DataRequired(_l("Describe what the invoice is for.")),
                                            Length(max=500)])

    def validate_due_on(self, field):
        if field.data and not F.due_date_valid(field.data, to_local(utcnow()).date()):
            raise ValidationError(_l("The due date must be today or later, within two years."))


class PaymentForm(PortalForm):
    amount = StringField(_l("Amount, EUR"), validators=[DataRequired(_l("Enter the amount.")), Money()])
    paid_on = DateField(_l("Date paid"), validators=[DataRequired(_l("Enter the date as yyyy-mm-dd."))],
                        render_kw={"type": "date"})
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=200)])

    def validate_paid_on(self, field):
        if field.data and not date(2000, 1, 1) <= field.data <= to_local(utcnow()).date():
            raise ValidationError(_l("The payment date cannot be in the future."))


class CreditNoteForm(PortalForm):
    """A credit note against an invoice: how much the client no longer owes, and why."""

    credit_amount = StringField(_l("Amount to credit, EUR"),
                                validators=[DataRequired(_l("Enter the amount.")), Money()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Say why the invoice is credited.")),
                                                     Length(max=500)])


class StatementForm(PortalForm):
    statement = FileField(_l("Bank statement (camt.053 XML)"))


class AssignEntryForm(PortalForm):
    number = StringField(_l("Invoice number"),
                         validators=[DataRequired(_l("Enter the invoice number, like KAB-2026-000123.")),
                                     Length(max=20)])

    def validate_number(self, field):
        field.data = F.compact(field.data)
        if not F.NUMBER_RE.fullmatch(field.data):
            raise ValidationError(_l("Enter the invoice number, like KAB-2026-000123."))
