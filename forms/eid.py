"""Forms of the trusted e-identity sign-in (blueprints/eid.py)."""
from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, RadioField
from wtforms.validators import DataRequired, Length

from forms.fields import PortalForm


class ConfirmPasswordForm(PortalForm):
    """Confirm it is still you (step-up) with the account's password."""

    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"})


class ChooseAccountForm(PortalForm):
    """Link the digital identity to an account that stated the same personal code: which one
    (the view sets the choices), and its password, which proves the person holds it."""

    account = RadioField(_l("Account"), coerce=int, validators=[DataRequired(_l("Choose the account."))])
    password = PasswordField(
        _l("Password of this account"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"})
