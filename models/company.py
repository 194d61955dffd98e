"""A company's users: invitations, and the changes a main user makes to colleagues' access
(CMP-5, CMP-6). The rules (who may manage whom) are ``rules.company``; every change here runs
inside the caller's ``models.action()``."""
import hashlib
import secrets

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, fn

import rules
from models.accounts import Client, Membership, User
from models.base import BaseModel, db, utcnow
from models.identity import DigitalIdentity, StatedPersonalCode
from models.notifications import Notification
from rules import company as R

# What accepting an invitation came to.
ACCEPTED, ALREADY_MEMBER, USED, CANCELLED, EXPIRED, UNKNOWN = (
    "accepted", "already_member", "used", "cancelled", "expired", "unknown")
# What an employee's first e-identity sign-in with an invitation may also come to.
OTHER_PERSON, NEEDS_ACCOUNT = "other_person", "needs_account"


def token_hash(token):
    """What is stored of an invitation's token: its SHA-256 (the token is 256 random bits, so
    no key is needed, and a new secret key leaves pending invitations valid)."""
    return hashlib.sha256((token or "").encode("utf-8", "surrogatepass")).hexdigest()


class Invitation(BaseModel):
    """A main user's invitation for a colleague to join a company with chosen rights: a
    single-use token valid ``rules.company.INVITATION_LIFETIME``, sent by e-mail and/or SMS.
    Only the token's hash is kept; re-sending replaces it, so the earlier link is dead."""

    client = ForeignKeyField(Client, backref="invitations", on_delete="CASCADE")
    invited_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    full_name = CharField(default="")
    email = CharField(null=True)
    phone = CharField(null=True)
    language = CharField(default="lv")
    can_documents = BooleanField(default=False)
    can_submit = BooleanField(default=False)
    can_messages = BooleanField(default=False)
    can_finance = BooleanField(default=False)
    can_services = BooleanField(default=False)
    own_items_only = BooleanField(default=True)
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    accepted_at = DateTimeField(null=True)
    accepted_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    cancelled_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("client", "id"), False),)

    @property
    def status(self):
        return R.invitation_status(self.accepted_at, self.cancelled_at, self.expires_at, utcnow())

    @property
    def rights(self):
        return R.granted(self)

    @property
    def recipient(self):
        """How the invitation went: e-mail, phone or both, for the lists."""
        return " · ".join(v for v in (self.email, self.phone) if v)

    @classmethod
    def issue(cls, client, by, rights, own_items_only, email=None, phone=None, full_name="",
              language="lv", link=None):
        """A new invitation and its first messages; returns (row, token). ``link(token)`` is the
        path of the acceptance page (the views know the URLs)."""
        token = secrets.token_urlsafe(R.INVITATION_TOKEN_BYTES)
        now = utcnow()
        row = cls.create(client=client, invited_by=by, full_name=full_name, email=email, phone=phone,
                         language=language, token_hash=token_hash(token), created_at=now, sent_at=now,
                         expires_at=now + R.INVITATION_LIFETIME,
                         **{k: v for k, v in R.rights_fields(rights, own_items_only).items()
                            if k != "can_manage_users"})
        row._send(token, by, link)
        return row, token

    def resend(self, by, link):
        """A new token (the old link dies at once), seven days again, and the messages again.
        False when the invitation was accepted or cancelled meanwhile."""
        token = secrets.token_urlsafe(R.INVITATION_TOKEN_BYTES)
        now = utcnow()
        won = (Invitation.update(token_hash=token_hash(token), sent_at=now,
                                 expires_at=now + R.INVITATION_LIFETIME)
               .where(Invitation.id == self.id, Invitation.accepted_at.is_null(),
                      Invitation.cancelled_at.is_null()).execute())
        if not won:
            return None
        self.sent_at, self.expires_at = now, now + R.INVITATION_LIFETIME
        self._send(token, by, link)
        return token

    def cancel(self):
        """Cancelled for good (its link dies); False when accepted or cancelled already."""
        return bool(Invitation.update(cancelled_at=utcnow())
                    .where(Invitation.id == self.id, Invitation.accepted_at.is_null(),
                           Invitation.cancelled_at.is_null()).execute())

    def _send(self, token, by, link):
        params = {"company": self.client.name or "", "inviter": by.display_name if by else "",
                  "path": link(token)}
        # Addressed to no account whether or not one has this e-mail or phone: the message and
        # the main user's page are the same either way.
        for channel, recipient in (("email", self.email), ("sms", self.phone)):
            if recipient:
                Notification.queue(channel, recipient, "company_invitation", language=self.language, **params)

    @classmethod
    def find(cls, token):
        """The invitation a token names (in any state), or None."""
        if not isinstance(token, str) or not token or len(token) > 200:
            return None
        return (cls.select(cls, Client).join(Client)
                .where(cls.token_hash == token_hash(token)).first())

    def accept(self, user):
        """``user`` joins the company with the invitation's rights, once. Returns one of
        ACCEPTED, ALREADY_MEMBER (nothing used: they have access already), USED, CANCELLED,
        EXPIRED. A membership revoked earlier comes back with the new rights."""
        state = self.status
        if state != R.PENDING:
            return {R.ACCEPTED: USED, R.CANCELLED: CANCELLED, R.EXPIRED: EXPIRED}[state]
        existing = Membership.get_or_none(Membership.user == user, Membership.client == self.client_id)
        if existing is not None and existing.revoked_at is None:
            return ALREADY_MEMBER
        now = utcnow()
        won = (Invitation.update(accepted_at=now, accepted_by=user)
               .where(Invitation.id == self.id, Invitation.token_hash == self.token_hash,
                      Invitation.accepted_at.is_null(), Invitation.cancelled_at.is_null(),
                      Invitation.expires_at > now).execute())
        if not won:
            return USED
        fields = R.rights_fields(self.rights, self.own_items_only)
        if existing is None:
            Membership.create(user=user, client=self.client_id, role=rules.COLLEAGUE, created_at=now, **fields)
        else:
            Membership.update(role=rules.COLLEAGUE, revoked_at=None, created_at=now, **fields).where(
                Membership.id == existing.id).execute()
        self.accepted_at, self.accepted_by = now, user
        return ACCEPTED

    @classmethod
    def pending_for_phone(cls, phone):
        """The newest pending invitation sent to this phone number (E.164), or None."""
        if not isinstance(phone, str) or not phone.startswith("+") or len(phone) > 20:
            return None
        now = utcnow()
        return (cls.select(cls, Client).join(Client)
                .where(cls.phone == phone, cls.accepted_at.is_null(), cls.cancelled_at.is_null(),
                       cls.expires_at > now)
                .order_by(cls.id.desc()).first())

    def account_for_new_person(self):
        """Whether an account can be made from this invitation for somebody who has none: it
        needs both the e-mail and the phone (every account has both), and neither may belong to
        an account already. Returns None (it can), NEEDS_ACCOUNT (a contact is missing, or an
        account has it: its holder signs in to it), or OTHER_PERSON (that account is another
        person's: it holds another digital identity or stated another personal code)."""
        if not (self.email and self.phone):
            return NEEDS_ACCOUNT
        holders = list(User.select().where((User.email == self.email) | (User.phone == self.phone)))
        return (OTHER_PERSON if any(_someone_else(holder) for holder in holders)
                else NEEDS_ACCOUNT if holders else None)

    @classmethod
    def open_ones(cls, client_id):
        """Invitations neither accepted nor cancelled (pending or expired), newest first."""
        return (cls.select().where(cls.client == client_id, cls.accepted_at.is_null(),
                                   cls.cancelled_at.is_null())
                .order_by(cls.id.desc()))


def _someone_else(user, identity=None):
    """True when ``user``'s account belongs to a person other than ``identity``'s (any person's
    when None): it holds a digital identity, or stated a personal code, that is not this one."""
    own = DigitalIdentity.get_or_none(DigitalIdentity.user == user)
    if own is not None and (identity is None or own.id != identity.id):
        return True
    stated = StatedPersonalCode.get_or_none(StatedPersonalCode.user == user)
    return stated is not None and (identity is None or stated.code_hash != identity.code_hash)


def join_with_identity(invitation, identity, user=None, full_name=""):
    """An employee's first trusted sign-in (seed 003): the digital identity ``identity`` (not
    linked yet) holds ``invitation``. Links it to ``user`` (an account the person proved they
    hold) or, without one, to an account made from the invitation (its e-mail and phone, no
    password: e-identity signs it in), and accepts the invitation, all or nothing. Afterwards
    the identity signs straight in: the step is never asked again.

    Returns ``(outcome, user)``: ACCEPTED or ALREADY_MEMBER with the account; else (USED,
    CANCELLED, EXPIRED, NEEDS_ACCOUNT, OTHER_PERSON) and None, nothing changed. Call inside
    ``models.action()``."""
    state = invitation.status
    if state != R.PENDING:
        return {R.ACCEPTED: USED, R.CANCELLED: CANCELLED, R.EXPIRED: EXPIRED}[state], None
    if identity.user_id is not None:
        return OTHER_PERSON, None
    with db.atomic() as transaction:
        if user is None:
            refused = invitation.account_for_new_person()
            if refused:
                return refused, None
            user = User.create(email=invitation.email, phone=invitation.phone, password_hash="",
                               full_name=(full_name or invitation.full_name or "")[:200],
                               language=invitation.language)
        elif _someone_else(user, identity):
            return OTHER_PERSON, None
        outcome = invitation.accept(user)
        if outcome not in (ACCEPTED, ALREADY_MEMBER) or not identity.link(user):
            transaction.rollback()
            return (outcome if outcome not in (ACCEPTED, ALREADY_MEMBER) else OTHER_PERSON), None
    return outcome, user


# --- The company's users ------------------------------------------------------------------------

def company_members(client_id):
    """The live memberships of a company with their users, newest first (a query)."""
    return (Membership.select(Membership, User).join(User)
            .where(Membership.client == client_id, Membership.revoked_at.is_null()))


def main_user_count(client_id, lock=False):
    """How many live main users the company has. With ``lock`` (inside a transaction) their
    rows are locked first on PostgreSQL, so two main users revoking each other at once cannot
    both pass "another one remains" (SQLite's write transactions run one at a time anyway)."""
    query = Membership.select(Membership.id).where(
        Membership.client == client_id, Membership.can_manage_users == True,  # noqa: E712
        Membership.revoked_at.is_null())
    if lock and getattr(db.obj, "for_update", False):
        return len(list(query.for_update()))
    return query.count()


def member_of_company(client_id, membership_id):
    """A live membership of this company by id, with its user, or None."""
    membership_id = rules.bounded_int(membership_id)
    if membership_id is None:
        return None
    return company_members(client_id).where(Membership.id == membership_id).first()


def _refused(actor, target, action):
    """The rule's answer on the rows as they are now, inside the action's transaction: the main
    users locked and counted first, then the actor and the target read again (either may have
    been revoked since the request read them)."""
    mains = main_user_count(target.client_id, lock=True)
    actor_now = Membership.get_or_none(Membership.id == actor.id)
    target_now = Membership.get_or_none(Membership.id == target.id)
    if actor_now is None or target_now is None:
        return R.NOT_FOUND
    return R.refusal(R.member_of(actor_now), R.member_of(target_now), action, mains)


def change_rights(actor, target, rights, own_items_only):
    """Set a colleague's rights and scope. Returns a refusal code or None (done)."""
    refused = _refused(actor, target, R.EDIT_RIGHTS)
    if refused:
        return refused
    Membership.update(**R.rights_fields(rights, own_items_only)).where(Membership.id == target.id).execute()
    return None


def demote(actor, target):
    """A main user becomes a colleague (keeping the other rights); refused for the last one."""
    refused = _refused(actor, target, R.DEMOTE)
    if refused:
        return refused
    Membership.update(**R.demoted_fields()).where(Membership.id == target.id).execute()
    return None


def revoke(actor, target):
    """End a user's access to the company, at once: memberships are read from the database on
    every request, so their next request anywhere no longer reaches the company."""
    refused = _refused(actor, target, R.REVOKE)
    if refused:
        return refused
    Membership.update(revoked_at=utcnow()).where(Membership.id == target.id,
                                                 Membership.revoked_at.is_null()).execute()
    return None


def company_people(client_id):
    """Everyone who is or was a user of the company (for the history's person filter), by name."""
    return (User.select(User.id, User.full_name, User.email).join(Membership)
            .where(Membership.client == client_id)
            .order_by(fn.LOWER(User.full_name), User.email))
