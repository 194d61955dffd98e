"""Forms of the staff area."""
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf, DataRequired

DECISIONS = ("send_again", "delivered", "close")


class NotificationDecisionForm(FlaskForm):
    """What staff decide about a notification that failed or whose outcome is unknown."""
    decision = HiddenField(validators=[DataRequired(), AnyOf(DECISIONS)])
