"""Passkeys (WebAuthn credentials) of a person (issue 12), and the challenges of the ceremonies
that register or use them: each challenge is kept server-side as a hash, expires, and is taken
once, so a recorded answer cannot be played again."""
import hashlib
import secrets

from peewee import BigIntegerField, CharField, DateTimeField, ForeignKeyField, IntegrityError, TextField

from models.accounts import User
from models.base import BaseModel, db, utcnow
from models.runtime import runtime
from rules import passkeys as R


class Passkey(BaseModel):
    """One registered passkey: the credential's id and public key (COSE, base64url), the newest
    signature counter seen, the transports the browser reported, when added and last used."""

    user = ForeignKeyField(User, backref="passkeys", on_delete="CASCADE")
    name = CharField(max_length=R.NAME_MAX)
    credential_id = CharField(max_length=1400, unique=True)  # base64url of at most 1023 bytes
    public_key = TextField()
    sign_count = BigIntegerField(default=0)  # an unsigned 32-bit counter
    transports = CharField(max_length=100, default="")
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("user", "created_at"), False),)

    @classmethod
    def of(cls, user):
        """The person's passkeys, oldest first."""
        return list(cls.select().where(cls.user == user).order_by(cls.created_at, cls.id))

    @classmethod
    def exists_for(cls, user):
        return cls.select().where(cls.user == user).exists()

    @classmethod
    def add(cls, user, name, credential_id, public_key, sign_count, transports):
        """Keep a passkey the ceremony verified; None when that credential is registered already
        (to this person or anyone: the unique column decides) or the person has the most allowed."""
        if cls.select().where(cls.user == user).count() >= R.PASSKEYS_MAX:
            return None
        try:
            with db.atomic():
                return cls.create(user=user, name=R.clean_name(name) or R.RP_NAME, credential_id=credential_id,
                                  public_key=public_key, sign_count=sign_count,
                                  transports=",".join(R.clean_transports(transports)))
        except IntegrityError:
            return None

    @classmethod
    def remove(cls, user, passkey_id):
        """Remove one of the person's passkeys; the row removed, or None (not theirs, or gone)."""
        found = cls.get_or_none(cls.id == passkey_id, cls.user == user)
        if found is not None and cls.delete().where(cls.id == found.id).execute():
            return found
        return None

    @classmethod
    def find(cls, user, credential_id):
        """The person's passkey with this credential id (base64url), or None. With ``user`` None,
        anyone's (a sign-in that named no account)."""
        query = cls.select().where(cls.credential_id == credential_id[:1400])
        if user is not None:
            query = query.where(cls.user == user)
        return query.first()

    @property
    def transport_list(self):
        return [t for t in self.transports.split(",") if t]

    def used(self, new_sign_count, now):
        """Record a verified use: the counter moves on, with one conditional UPDATE, so of two
        answers verified against the same stored counter only one passes (a clone's loses)."""
        if not R.sign_count_moves_on(self.sign_count, new_sign_count):
            return False
        return bool(Passkey.update(sign_count=new_sign_count, last_used_at=now).where(
            Passkey.id == self.id, Passkey.sign_count == self.sign_count).execute())


class PasskeyChallenge(BaseModel):
    """A challenge handed to a browser for one ceremony: its SHA-256 (the challenge is 32 random
    bytes: a plain hash is enough), what it is for, whose it is (None: a sign-in that named no
    one yet), and until when it may be answered."""

    challenge_hash = CharField(max_length=64, unique=True)
    purpose = CharField(max_length=16)  # rules.passkeys.PURPOSES
    user = ForeignKeyField(User, null=True, backref="+", on_delete="CASCADE")
    expires_at = DateTimeField(index=True)

    @classmethod
    def issue(cls, purpose, user, now):
        """A new challenge (bytes) for ``purpose``; expired ones of anyone are cleared away."""
        cls.delete().where(cls.expires_at <= now).execute()
        challenge = secrets.token_bytes(R.CHALLENGE_BYTES)
        cls.create(challenge_hash=_hash(challenge), purpose=purpose, user=user,
                   expires_at=now + R.CHALLENGE_LIFETIME)
        return challenge

    @classmethod
    def take(cls, challenge, purpose, user, now):
        """True once for a challenge issued for this purpose and person that has not expired:
        one conditional DELETE, so of two answers with the same challenge only one passes."""
        if not challenge:
            return False
        owner = cls.user.is_null() if user is None else cls.user == user
        return bool(cls.delete().where(cls.challenge_hash == _hash(challenge), cls.purpose == purpose, owner,
                                       cls.expires_at > now).execute())


def passkey_user_handle(user):
    """The user handle a passkey keeps (WebAuthn's ``user.id``): 16 bytes derived from the
    account's id under the deployment's key, so no personal data sits on the authenticator."""
    return bytes.fromhex(runtime.keys.mac("passkey-user-handle", str(user.id))[:32])


def _hash(challenge):
    return hashlib.sha256(challenge).hexdigest()


PASSKEY_MODELS = [Passkey, PasskeyChallenge]
