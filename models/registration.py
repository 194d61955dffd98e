"""Registration in progress, password recovery, changes of the e-mail or phone, and one-time
confirmation codes."""
import secrets

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, fn

import rules
from models.accounts import User, UserSession, find_user_by_identifier
from models.base import BaseModel, db, utcnow
from models.notifications import Notification
from models.runtime import runtime
from rules import outbox
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


class ContactChange(BaseModel):
    """A change of a user's e-mail or phone (``rules.CONTACT_FIELDS``) waiting for the code sent
    to the new value. A user has at most one live change: starting another ends the earlier."""

    token = CharField(unique=True, default=lambda: secrets.token_urlsafe(24))
    user = ForeignKeyField(User, backref="contact_changes", on_delete="CASCADE")
    field = CharField()  # email or phone
    new_value = CharField()
    created_at = DateTimeField(default=utcnow)
    completed_at = DateTimeField(null=True)
    ended_at = DateTimeField(null=True)  # another change was started

    @property
    def channel(self):
        return rules.CONTACT_CHANNELS[self.field]

    @property
    def purpose(self):
        return f"contact_{self.field}"

    @property
    def live(self):
        return (self.completed_at is None and self.ended_at is None
                and self.created_at + rules.CONTACT_CHANGE_LIFETIME >= utcnow())

    @classmethod
    def start(cls, user, field, new_value, send=True):
        """A change of ``field`` to ``new_value`` (normalised, not the user's own), with its
        first code (unless ``send`` is False). Call inside an ``action()``."""
        cls.update(ended_at=utcnow()).where(
            cls.user == user, cls.completed_at.is_null(), cls.ended_at.is_null()).execute()
        change = cls.create(user=user, field=field, new_value=new_value)
        if send:
            change.send_code()
        return change

    @classmethod
    def live_one(cls, user, token):
        """The user's live change that ``token`` names, or None (another user's never)."""
        if not token:
            return None
        change = cls.get_or_none(cls.token == token, cls.user == user)
        return change if change is not None and change.live else None

    def holder(self):
        """Another account that has the new value already, or None."""
        if self.field == "email":
            match = fn.LOWER(User.email) == self.new_value.lower()
        else:
            match = User.phone == self.new_value
        return User.get_or_none(match, User.id != self.user_id)

    def send_code(self):
        """A new code to the new value (superseding the earlier ones). When another account
        has that value, its holder gets a notice instead, as a registration does, so the
        answer never tells whose it is. Call inside an ``action()``."""
        user = User.get_by_id(self.user_id)
        _row, code = OneTimeCode.issue(self.purpose, self.channel, self.new_value, contact_change=self)
        taken_by = self.holder()
        if taken_by is not None:
            Notification.queue(self.channel, self.new_value, "contact_taken",
                               language=taken_by.language, user=taken_by)
        else:
            Notification.queue(self.channel, self.new_value, "contact_code",
                               language=user.language, user=user, code=code)

    def complete(self, code):
        """Put the new value in place once ``code`` (the right one) is used: the user's sign-in
        identifier changes, every session of the user ends (the caller renews its own), recoveries
        still heading for the old value end, and the old value gets a notice. Call inside an
        ``action()``; returns the old value, or None when the code was used meanwhile or the value
        became another account's (the unique column refuses it: ``IntegrityError``)."""
        if not code.use():
            return None
        user = User.get_by_id(self.user_id)
        old = getattr(user, self.field)
        column = User.email if self.field == "email" else User.phone
        User.update({column: self.new_value, User.session_version: User.session_version + 1}).where(
            User.id == user.id).execute()
        now = utcnow()
        self.completed_at = now
        self.save()
        PasswordReset.update(completed_at=now).where(
            PasswordReset.user == user, PasswordReset.target == old,
            PasswordReset.completed_at.is_null()).execute()
        Notification.queue(self.channel, old, "contact_changed", language=user.language, user=user,
                           contact=self.field, new=rules.mask(self.channel, self.new_value))
        if self.field == "email" and user.phone:  # a copy by SMS (issue 12); a new phone's old one has it
            Notification.queue("sms", user.phone, "contact_changed", language=user.language, user=user,
                               contact=self.field, new=rules.mask(self.channel, self.new_value))
        return old


class OneTimeCode(BaseModel):
    """A 6-digit confirmation code, stored only as a keyed hash."""

    purpose = CharField()  # rules.CODE_PURPOSES
    registration = ForeignKeyField(PendingRegistration, null=True, backref="codes",
                                   on_delete="CASCADE")
    reset = ForeignKeyField(PasswordReset, null=True, backref="codes", on_delete="CASCADE")
    contact_change = ForeignKeyField(ContactChange, null=True, backref="codes", on_delete="CASCADE")
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
    def _owned_by(cls, registration=None, reset=None, contact_change=None):
        if registration:
            return cls.registration == registration
        if contact_change:
            return cls.contact_change == contact_change
        return cls.reset == reset

    @classmethod
    def issue(cls, purpose, channel, target, registration=None, reset=None, contact_change=None):
        """Make a new code (superseding earlier live ones); return (row, plain code)."""
        now = utcnow()
        owner = cls._owned_by(registration, reset, contact_change)
        (cls.update(superseded_at=now)
         .where(owner, cls.purpose == purpose, cls.used_at.is_null(),
                cls.superseded_at.is_null()).execute())
        code = f"{secrets.randbelow(10 ** rules.CODE_DIGITS):0{rules.CODE_DIGITS}d}"
        salt = secrets.token_hex(8)
        row = cls.create(purpose=purpose, channel=channel, target=target,
                         registration=registration, reset=reset, contact_change=contact_change,
                         code_hash=f"{salt}${cls.digest(salt, code)}",
                         expires_at=now + rules.CODE_LIFETIME)
        return row, code

    @classmethod
    def latest(cls, purpose, registration=None, reset=None, contact_change=None):
        owner = cls._owned_by(registration, reset, contact_change)
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
    """Delete finished or stale registration, reset and contact-change state, the notifications
    written for no account (``rules.outbox.NOWHERE_KEPT``) and the rows of timed-out sessions (run
    by the scheduler). Returns how many registration, reset, contact-change and notification rows
    went."""
    now = now or utcnow()
    with db.atomic():
        stale_reg = now - rules.REGISTRATION_LIFETIME
        n1 = PendingRegistration.delete().where(PendingRegistration.created_at < stale_reg).execute()
        n2 = PasswordReset.delete().where(PasswordReset.created_at < now - rules.RESET_LIFETIME).execute()
        n3 = ContactChange.delete().where(
            ContactChange.created_at < now - rules.CONTACT_CHANGE_LIFETIME).execute()
        n4 = Notification.delete().where(Notification.status == outbox.NOWHERE,
                                         Notification.created_at < now - outbox.NOWHERE_KEPT).execute()
        UserSession.clean(now)  # signed-in sessions that timed out ("Your sessions")
        from models.power_of_attorney import expire_powers_of_attorney
        expire_powers_of_attorney(now)  # access a power of attorney gave ends by itself
    return n1 + n2 + n3 + n4
