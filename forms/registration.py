"""The three registration steps (ACC-2, ACC-4, ACC-6): client, contact, confirmation."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, RadioField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

import rules
from forms.fields import (LocalisedSelect, PhoneNumberChecks, PortalForm, ValidEmail, choices, code_field,
                          new_password_fields)


class ClientForm(PortalForm):
    client_type = RadioField(
        _l("Client type"),
        choices=choices([(rules.NATURAL, _l("Natural person")), (rules.LEGAL, _l("Legal person"))]),
        validators=[DataRequired(_l("Choose whether you register as a natural or a legal person."))])
    citizenship = LocalisedSelect(_l("Citizenship"),
                                  validate_choice=True)
    citizenship2 = LocalisedSelect(_l("Second citizenship (if any)"),
                                   validate_choice=True)
    country = LocalisedSelect(_l("Country of registration"),
                              validate_choice=True)
    accept_privacy = BooleanField(
        _l("I have read the privacy notice"),
        validators=[DataRequired(_l("Confirm that you have read the privacy notice."))])
    accept_terms = BooleanField(
        _l("I have read and agree to follow the terms"),
        validators=[DataRequired(_l("Agree to the terms to continue."))])

    def set_choices(self, locale):
        def countries(empty):
            return lambda: [("", str(empty))] + list(rules.countries(locale))
        choose = ("countries", locale, "choose")
        self.citizenship.share_choices(choose, countries(_l("— choose —")))
        self.citizenship2.share_choices(("countries", locale, "none"), countries(_l("— none —")))
        self.country.share_choices(choose, countries(_l("— choose —")))

    def validate_citizenship(self, field):
        if self.client_type.data == rules.NATURAL and not field.data:
            raise ValidationError(_l("Choose your citizenship."))

    def validate_citizenship2(self, field):
        if field.data and field.data == self.citizenship.data:
            raise ValidationError(_l("The second citizenship must differ from the first."))

    def validate_country(self, field):
        if self.client_type.data == rules.LEGAL and not field.data:
            raise ValidationError(_l("Choose the country of registration."))


class ContactForm(PhoneNumberChecks, PortalForm):
    email = StringField(
        _l("E-mail"), validators=[DataRequired(_l("Enter your e-mail.")), Length(max=254), ValidEmail()],
        render_kw={"autocomplete": "email", "type": "email"})
    phone_region = LocalisedSelect(_l("Country code"), validators=[DataRequired(_l("Choose the country code."))])
    phone = StringField(
        _l("Phone number"), validators=[DataRequired(_l("Enter your phone number.")), Length(max=32)],
        render_kw={"autocomplete": "tel-national", "inputmode": "tel"})
    password, confirm = new_password_fields()



class ConfirmForm(PortalForm):
    email_code = code_field(_l("Code from the e-mail"), _l("Enter the code from the e-mail."),
                            _l("The code from the e-mail has 6 digits."))
    sms_code = code_field(_l("Code from the SMS"), _l("Enter the code from the SMS."),
                          _l("The code from the SMS has 6 digits."))
