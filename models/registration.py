"""Registration in progress, password recovery, and one-time confirmation codes."""
import secrets

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField

import rules
from models.accounts import User, find_user_by_identifier
from models.base import BaseModel, db, utcnow
from models.notifications import Notification
from models.runtime import runtime
from rules.keys import same


class PendingRegistration(BaseModel):
    """Server-side state of a registration in progress (steps 1–3)."""

    token = CharField(unique=True, default=lambda: secrets.token_urlsafe(24))
    client_type = CharField(null=True)
    citizenship = CharField(null=True)
    citizenship2 = CharField(null=True)
    country = CharField(null=True)
    privacy_version = CharField(null=True)
    terms_version = CharField(null=True)
    accepted_at = DateTimeField(null=True)
    email = CharField(null=True)
    phone = CharField(null=True)
    password_hash = CharField(null=True)
    language = CharField(default="lv")
    created_at = DateTimeField(default=utcnow)
    completed_at = DateTimeField(null=True)

    @property
    def expired(self):
        return self.created_at + rules.REGISTRATION_LIFETIME < utcnow()

    @property
    def has_client_step(self):
        return self.client_type is not None and self.accepted_at is not None

    @property
    def has_contact_step(self):
        return self.has_client_step and self.password_hash is not None


class PasswordReset(BaseModel):
    """One password-recovery attempt; user is null when nobody matched."""

    token = CharField(unique=True, default=lambda: secrets.token_urlsafe(24))
    user = ForeignKeyField(User, null=True, backref="resets", on_delete="CASCADE")
    channel = CharField()  # email or sms: the temporary password goes back here
    target = CharField()
    created_at = DateTimeField(default=utcnow)
    completed_at = DateTimeField(null=True)

    @property
    def expired(self):
        return self.created_at + rules.RESET_LIFETIME < utcnow()

    @classmethod
    def start(cls, channel, target, send=True):
        """A recovery for a normalised e-mail or +phone, with its first code (unless ``send``
        is False: the target's message cap held it back). Call inside an ``action()``.
        Whether or not an account has ``target``, it does the same work: one lookup, the
        reset row, a code, a notification row handed to the job queue (see ``send_code``),
        so neither the answer nor its time tells which it was."""
        reset = cls.create(user=find_user_by_identifier(target), channel=channel, target=target)
        if send:
            reset.send_code()
        return reset

    def send_code(self):
        """A new code for this recovery (superseding the earlier ones), queued to the account
        holder; with no account, queued the same way to nowhere. Call inside an ``action()``."""
        # The account is read by id both ways ("id IS NULL" for nobody): ``self.user`` would
        # ask the database only when there is one.
        user = User.get_or_none(User.id == self.user_id)
        _row, code = OneTimeCode.issue("reset", self.channel, self.target, reset=self)
        if user:
            Notification.queue(self.channel, self.target, "reset_code", language=user.language,
                               user=user, code=code)
        else:
            Notification.queue_nowhere(self.channel, self.target, "reset_code", code=code)


class OneTimeCode(BaseModel):
    """A 6-digit confirmation code, stored only as a keyed hash."""

    purpose = CharField()  # rules.CODE_PURPOSES
    registration = ForeignKeyField(PendingRegistration, null=True, backref="codes",
                                   on_delete="CASCADE")
    reset = ForeignKeyField(PasswordReset, null=True, backref="codes", on_delete="CASCADE")
    channel = CharField()
    target = CharField()
    code_hash = CharField()
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    attempts = IntegerField(default=0)
    used_at = DateTimeField(null=True)
    superseded_at = DateTimeField(null=True)

    @staticmethod
    def digest(code_id_salt, code):
        return runtime.keys.mac("one-time-code", f"{code_id_salt}:{code}")

    @classmethod
    def issue(cls, purpose, channel, target, registration=None, reset=None):
        """Make a new code (superseding earlier live ones); return (row, plain code)."""
        now = utcnow()
        owner = cls.registration == registration if registration else cls.reset == reset
        (cls.update(superseded_at=now)
         .where(owner, cls.purpose == purpose, cls.used_at.is_null(),
                cls.superseded_at.is_null()).execute())
        code = f"{secrets.randbelow(10 ** rules.CODE_DIGITS):0{rules.CODE_DIGITS}d}"
        salt = secrets.token_hex(8)
        row = cls.create(purpose=purpose, channel=channel, target=target,
                         registration=registration, reset=reset,
                         code_hash=f"{salt}${cls.digest(salt, code)}",
                         expires_at=now + rules.CODE_LIFETIME)
        return row, code

    @classmethod
    def latest(cls, purpose, registration=None, reset=None):
        owner = cls.registration == registration if registration else cls.reset == reset
        return (cls.select().where(owner, cls.purpose == purpose)
                .order_by(cls.created_at.desc(), cls.id.desc()).first())

    @classmethod
    def newest_at(cls, purpose, target):
        """When the newest code for ``target`` was made (any registration or recovery), or None."""
        newest = (cls.select(cls.created_at).where(cls.purpose == purpose, cls.target == target)
                  .order_by(cls.created_at.desc()).first())
        return newest.created_at if newest else None

    @classmethod
    def for_reset(cls, reset):
        """The code a recovery accepts: its own newest; or, when the target's message cap kept
        it from getting one (rules/throttle.py), the newest code sent to the same target by any
        recovery — the one the owner holds, so a stranger's requests cannot keep the owner out.
        Wrong tries count on that code, five in all, whoever makes them."""
        own = cls.latest("reset", reset=reset)
        if own is not None:
            return own
        return (cls.select().where(cls.purpose == "reset", cls.target == reset.target)
                .order_by(cls.created_at.desc(), cls.id.desc()).first())

    def seconds_until_resend(self):
        wait = (self.created_at + rules.CODE_RESEND_COOLDOWN - utcnow()).total_seconds()
        return max(0, int(wait + 0.999))

    def check(self, code):
        """Try a code. Returns one of rules.CODE_OK / CODE_WRONG / CODE_DEAD.

        A wrong try is counted (and saved) even when the caller's transaction
        is rolled back later, so run this before other writes.
        """
        if (self.used_at or self.superseded_at or self.expires_at < utcnow()
                or self.attempts >= rules.CODE_MAX_ATTEMPTS):
            return rules.CODE_DEAD
        salt, expected = self.code_hash.split("$", 1)
        if same(expected, self.digest(salt, (code or "").strip())):
            return rules.CODE_OK
        # Atomic increment so parallel guesses cannot exceed the limit.
        (OneTimeCode.update(attempts=OneTimeCode.attempts + 1)
         .where(OneTimeCode.id == self.id).execute())
        self.attempts += 1
        if self.attempts >= rules.CODE_MAX_ATTEMPTS:
            return rules.CODE_DEAD
        return rules.CODE_WRONG

    def use(self):
        """Mark used; False if another request used it first."""
        return bool(OneTimeCode.update(used_at=utcnow())
                    .where(OneTimeCode.id == self.id, OneTimeCode.used_at.is_null())
                    .execute())


def clean_expired(now=None):
    """Delete finished or stale registration/reset state (run by the scheduler)."""
    now = now or utcnow()
    with db.atomic():
        stale_reg = now - rules.REGISTRATION_LIFETIME
        n1 = PendingRegistration.delete().where(PendingRegistration.created_at < stale_reg).execute()
        n2 = PasswordReset.delete().where(PasswordReset.created_at < now - rules.RESET_LIFETIME).execute()
    return n1 + n2
