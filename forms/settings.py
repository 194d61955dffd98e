"""User settings (ACC-14): profile and contact preferences; changing the e-mail or phone (ACC-18)."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, RadioField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

import rules
from forms.fields import PhoneNumberChecks, LocalisedSelect, PortalForm, ValidEmail, choices, code_field


class ProfileForm(PortalForm):
    full_name = StringField(_l("Name, surname"), validators=[Length(max=120)],
                            render_kw={"autocomplete": "name"})
    language = RadioField(_l("Language for communication"),
                          choices=choices(rules.LANGUAGES.items()),
                          validators=[DataRequired(_l("Choose a language."))])
    notify_email = BooleanField(_l("E-mail"))
    notify_sms = BooleanField(_l("SMS"))

    def validate_notify_sms(self, field):
        if not field.data and not self.notify_email.data:
            raise ValidationError(_l("Keep at least one channel, so we can reach you."))


# --- Changing the e-mail or phone: the new value and the current password, then the code ---

def _current_password():
    return PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password.")), Length(max=1024)],
        description=_l("To make sure it is you."),
        render_kw={"autocomplete": "current-password"})


class ChangeEmailForm(PortalForm):
    """Step 1 of an e-mail change: checked as the registration checks an e-mail."""

    email = StringField(
        _l("New e-mail"),
        validators=[DataRequired(_l("Enter the new e-mail.")), Length(max=254), ValidEmail()],
        render_kw={"autocomplete": "email", "type": "email"})
    password = _current_password()

    def set_choices(self, locale):
        """Nothing to choose (the same call as the phone form's)."""

    @property
    def new_value(self):
        return self.email.normalised


class ChangePhoneForm(PhoneNumberChecks, PortalForm):
    """Step 1 of a phone change: country code and number, checked as the registration does."""

    phone_region = LocalisedSelect(_l("Country code"), validators=[DataRequired(_l("Choose the country code."))])
    phone = StringField(
        _l("New phone number"), validators=[DataRequired(_l("Enter the new phone number.")), Length(max=32)],
        render_kw={"autocomplete": "tel-national", "inputmode": "tel"})
    password = _current_password()

    @property
    def new_value(self):
        return self.phone.normalised


CONTACT_FORMS = {"email": ChangeEmailForm, "phone": ChangePhoneForm}


class ContactCodeForm(PortalForm):
    """Step 2: the code sent to the new e-mail or phone."""

    code = code_field(_l("Confirmation code"))
