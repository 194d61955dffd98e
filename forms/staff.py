"""Forms of the staff area."""
from forms.fields import PortalForm
from wtforms import HiddenField
from wtforms.validators import AnyOf, DataRequired

DECISIONS = ("send_again", "delivered", "close")


class NotificationDecisionForm(PortalForm):
    """What staff decide about a notification that failed or whose outcome is unknown."""
    decision = HiddenField(validators=[DataRequired(), AnyOf(DECISIONS)])
