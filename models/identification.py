"""Identification of an application's people (seed 004 §5, §8; ONB-8, ONB-9, ONB-12, ONB-13, STF-7).

One ``Identification`` row per person and kind (photo at submission; video when staff ask):
the registrant's is tied to their account, a representative's carries a personal invitation
(a single-use token, only its hash kept, that expires). The provider's results arrive through
the webhook (``record_result``: each event id once, ``IdentificationEvent``); staff record
results by hand with a reason, require in-person identification or agree a video
identification. Every change recomputes the application's stage status from the rules
(``rules.identification.stage_status``) into ``Application.progress``, which the task list
reads; failed / repeat / in person / video go to the person by e-mail and SMS (the outbox).
"""
import hashlib
import secrets
from dataclasses import dataclass

from peewee import CharField, DateTimeField, ForeignKeyField, IntegrityError, TextField

from models.accounts import Client, User
from models.applications import Application
from models.audit import AuditLog
from models.base import BaseModel, db, utcnow
from models.decisions import refresh_stage
from models.files import StoredFile
from models.notifications import Notification
from rules import identification as R

# What ``record_result`` did (the webhook's answer to the provider: codes, not words for people).
APPLIED, DUPLICATE, UNKNOWN_SESSION, ALREADY_DECIDED, UNKNOWN_RESULT = (
    "applied", "duplicate event", "unknown session", "already decided", "unknown result")


@dataclass(frozen=True)
class Links:
    """The paths the views know, for the messages: ``invitation(token)``, a personal link's page;
    ``cabinet(application_id)``, the application's identification page in the cabinet."""

    invitation: object
    cabinet: object


def token_hash(token):
    """What is kept of an invitation's token: its SHA-256 (256 random bits need no key)."""
    return hashlib.sha256((token or "").encode("utf-8", "surrogatepass")).hexdigest()


class Identification(BaseModel):
    """One person's identification for an application (``kind``: photo or video)."""

    application = ForeignKeyField(Application, backref="identifications", on_delete="CASCADE")
    client = ForeignKeyField(Client, backref="+", on_delete="CASCADE")
    kind = CharField(default=R.PHOTO)
    user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")  # the registrant's account
    full_name = CharField(default="")
    email = CharField(default="")
    language = CharField(default="lv")
    status = CharField(default=R.WAITING)
    provider = CharField(default="")
    session_ref = CharField(null=True, unique=True)  # the provider's session of the latest attempt
    token_hash = CharField(max_length=64, null=True, unique=True)  # the invitation's link
    token_expires_at = DateTimeField(null=True)
    scheduled_at = DateTimeField(null=True)  # video: the agreed time (UTC)
    reason = TextField(default="")  # the provider's or staff's reason for the latest result
    decided_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    document_photo = ForeignKeyField(StoredFile, null=True, backref="+", on_delete="SET NULL")
    selfie = ForeignKeyField(StoredFile, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    started_at = DateTimeField(null=True)
    result_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("status", "updated_at"), False), (("application", "kind"), False))

    @property
    def status_label(self):
        return R.STATUS_LABELS[self.status]

    @property
    def next_step(self):
        return R.next_step(self.status)

    @property
    def may_start(self):
        return self.status in R.MAY_START

    @property
    def invited(self):
        return self.token_hash is not None

    def invitation_live(self, now=None):
        """The personal link still starts an identification: not expired, no final result yet."""
        return (self.token_hash is not None and self.token_expires_at is not None
                and self.token_expires_at > (now or utcnow()) and self.status in R.MAY_START)

    # --- The person's side ---

    def start(self, provider, return_url):
        """A new attempt at ``provider``: a fresh session (an older one's result no longer
        counts); returns the address to send the person to. Call inside ``action()``."""
        if not self.may_start:
            return None
        session = _new_session()
        now = utcnow()
        status = R.SCHEDULED if self.status == R.SCHEDULED else R.STARTED
        won = (Identification.update(session_ref=session, provider=provider.name, started_at=now, updated_at=now,
                                     status=status)
               .where(Identification.id == self.id, Identification.status.in_(R.MAY_START)).execute())
        if not won:
            return None
        self.session_ref, self.provider, self.started_at, self.status = session, provider.name, now, status
        AuditLog.record("identification.started", user=self.user if self.user_id else None,
                        actor="" if self.user_id else "invitee", client=self.client_id,
                        identification=self.id, application=self.application_id, provider=provider.name)
        _refresh_progress(self.application_id)
        return provider.start(session, return_url)

    @classmethod
    def by_token(cls, token):
        """The identification a personal link names (in any state), or None."""
        if not isinstance(token, str) or not token or len(token) > 200:
            return None
        return cls.get_or_none(cls.token_hash == token_hash(token))

    @classmethod
    def by_session(cls, session):
        if not isinstance(session, str) or not session or len(session) > 200:
            return None
        return cls.get_or_none(cls.session_ref == session)

    # --- Staff's side (each with its reason and audit row; call inside ``action()``) ---

    def decide(self, status, staff, reason, links=None):
        """A result recorded by hand: passed, failed or repeat (ONB-9, STF-7)."""
        if status not in R.BY_HAND:
            raise ValueError(status)
        self._set(status, reason, staff, links=links)
        AuditLog.record("identification.decided", user=staff, client=self.client_id, identification=self.id,
                        application=self.application_id, identified=status, reason=reason)

    def require_in_person(self, staff, reason):
        self._set(R.IN_PERSON, reason, staff)
        AuditLog.record("identification.in_person", user=staff, client=self.client_id, identification=self.id,
                        application=self.application_id, reason=reason)

    def ask_for_video(self, staff, when_utc, reason, links=None):
        """A video identification of this person at ``when_utc`` (agreed, inside working hours:
        checked by the form with ``rules.identification.video_time_problem``)."""
        video = (Identification.select()
                 .where(Identification.application == self.application_id, Identification.kind == R.VIDEO,
                        Identification.email == self.email, Identification.user == self.user_id,
                        Identification.full_name == self.full_name)
                 .first())
        now = utcnow()
        if video is None:
            video = Identification.create(application=self.application_id, client=self.client_id, kind=R.VIDEO,
                                          user=self.user_id, full_name=self.full_name, email=self.email,
                                          language=self.language, status=R.SCHEDULED, created_at=now,
                                          updated_at=now)
        Identification.update(scheduled_at=when_utc).where(Identification.id == video.id).execute()
        video.scheduled_at = when_utc
        video._set(R.SCHEDULED, reason, staff, links=links)
        AuditLog.record("identification.video_requested", user=staff, client=self.client_id, identification=video.id,
                        application=self.application_id, scheduled_at=when_utc.isoformat(), reason=reason)
        return video

    def _set(self, status, reason, by=None, links=None, only_from=None):
        """The new state, the person told when it needs them (e-mail and SMS), the stage again.
        A representative asked to repeat (or to a video identification) gets a new personal link.
        With ``only_from``, only from those states (one conditional UPDATE: of two results
        arriving at once one wins); False when it was not."""
        now = utcnow()
        values = {"status": status, "reason": (reason or "")[:R.MAX_REASON], "decided_by": by, "updated_at": now,
                  "result_at": now if status in (R.PASSED, R.FAILED, R.REPEAT, R.IN_PERSON) else self.result_at}
        token = None
        if not self.user_id and status in (R.REPEAT, R.SCHEDULED) and links is not None:
            token = secrets.token_urlsafe(R.INVITATION_TOKEN_BYTES)
            values.update(token_hash=token_hash(token), token_expires_at=now + R.INVITATION_LIFETIME)
        query = Identification.update(**values).where(Identification.id == self.id)
        if only_from is not None:
            query = query.where(Identification.status.in_(list(only_from)))
        if not query.execute():
            return False
        for name, value in values.items():
            setattr(self, name, value)
        self._notify(status, links.invitation(token) if token else
                     links.cabinet(self.application_id) if links is not None and self.user_id else "")
        _refresh_progress(self.application_id)
        return True

    def _notify(self, status, path=None):
        template = R.NOTIFIED.get(status)
        if template is None:
            return
        user = User.get_or_none(User.id == self.user_id) if self.user_id else None
        params = {"application": self.application_id, "name": self.full_name,
                  "when": _local_text(self.scheduled_at) if status == R.SCHEDULED else "",
                  "path": path or ""}
        email = user.email if user else self.email
        language = user.language if user else self.language
        if email:
            Notification.queue("email", email, template, language=language, user=user, **params)
        if user and user.phone:  # an invited representative gave us no phone: e-mail only
            Notification.queue("sms", user.phone, template, language=language, user=user, **params)


class IdentificationEvent(BaseModel):
    """A provider's webhook event, once: the same event again changes nothing (ONB-9)."""

    event_id = CharField(unique=True)
    identification = ForeignKeyField(Identification, null=True, backref="+", on_delete="SET NULL")
    result = CharField(default="")
    received_at = DateTimeField(default=utcnow)


IDENTIFICATION_MODELS = [Identification, IdentificationEvent]


def _new_session():
    return secrets.token_urlsafe(24)


def _local_text(when_utc):
    if when_utc is None:
        return ""
    from rules.calendar import to_local
    local = to_local(when_utc)
    return f"{local.day:02d}.{local.month:02d}.{local.year:04d} {local.hour:02d}:{local.minute:02d}"


# --- Setting up, reading -----------------------------------------------------------------------

def prepare(application, registrant, links):
    """The photo identifications a submitted application needs (ONB-8), with an invitation
    e-mail for each representative who is not the registrant (``links``: ``Links``). Does
    nothing when they exist already. Call inside ``action()``."""
    if Identification.select().where(Identification.application == application.id,
                                     Identification.kind == R.PHOTO).exists():
        return []
    people = R.people_to_identify(application.kind, application.services, application.data,
                                  registrant.email, registrant.full_name or registrant.display_name)
    now, rows = utcnow(), []
    for person in people:
        values = dict(application=application.id, client=application.client_id, kind=R.PHOTO,
                      full_name=person.full_name, email=person.email, created_at=now, updated_at=now)
        token = None
        if person.registrant:
            values.update(user=registrant.id, language=registrant.language)
        else:
            token = secrets.token_urlsafe(R.INVITATION_TOKEN_BYTES)
            values.update(token_hash=token_hash(token), token_expires_at=now + R.INVITATION_LIFETIME,
                          language=registrant.language)
        row = Identification.create(**values)
        rows.append(row)
        if token and person.email:
            Notification.queue("email", person.email, "identification_invitation", language=row.language,
                               company=application.client.name or "", name=person.full_name,
                               inviter=registrant.display_name, path=links.invitation(token),
                               days=R.INVITATION_LIFETIME.days)
        AuditLog.record("identification.required", user=registrant, client=application.client_id, identification=row.id,
                        application=application.id, invited=bool(token))
    _refresh_progress(application.id)
    return rows


def of_application(application_id):
    """The application's identifications: photo first, then video, in the order made."""
    return list(Identification.select().where(Identification.application == application_id)
                .order_by(Identification.kind.desc(), Identification.id))


def stage_statuses_of(rows):
    """{stage code: status} of the identification stages, from their people (the rules decide)."""
    found = {}
    for kind in R.KINDS:
        status = R.stage_status(r.status for r in rows if r.kind == kind)
        if status is not None:
            found[R.STAGE_OF_KIND[kind]] = status
    return found


def _refresh_progress(application_id):
    """Write the identification stages' statuses into the application's ``progress`` (read
    again under a row lock on PostgreSQL, so another step's key written meanwhile stays)."""
    query = Application.select().where(Application.id == application_id)
    if getattr(db.obj, "for_update", False):
        query = query.for_update()
    application = query.first()
    if application is None:
        return
    progress = dict(application.progress or {})
    for stage in R.STAGE_OF_KIND.values():
        progress.pop(stage, None)
    progress.update(stage_statuses_of(of_application(application_id)))
    if progress != (application.progress or {}):
        Application.update(progress=progress).where(Application.id == application_id).execute()
        application.progress = progress
        refresh_stage(application)  # the staff list filters by the stored current stage


def record_result(event_id, session, result, reason="", provider="", links=None):
    """A provider's result for a session (the webhook, after its signature and time were
    checked): applied once per event id; an old session, a settled identification or a word
    we do not know change nothing. Returns (outcome, identification or None). Call inside
    ``action()``."""
    status = R.result_of_provider(result)
    row = Identification.by_session(session)
    if row is None:
        return UNKNOWN_SESSION, None
    if status is None:
        return UNKNOWN_RESULT, row
    key = f"{provider or row.provider}:{event_id}"[:255]
    try:
        with db.atomic():  # a savepoint: the duplicate's failed INSERT leaves the action usable
            IdentificationEvent.create(event_id=key, identification=row.id, result=result)
    except IntegrityError:
        return DUPLICATE, row
    # The personal link is used up by a result; a repeat sends a new one.
    if not row._set(status, reason, links=links, only_from=R.OPEN):
        return ALREADY_DECIDED, row
    AuditLog.record("identification.result", actor="identification-provider", client=row.client_id,
                    identification=row.id,
                    application=row.application_id, result=result, identified=status, event=event_id[:100])
    return APPLIED, row


def review_queue(now=None):
    """What staff look at (STF-7): failed, asked to repeat, or unfinished for too long —
    oldest change first."""
    now = now or utcnow()
    stale = now - R.PENDING_TOO_LONG
    return (Identification.select(Identification, Client).join(Client, on=(Identification.client == Client.id))
            .where((Identification.status.in_([R.FAILED, R.REPEAT]))
                   | (Identification.status.in_([R.WAITING, R.STARTED]) & (Identification.updated_at < stale)))
            .order_by(Identification.updated_at, Identification.id))
