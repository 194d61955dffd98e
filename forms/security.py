"""Forms of account security (blueprints/security.py, and the second step of signing in)."""
from flask_babel import lazy_gettext as _l
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from forms.fields import PortalForm, choices
from rules import second_factor as R


def _totp_only(form, field):
    if R.read_code(field.data)[0] != R.TOTP:
        raise ValidationError(_l("Enter the 6 digits your app shows."))


def _any_code(form, field):
    if R.read_code(field.data)[0] is None:
        raise ValidationError(_l("Enter the 6 digits your app shows, or a recovery code (10 letters and digits)."))


class EnrolTotpForm(PortalForm):
    """The first code from the app, which proves it has the secret."""

    code = StringField(_l("Code from the app"),
                       validators=[DataRequired(_l("Enter the 6 digits your app shows.")), Length(max=64), _totp_only],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class SecondStepForm(PortalForm):
    """Signing in with a password, step 2: a code from the app, or a recovery code."""

    code = StringField(_l("Code from the authenticator app, or a recovery code"),
                       validators=[DataRequired(_l("Enter the code.")), Length(max=64), _any_code],
                       render_kw={"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false"})


class CompanyTwoStepForm(PortalForm):
    """A main user's choice: may the company's users act for it from a password sign-in alone?"""

    required = RadioField(_l("How the company's users must sign in to act for it"),
                          choices=choices([("yes", _l("With two-step sign-in or e-identity")),
                                           ("no", _l("Any way, a password alone too"))]),
                          validators=[DataRequired(_l("Choose one."))])
