"""User settings (ACC-14): profile and contact preferences."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

import rules
from forms.fields import choices, PortalForm


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
