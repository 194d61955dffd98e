"""Forms of identification (ONB-8, ONB-9, ONB-12, ONB-13, STF-7): starting it, the development provider's page (the
two photos and the outcome to report), and staff's result by hand, in-person requirement and
video appointment — each with its reason."""
from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, FileField, RadioField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from forms.fields import PortalForm, choices
from rules import identification as R
from rules.calendar import to_utc
from models.base import utcnow


class StartForm(PortalForm):
    """Nothing but the CSRF token: start (again) at the provider."""


class DevProviderForm(PortalForm):
    """The development provider's page: what a real provider's pages do with a camera."""

    document_photo = FileField(_l("Photo of the identity document"),
                               description=_l("The page of the passport or the ID card with the photo."))
    selfie = FileField(_l("Selfie"), description=_l("A photo of your face, taken now."))
    outcome = RadioField(_l("Result to report (development provider)"),
                         choices=choices([(R.APPROVED, _l("Approved")), (R.DECLINED, _l("Declined")),
                                          (R.RETRY, _l("Retry"))]),
                         validators=[DataRequired(_l("Choose the result to report."))])

    def validate_document_photo(self, field):
        if not getattr(field.data, "filename", ""):
            raise ValidationError(_l("Choose the photo of the identity document."))

    def validate_selfie(self, field):
        if not getattr(field.data, "filename", ""):
            raise ValidationError(_l("Choose the selfie."))


def _reason(label, required_message):
    """The reason staff give: kept in the audit log, and shown to the person with their state."""
    return TextAreaField(label, validators=[DataRequired(required_message), Length(max=R.MAX_REASON)],
                         description=_l("The person sees it in the cabinet; it is kept in the audit log."))


class DecisionForm(PortalForm):
    status = RadioField(_l("Result"), choices=choices([(s, R.BY_HAND_LABELS[s]) for s in R.BY_HAND]),
                        validators=[DataRequired(_l("Choose the result."))])
    reason = _reason(_l("Reason"), _l("Say why you record this result by hand."))


class InPersonForm(PortalForm):
    reason = _reason(_l("Reason"), _l("Say why the person must identify in person."))


class VideoForm(PortalForm):
    when = DateTimeLocalField(_l("Agreed date and time (Riga time)"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                              description=_l("A working day, 9:00–17:00."),
                              validators=[DataRequired(_l("Enter the agreed date and time, for example "
                                                          "2026-12-09 10:30."))])
    reason = _reason(_l("Reason"), _l("Say why a video identification is needed."))

    def validate_when(self, field):
        problem = R.video_time_problem(field.data, utcnow())
        if problem:
            raise ValidationError(problem)

    @property
    def when_utc(self):
        return to_utc(self.data["when"])
