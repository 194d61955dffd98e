"""Digital identity (seed 003): one per person, bound to the personal code at the first trusted
(e-identity) sign-in, and the account it signs in to.

The code itself is never kept: rows hold its keyed hash (HMAC-SHA256 under a key derived from
the secret for this purpose, ``runtime.keys``), so the table is no index of personal codes in
clear. After a rotation of the secret the previous secrets' hashes are still found, and the row
is moved to the current one when its person next signs in.
"""
from peewee import CharField, DateTimeField, ForeignKeyField, IntegrityError

from models.accounts import User
from models.base import BaseModel, JSONField, db, utcnow
from models.runtime import runtime

HASH_PURPOSE = "personal-code"


def personal_code_hashes(normalised):
    """The keyed hashes of a normalised code (``rules.identity``): current key first."""
    return runtime.keys.macs(HASH_PURPOSE, normalised)


class DigitalIdentity(BaseModel):
    """A person as trusted e-identity knows them. ``user`` is the account it signs in to: none
    until the person has one linked (created at the first sign-in when no account had stated the
    code, or linked after they confirmed one that had)."""

    code_hash = CharField(max_length=64, unique=True)
    user = ForeignKeyField(User, null=True, unique=True, backref="digital_identities", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    linked_at = DateTimeField(null=True)
    last_sign_in_at = DateTimeField(null=True)
    last_provider = CharField(default="")
    last_acr = CharField(default="")  # the assurance the broker stated (e.g. eIDAS "high")
    last_amr = JSONField(empty=list)  # how the person authenticated (e.g. ["smartid"])

    class Meta:
        table_name = "digital_identity"

    @classmethod
    def find(cls, normalised):
        """The identity of a normalised personal code, or None."""
        hashes = personal_code_hashes(normalised)
        found = cls.select().where(cls.code_hash.in_(hashes)).first()
        if found is not None and found.code_hash != hashes[0]:
            cls.update(code_hash=hashes[0]).where(cls.id == found.id).execute()
            found.code_hash = hashes[0]
        return found

    @classmethod
    def arrive(cls, normalised, provider, acr="", amr=()):
        """The identity of a person who has just signed in with e-identity, created the first
        time; records how they came. Call inside ``models.action()``."""
        identity = cls.find(normalised)
        if identity is None:
            try:
                with db.atomic():
                    identity = cls.create(code_hash=personal_code_hashes(normalised)[0])
            except IntegrityError:  # the same person signing in twice at once
                identity = cls.find(normalised)
        identity.last_sign_in_at = utcnow()
        identity.last_provider = provider[:64]
        identity.last_acr = (acr or "")[:120]
        identity.last_amr = list(amr)
        identity.save()
        return identity

    def accounts_to_link(self, normalised):
        """Active accounts that stated this person's code and have no digital identity yet:
        the ones the person may link to (after proving they hold it). Statements hashed under a
        previous secret are moved to the current one on the way."""
        hashes = personal_code_hashes(normalised)
        StatedPersonalCode.update(code_hash=hashes[0]).where(StatedPersonalCode.code_hash.in_(hashes[1:])).execute()
        linked = DigitalIdentity.select(DigitalIdentity.user).where(DigitalIdentity.user.is_null(False))
        return list(User.select().join(StatedPersonalCode)
                    .where(StatedPersonalCode.code_hash == hashes[0], User.disabled_at.is_null(),
                           User.id.not_in(linked))
                    .order_by(User.id))

    def stated_by_someone_else(self, user):
        """True when ``user``'s account stated another personal code than this identity's: it is
        somebody else's account, whoever knows its password (a phished password must not become
        a lasting e-identity sign-in)."""
        stated = StatedPersonalCode.get_or_none(StatedPersonalCode.user == user)
        return stated is not None and stated.code_hash != self.code_hash

    def link(self, user):
        """Bind this identity to ``user``; False when either is bound already (nothing changes).
        Call inside ``models.action()``."""
        try:
            with db.atomic():
                done = (DigitalIdentity.update(user=user, linked_at=utcnow())
                        .where(DigitalIdentity.id == self.id, DigitalIdentity.user.is_null()).execute())
        except IntegrityError:  # the account has another identity
            return False
        if done:
            self.user, self.linked_at = user, utcnow()
        return bool(done)


class StatedPersonalCode(BaseModel):
    """The personal code an account's holder stated (at registration, in an application, or staff
    entered it): not proof of who holds the account, only a hint that a trusted sign-in with the
    same code may be linked to it once the person also proves they hold the account."""

    user = ForeignKeyField(User, unique=True, backref="stated_personal_code", on_delete="CASCADE")
    code_hash = CharField(max_length=64, index=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "stated_personal_code"

    @classmethod
    def state(cls, user, normalised):
        """Record (or replace) the code ``user`` stated."""
        (cls.insert(user=user, code_hash=personal_code_hashes(normalised)[0])
         .on_conflict(conflict_target=[cls.user], update={cls.code_hash: personal_code_hashes(normalised)[0],
                                                          cls.created_at: utcnow()})
         .execute())


IDENTITY_MODELS = [DigitalIdentity, StatedPersonalCode]
