"""Peewee models of Kabinets and the state changes that belong to them.

Nothing here knows about the request: views pass in what they parsed. Every
write that belongs to one user action runs inside ``db.atomic()`` so an action
is saved whole or not at all. Notifications are written as rows in the same
transaction as the change that causes them; ``tasks.py`` sends them.
"""
import hashlib
import hmac
import json
import secrets
from datetime import datetime, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from peewee import (
    BooleanField, CharField, DatabaseProxy, DateTimeField, ForeignKeyField,
    IntegerField, Model, TextField, fn,
)

import rules

db = DatabaseProxy()
password_hasher = PasswordHasher()


def utcnow():
    """Naive UTC now; every stored time is UTC, templates show Europe/Riga."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def hash_password(password):
    return password_hasher.hash(password)


def password_matches(password_hash, password):
    """True when password matches the stored argon2 hash (never raises)."""
    if not password_hash:
        return False
    try:
        return password_hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A real hash to verify against when an account does not exist, so that
# "no such user" costs the same time as "wrong password".
DUMMY_PASSWORD_HASH = hash_password(secrets.token_urlsafe(16))


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class User(UserMixin, BaseModel):
    """A person who signs in. Clients they act for come through memberships."""

    email = CharField(unique=True)
    phone = CharField(unique=True)
    password_hash = CharField()
    full_name = CharField(default="")
    language = CharField(default="lv")
    notify_email = BooleanField(default=True)
    notify_sms = BooleanField(default=True)
    staff_role = CharField(null=True)
    must_change_password = BooleanField(default=False)
    temporary_password_expires_at = DateTimeField(null=True)
    session_version = IntegerField(default=1)
    disabled_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(null=True)

    def get_id(self):
        # Flask-Login keeps this in the session; a bumped version logs out
        # every session that still carries the old one.
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self):
        return self.disabled_at is None

    @property
    def is_staff(self):
        return self.staff_role in rules.STAFF_ROLES

    @property
    def display_name(self):
        return self.full_name or self.email

    def has_staff_role(self, role):
        return rules.staff_role_at_least(self.staff_role, role)

    def check_password(self, password):
        """Verify a password; a temporary one stops working when it expires."""
        if (self.must_change_password and self.temporary_password_expires_at
                and self.temporary_password_expires_at < utcnow()):
            return False
        return password_matches(self.password_hash, password)

    def was_used_before(self, password):
        """True if password equals the current one or one in the short history."""
        if password_matches(self.password_hash, password):
            return True
        recent = (PasswordHistory.select().where(PasswordHistory.user == self)
                  .order_by(PasswordHistory.created_at.desc())
                  .limit(rules.PASSWORD_HISTORY_LENGTH))
        return any(password_matches(h.password_hash, password) for h in recent)

    def set_password(self, password, temporary=False):
        """Store a new password, keep the old hash in history, end other sessions.

        Call inside ``db.atomic()``; the caller saves nothing else for it.
        """
        if self.password_hash and not self.must_change_password:
            PasswordHistory.create(user=self, password_hash=self.password_hash)
        self.password_hash = hash_password(password)
        self.must_change_password = temporary
        self.temporary_password_expires_at = (
            utcnow() + rules.TEMPORARY_PASSWORD_LIFETIME if temporary else None)
        self.session_version += 1
        self.save()

    def memberships_query(self):
        return (Membership.select(Membership, Client).join(Client)
                .where(Membership.user == self, Membership.revoked_at.is_null())
                .order_by(Client.kind.desc(), Client.name))


class PasswordHistory(BaseModel):
    user = ForeignKeyField(User, backref="password_history", on_delete="CASCADE")
    password_hash = CharField()
    created_at = DateTimeField(default=utcnow)


class Client(BaseModel):
    """Whom the institution serves: a natural person or a company."""

    kind = CharField()  # rules.NATURAL or rules.LEGAL
    name = CharField(default="")
    country = CharField(null=True)  # legal person: country of registration
    citizenship = CharField(null=True)  # natural person
    citizenship2 = CharField(null=True)
    registration_number = CharField(null=True)
    requires_trusted_eid = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)

    @property
    def is_legal(self):
        return self.kind == rules.LEGAL


class Membership(BaseModel):
    """A user's access to a client: a role and the rights it carries."""

    user = ForeignKeyField(User, backref="memberships", on_delete="CASCADE")
    client = ForeignKeyField(Client, backref="memberships", on_delete="CASCADE")
    role = CharField()  # rules.ROLES
    can_documents = BooleanField(default=False)
    can_submit = BooleanField(default=False)
    can_messages = BooleanField(default=False)
    can_finance = BooleanField(default=False)
    can_services = BooleanField(default=False)
    can_manage_users = BooleanField(default=False)
    own_items_only = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)
    revoked_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("user", "client"), True),)

    def allows(self, permission):
        return self.revoked_at is None and bool(getattr(self, f"can_{permission}"))

    @classmethod
    def grant(cls, user, client, role, **overrides):
        """Create a membership with the role's default rights (overridable)."""
        rights = dict(rules.ROLE_DEFAULT_RIGHTS[role])
        rights.update(overrides)
        return cls.create(user=user, client=client, role=role,
                          **{f"can_{k}" if k != "own_items_only" else k: v
                             for k, v in rights.items()})


class Consent(BaseModel):
    """Which version of a legal document a user accepted, and when."""

    user = ForeignKeyField(User, backref="consents", on_delete="CASCADE")
    document = CharField()
    version = CharField()
    accepted_at = DateTimeField()


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
        key = rules.secret_key().encode()
        return hmac.new(key, f"{code_id_salt}:{code}".encode(), hashlib.sha256).hexdigest()

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
        if hmac.compare_digest(expected, self.digest(salt, (code or "").strip())):
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


class Notification(BaseModel):
    """An e-mail or SMS to send. Parameters are encrypted and wiped once sent."""

    user = ForeignKeyField(User, null=True, backref="notifications", on_delete="SET NULL")
    channel = CharField()  # email / sms
    recipient = CharField()
    template = CharField()
    language = CharField(default="lv")
    params = TextField(default="")
    status = CharField(default="pending", index=True)  # pending/sending/sent/failed
    attempts = IntegerField(default=0)
    error = TextField(default="")
    created_at = DateTimeField(default=utcnow)
    claimed_at = DateTimeField(null=True)
    sent_at = DateTimeField(null=True)

    @classmethod
    def queue(cls, channel, recipient, template, language="lv", user=None, **params):
        """Write the row; the caller's transaction decides whether it exists."""
        return cls.create(user=user, channel=channel, recipient=recipient,
                          template=template, language=language,
                          params=rules.seal(json.dumps(params)))

    def opened_params(self):
        return json.loads(rules.unseal(self.params)) if self.params else {}

    def claim(self):
        """Move pending → sending; False if someone else has it (no double send)."""
        return bool(Notification.update(status="sending", attempts=Notification.attempts + 1,
                                        claimed_at=utcnow())
                    .where(Notification.id == self.id, Notification.status == "pending")
                    .execute())


class DevOutbox(BaseModel):
    """What the development e-mail/SMS backends "delivered": read by staff and tests."""

    channel = CharField()
    recipient = CharField(index=True)
    subject = CharField(default="")
    body = TextField()
    created_at = DateTimeField(default=utcnow)


class AuditLog(BaseModel):
    """Security-relevant actions: who, what, when, from where. Never secrets."""

    created_at = DateTimeField(default=utcnow, index=True)
    user = ForeignKeyField(User, null=True, backref="audit", on_delete="SET NULL")
    actor = CharField(default="")
    action = CharField(index=True)
    ip = CharField(default="")
    user_agent = CharField(default="")
    details = TextField(default="")

    @classmethod
    def record(cls, action, user=None, actor="", ip="", user_agent="", **details):
        return cls.create(action=action, user=user,
                          actor=actor or (user.email if user else ""),
                          ip=ip or "", user_agent=(user_agent or "")[:250],
                          details=json.dumps(details, ensure_ascii=False) if details else "")


ALL_MODELS = [User, PasswordHistory, Client, Membership, Consent, PendingRegistration,
              PasswordReset, OneTimeCode, Notification, DevOutbox, AuditLog]


def find_user_by_identifier(identifier):
    """Look a user up by e-mail or +E.164 phone; None when no such user."""
    kind, value = rules.parse_identifier(identifier)
    if kind == "email":
        return User.get_or_none(fn.LOWER(User.email) == value)
    if kind == "phone":
        return User.get_or_none(User.phone == value)
    return None


# --- Scoping: the one way to reach client-owned objects -----------------------

def active_membership(user, client_id):
    """The user's live membership of a client, or None."""
    if not user or not user.is_authenticated:
        return None
    return (Membership.select(Membership, Client).join(Client)
            .where(Membership.user == user, Membership.client == client_id,
                   Membership.revoked_at.is_null()).first())


def scoped(model, user, permission, client_id=None):
    """Rows of a client-owned model that ``user`` may see under ``permission``.

    ``model`` needs a ``client`` foreign key and a ``created_by`` user key.
    Staff see everything their role reaches; clients see rows of clients they
    hold a live membership with that right, and only their own rows when the
    membership is limited to own items. Views call ``get_scoped`` and answer
    404 for anything outside, so a refused object looks like a missing one.
    """
    if user.is_staff:
        query = model.select()
        return query.where(model.client == client_id) if client_id else query
    memberships = [m for m in Membership.select().where(
        Membership.user == user, Membership.revoked_at.is_null())
        if m.allows(permission) and (client_id is None or m.client_id == int(client_id))]
    if not memberships:
        return model.select().where(model.id.is_null())  # nothing, as a query
    condition = None
    for m in memberships:
        part = model.client == m.client_id
        if m.own_items_only:
            part &= model.created_by == user.id
        condition = part if condition is None else (condition | part)
    return model.select().where(condition)


def get_scoped(model, object_id, user, permission):
    """One client-owned object the user may see, or None (the view answers 404)."""
    try:
        object_id = int(object_id)
    except (TypeError, ValueError):
        return None
    return scoped(model, user, permission).where(model.id == object_id).first()


def clean_expired(now=None):
    """Delete finished or stale registration/reset state (run by the scheduler)."""
    now = now or utcnow()
    with db.atomic():
        stale_reg = now - rules.REGISTRATION_LIFETIME
        n1 = PendingRegistration.delete().where(PendingRegistration.created_at < stale_reg).execute()
        n2 = PasswordReset.delete().where(PasswordReset.created_at < now - rules.RESET_LIFETIME).execute()
    return n1 + n2


# Areas that outgrew this file live in modules of this package; each adds its
# models to ALL_MODELS when imported here.
from models.files import StoredFile  # noqa: E402

ALL_MODELS.append(StoredFile)
from models.messages import MESSAGE_MODELS  # noqa: E402

ALL_MODELS.extend(MESSAGE_MODELS)
from models.documents import DOCUMENT_MODELS  # noqa: E402

ALL_MODELS.extend(DOCUMENT_MODELS)
