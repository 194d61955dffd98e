"""People, the clients they act for, and the memberships between them."""
from peewee import SQL, BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, fn

import rules
from models import passwords
from rules import sessions
from models.base import BaseModel, Prepared, utcnow


class User(BaseModel):
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

    # What Flask-Login asks of a user object (without importing it here).
    is_authenticated = True
    is_anonymous = False

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
        """Verify a password; a temporary one stops working when it expires. A right password
        whose hash was made with older argon2 parameters is hashed again with today's and saved."""
        if (self.must_change_password and self.temporary_password_expires_at
                and self.temporary_password_expires_at < utcnow()):
            return False
        if not passwords.password_matches(self.password_hash, password):
            return False
        if passwords.needs_rehash(self.password_hash):
            self._rehash(password)
        return True

    def _rehash(self, password):
        """The same password under today's parameters: nothing else changes (no history entry,
        sessions stay), and only if nobody changed the password meanwhile."""
        old, new = self.password_hash, passwords.hash_password(password)
        if User.update(password_hash=new).where(User.id == self.id, User.password_hash == old).execute():
            self.password_hash = new

    def was_used_before(self, password):
        """True if password equals the current one or one in the short history."""
        if passwords.password_matches(self.password_hash, password):
            return True
        recent = (PasswordHistory.select().where(PasswordHistory.user == self)
                  .order_by(PasswordHistory.created_at.desc())
                  .limit(rules.PASSWORD_HISTORY_LENGTH))
        return any(passwords.password_matches(h.password_hash, password) for h in recent)

    def set_password(self, password, temporary=False):
        """Store a new password, keep the old hash in history, end other sessions.

        Call inside ``db.atomic()``; the caller saves nothing else for it.
        """
        if self.password_hash and not self.must_change_password:
            PasswordHistory.create(user=self, password_hash=self.password_hash)
        self.password_hash = passwords.hash_password(password)
        self.must_change_password = temporary
        self.temporary_password_expires_at = (
            utcnow() + rules.TEMPORARY_PASSWORD_LIFETIME if temporary else None)
        self.session_version += 1
        self.save()

    def memberships_query(self):
        """The live memberships, each with its client: private accounts first, then by name."""
        return _LIVE_MEMBERSHIPS(self.id)


class EndedSession(BaseModel):
    """One session of a user ended on its own ("sign out here"): its id (``session["sid"]``)
    is refused from then on, while the user's other sessions go on. "Everywhere" is the
    session version instead. A row is needed only until the session would have timed out
    anyway (``expires_at``); older rows are dropped when the user ends another one."""

    user = ForeignKeyField(User, backref="ended_sessions", on_delete="CASCADE")
    session_id = CharField(max_length=64, unique=True)
    expires_at = DateTimeField()

    @classmethod
    def end(cls, user, session_id, now):
        cls.delete().where(cls.user == user, cls.expires_at < now).execute()
        cls.insert(user=user, session_id=session_id,
                   expires_at=now + rules.SESSION_ABSOLUTE_TIMEOUT).on_conflict_ignore().execute()


class UserSession(BaseModel):
    """One signed-in session of a user, as "Your sessions" lists it (issue 12): written at
    sign-in, its ``last_seen_at`` moved at most every ``rules.sessions.LAST_SEEN_EVERY``, and
    removed when the session is signed out, ended from the list, or timed out (``clean``).
    Whether a session may go on is still decided by the session version and ``EndedSession``;
    a row of an older version is no longer listed."""

    user = ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    session_id = CharField(max_length=64, unique=True)
    session_version = IntegerField()
    method = CharField(max_length=16)  # rules.sessions.METHODS
    user_agent = CharField(max_length=300, default="")
    address_range = CharField(max_length=64, default="")
    created_at = DateTimeField()
    last_seen_at = DateTimeField()

    class Meta:
        indexes = ((("user", "last_seen_at"), False),)

    @classmethod
    def record(cls, user, session_id, method, user_agent, address, now, replaces=None):
        """A session has begun (``replaces``: the id of the one it follows, e.g. after a password
        change in the same browser)."""
        if replaces:
            cls.delete().where(cls.session_id == replaces, cls.user == user).execute()
        cls.insert(user=user, session_id=session_id, session_version=user.session_version,
                   method=method if method in sessions.METHODS else sessions.PASSWORD,
                   user_agent=(user_agent or "")[:sessions.USER_AGENT_KEPT],
                   address_range=sessions.address_range(address), created_at=now,
                   last_seen_at=now).on_conflict_ignore().execute()

    @classmethod
    def touch(cls, session_id, now):
        """The session was seen ``now`` (one UPDATE; the caller decides how often)."""
        return cls.update(last_seen_at=now).where(cls.session_id == session_id).execute()

    @classmethod
    def live_of(cls, user, now):
        """The user's sessions that may still go on, last seen first."""
        return (cls.select().where(cls.user == user, cls.session_version == user.session_version,
                                   cls.last_seen_at > now - sessions.SEEN_WITHIN,
                                   cls.created_at > now - sessions.LIVES_AT_MOST)
                .order_by(cls.last_seen_at.desc(), cls.id.desc()).limit(sessions.MAX_LISTED))

    @classmethod
    def end(cls, user, row_id, now):
        """End one of ``user``'s sessions by its row: its id is refused from its next request on
        (``EndedSession``). Returns the ended session's id, or None when ``user`` has no such row."""
        row = cls.get_or_none(cls.id == row_id, cls.user == user)
        if row is None:
            return None
        EndedSession.end(user, row.session_id, now)
        row.delete_instance()
        return row.session_id

    @classmethod
    def end_others(cls, user, keep_session_id, now):
        """End every other listed session of ``user``; the ids ended."""
        ended = [row.session_id for row in cls.select(cls.session_id).where(
            cls.user == user, cls.session_id != (keep_session_id or ""))]
        for session_id in ended:
            EndedSession.end(user, session_id, now)
        if ended:
            cls.delete().where(cls.user == user, cls.session_id.in_(ended)).execute()
        return ended

    @classmethod
    def forget(cls, session_id=None, user=None):
        """The rows of a signed-out session (or of all the user's, signing out everywhere)."""
        query = cls.delete()
        if user is not None:
            return query.where(cls.user == user).execute()
        return query.where(cls.session_id == session_id).execute()

    @classmethod
    def clean(cls, now):
        """Delete rows of sessions that timed out or belong to an older session version."""
        stale_version = cls.select(cls.id).join(User).where(cls.session_version != User.session_version)
        return cls.delete().where((cls.last_seen_at <= now - sessions.SEEN_WITHIN)
                                  | (cls.created_at <= now - sessions.LIVES_AT_MOST)
                                  | cls.id.in_(stale_version)).execute()


def user_of_session(user_id, session_id):
    """The user a session names, loaded with whether that session was ended on its own
    (``session_ended``), in one query: every signed-in request asks it (built once:
    ``models.base.Prepared``)."""
    found = (_USER_OF_SESSION(user_id, str(session_id)) if session_id
             else _USER_BY_ID(user_id))
    return found[0] if found else None


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
    # Its users act for it only from a strong sign-in: e-identity, or a password with a second
    # factor (issue 12; set by a main user, blueprints/security.py).
    requires_second_factor = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)
    # The consultant who works for this client (issue 15, ``rules.staff``): a consultant reaches
    # only the clients assigned to them; supervisors assign them.
    consultant = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL", index=True)

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


# Read on every signed-in request: their SQL is built once (models.base.Prepared).
_USER_BY_ID = Prepared(lambda user_id: User.select(User, SQL("0").alias("session_ended"))
                       .where(User.id == user_id).limit(1).objects())
_USER_OF_SESSION = Prepared(lambda user_id, session_id: User.select(
    User, fn.EXISTS(EndedSession.select(SQL("1")).where(EndedSession.session_id == session_id))
    .alias("session_ended")).where(User.id == user_id).limit(1).objects())
_LIVE_MEMBERSHIPS = Prepared(lambda user_id: (
    Membership.select(Membership, Client).join(Client)
    .where(Membership.user == user_id, Membership.revoked_at.is_null())
    .order_by(Client.kind.desc(), Client.name)))


class Consent(BaseModel):
    """Which version of a legal document a user accepted, and when."""

    user = ForeignKeyField(User, backref="consents", on_delete="CASCADE")
    document = CharField()
    version = CharField()
    accepted_at = DateTimeField()


def find_user_by_identifier(identifier):
    """Look a user up by e-mail or +E.164 phone; None when no such user. A look-up, not a
    check: the forms decide which addresses are taken (``.test`` ones only in development)."""
    kind, value = rules.parse_identifier(identifier, test_domains=True)
    if kind == "email":
        return User.get_or_none(fn.LOWER(User.email) == value)
    if kind == "phone":
        return User.get_or_none(User.phone == value)
    return None
