"""Forms of the staff area."""
from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional, ValidationError

import rules
from forms.fields import PortalForm
from rules.staff import ROUTING_NOTE_MAX

DECISIONS = ("send_again", "delivered", "close")


class NotificationDecisionForm(PortalForm):
    """What staff decide about a notification that failed or whose outcome is unknown."""
    decision = HiddenField(validators=[DataRequired(), AnyOf(DECISIONS)])


# --- The back office (issue 15) -----------------------------------------------------------------

NOBODY = "0"  # the choice "no consultant"


class ConsultantForm(PortalForm):
    """Choose a client's consultant (supervisors); in bulk, the clients ticked on the list.
    The choices are the active consultants, given by the view (``with_consultants``)."""
    consultant = SelectField(_l("Consultant"), choices=[], validate_choice=True,
                             validators=[InputRequired(_l("Choose a consultant."))])
    client_ids = SelectMultipleField(_l("Clients"), coerce=str, choices=[], validate_choice=False)

    def with_consultants(self, consultants):
        self.consultant.choices = [(NOBODY, _l("Nobody (supervisors share the client)"))] + [
            (str(u.id), u.display_name) for u in consultants]
        return self

    def chosen_client_ids(self):
        """The ticked clients' ids: numbers only, the first ``rules.LIST_PAGE_SIZE`` × 5."""
        found = (rules.bounded_int(v, None, low=1) for v in (self.client_ids.data or []))
        return [v for v in found if v is not None][:rules.LIST_PAGE_SIZE * 5]

    def validate_client_ids(self, field):
        if self.bulk and not self.chosen_client_ids():
            raise ValidationError(_l("Tick at least one client."))

    bulk = False


class RouteForm(PortalForm):
    """Pass a thread or a document to a competent colleague, with a note for them (seed 001 §2).
    Its fields are prefixed (``pass-colleague``, ``pass-note``): the document's page has other
    forms with a "note"."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "pass")
        super().__init__(*args, **kwargs)

    colleague = SelectField(_l("Colleague"), choices=[], validate_choice=True,
                            validators=[InputRequired(_l("Choose the colleague to pass it to."))])
    note = TextAreaField(_l("Note for the colleague"),
                         validators=[Optional(), Length(max=ROUTING_NOTE_MAX,
                                                        message=_l("The note can be at most %(max)d characters."))])

    def with_colleagues(self, colleagues):
        self.colleague.choices = [(str(u.id), u.display_name) for u in colleagues]
        return self
