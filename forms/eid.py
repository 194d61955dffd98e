"""Forms of the trusted e-identity sign-in (blueprints/eid.py)."""
from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, RadioField, StringField
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


class InvitationCodeForm(PortalForm):
    """The code of a company's invitation (the end of the link in its message), or the whole
    link, typed at an employee's first e-identity sign-in."""

    code = StringField(
        _l("Invitation code"), validators=[DataRequired(_l("Enter the code from the invitation.")), Length(max=300)],
        description=_l("The last part of the link in the invitation's e-mail or SMS, after “/invitations/” "
                       "(or paste the whole link)."),
        render_kw={"autocomplete": "off", "spellcheck": "false"})

    @property
    def token(self):
        """The token itself: what follows ``/invitations/`` in a pasted link, else the code."""
        value = (self.code.data or "").strip()
        if "/invitations/" in value:
            value = value.rsplit("/invitations/", 1)[1]
        return value.split("?", 1)[0].split("#", 1)[0].strip().strip("/")
