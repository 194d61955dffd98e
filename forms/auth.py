"""Sign-in, password recovery and password change forms."""
from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from forms.fields import Identifier, code_field, new_password_fields, PortalForm


class LoginForm(PortalForm):
    identifier = StringField(
        _l("E-mail or phone number"),
        validators=[DataRequired(_l("Enter your e-mail or phone number.")), Length(max=254), Identifier()],
        description=_l("Phone in the form +37120000000."),
        render_kw={"autocomplete": "username"})
    password = PasswordField(
        _l("Password"), validators=[DataRequired(_l("Enter your password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"})


class ResetRequestForm(PortalForm):
    identifier = StringField(
        _l("E-mail or phone number"),
        validators=[DataRequired(_l("Enter your e-mail or phone number.")), Length(max=254), Identifier()],
        description=_l("Where we should send the code and the temporary password. "
                       "Phone in the form +37120000000."),
        render_kw={"autocomplete": "username"})


class ResetCodeForm(PortalForm):
    code = code_field(_l("Confirmation code"))


class ChangePasswordForm(PortalForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password.")), Length(max=1024)],
        render_kw={"autocomplete": "current-password"})
    password, confirm = new_password_fields(_l("New password"))
