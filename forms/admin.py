"""Forms of the administrator's pages (issue 15): staff accounts and the two catalogues' switches."""
from flask_babel import lazy_gettext as _l
from wtforms import EmailField, HiddenField, SelectField, StringField, TelField
from wtforms.validators import AnyOf, DataRequired, Length

import rules
from forms.fields import PortalForm, ValidEmail, choices


def role_choices():
    return choices([(r, rules.STAFF_ROLE_LABELS[r]) for r in rules.STAFF_ROLES])


class NewStaffForm(PortalForm):
    """A new staff member: the temporary password goes to the e-mail given (never on screen)."""
    full_name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the name.")), Length(max=200)])
    email = EmailField(_l("E-mail"), validators=[DataRequired(_l("Enter the e-mail address.")), Length(max=254),
                                                ValidEmail()])
    phone = TelField(_l("Phone number"), validators=[DataRequired(_l("Enter the phone number.")), Length(max=32)],
                     description=_l("In +371… form."))
    role = SelectField(_l("Role"), validators=[DataRequired(_l("Choose a role."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices()


class RoleForm(PortalForm):
    """Another role for one staff member."""
    role = SelectField(_l("Role"), validators=[DataRequired(_l("Choose a role."))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = role_choices()


class ActiveForm(PortalForm):
    """Deactivate (``off``) or reactivate (``on``) one staff member."""
    active = HiddenField(validators=[DataRequired(), AnyOf(("on", "off"))])


class SwitchForm(PortalForm):
    """One catalogue switch: ``on`` or ``off``."""
    enabled = HiddenField(validators=[DataRequired(), AnyOf(("on", "off"))])
