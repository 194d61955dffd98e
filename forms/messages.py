"""Messages: writing a thread, replying, the staff delay explanation, the rating."""
import secrets

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, MultipleFileField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from forms.fields import choices, PortalForm

BODY_MAX = 10_000


def body_field(label=None):
    return TextAreaField(label or _l("Message text"), validators=[
        DataRequired(_l("Write the message text.")),
        Length(max=BODY_MAX, message=_l("Write at most %(max)d characters."))],
        render_kw={"rows": 6, "maxlength": BODY_MAX})


def files_field():
    return MultipleFileField(_l("Files (optional)"))


class SentOnceForm(PortalForm):
    """A form that stores something when sent: it carries a one-time ``nonce``, so the same
    form sent twice ("Nosūtīt" pressed twice, a resent request) is recognised as one."""

    nonce = HiddenField(filters=[lambda value: (value or "")[:64] or None])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.nonce.data:  # a form shown afresh (or one sent without it) gets its own
            self.nonce.data = secrets.token_urlsafe(16)


class ComposeForm(SentOnceForm):
    """A new thread (MSG-1): text, files, "Nosūtīt"."""

    subject = StringField(_l("Subject (optional)"), validators=[Optional(), Length(max=120)],
                          render_kw={"maxlength": 120})
    body = body_field()
    files = files_field()
    about_kind = HiddenField()
    about_id = HiddenField()


class ReplyForm(SentOnceForm):
    body = body_field(_l("Your reply"))
    files = files_field()


DELAY_DAYS = (1, 2, 3, 5, 10)


class DelayForm(PortalForm):
    """Staff: explain why the answer takes longer, and promise a new time (MSG-8)."""

    days = SelectField(_l("New answer within"), coerce=int, default=2,
                       choices=choices([(d, _l("%(n)d working day(s)", n=d)) for d in DELAY_DAYS]))
    reason = TextAreaField(_l("Reason (shown to the client)"), validators=[
        DataRequired(_l("Write why the answer takes longer.")), Length(max=2000)],
        render_kw={"rows": 3, "maxlength": 2000})


class RatingForm(PortalForm):
    """How the client rates the service in a thread (MSG-11)."""

    score = RadioField(_l("Your rating"), coerce=int,
                       choices=choices([(5, _l("5 — excellent")), (4, _l("4 — good")),
                                        (3, _l("3 — acceptable")), (2, _l("2 — poor")),
                                        (1, _l("1 — very poor"))]),
                       validators=[DataRequired(_l("Choose a rating from 1 to 5."))])
    comment = TextAreaField(_l("Comment (optional)"), validators=[Optional(), Length(max=2000)],
                            render_kw={"rows": 3, "maxlength": 2000})
