"""The second factor of a password sign-in (issue 12): a TOTP secret, sealed at rest, and the
single-use recovery codes, stored as keyed hashes."""
import hmac

import pyotp
from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from models.accounts import User
from models.base import BaseModel, utcnow
from models.runtime import runtime
from rules import second_factor as R

SEAL_PURPOSE = "totp-secret"
RECOVERY_PURPOSE = "totp-recovery-code"


class SecondFactor(BaseModel):
    """A user's authenticator app: ``enabled_at`` is None until a first code confirmed it.
    ``last_step`` is the newest time step whose code was taken: none at or before it is
    taken again."""

    user = ForeignKeyField(User, backref="second_factors", on_delete="CASCADE", unique=True)
    secret = TextField()  # sealed (runtime.keys)
    enabled_at = DateTimeField(null=True)
    last_step = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)

    @classmethod
    def of(cls, user):
        return cls.get_or_none(cls.user == user)

    @classmethod
    def enabled_for(cls, user):
        return cls.select().where(cls.user == user, cls.enabled_at.is_null(False)).exists()

    @classmethod
    def start(cls, user):
        """A new secret waiting for its first code (one an earlier, unconfirmed start had is
        replaced). Refused (None) while one is on: turn it off first."""
        found = cls.of(user)
        if found is not None and found.enabled_at is not None:
            return None
        sealed = runtime.keys.seal(SEAL_PURPOSE, pyotp.random_base32())
        if found is None:
            return cls.create(user=user, secret=sealed)
        found.secret, found.last_step, found.created_at = sealed, 0, utcnow()
        found.save()
        return found

    def opened_secret(self):
        return runtime.keys.unseal(SEAL_PURPOSE, self.secret)

    def provisioning_uri(self, account_name):
        """The otpauth:// address an authenticator app reads from the QR code."""
        return pyotp.TOTP(self.opened_secret()).provisioning_uri(name=account_name, issuer_name=R.ISSUER)

    def take(self, code, now):
        """True when ``code`` (6 digits) is the app's code of now, or of the step just before or
        after, and no code of that step or a later one was taken before: one conditional
        UPDATE, so two requests with the same code cannot both pass."""
        totp = pyotp.TOTP(self.opened_secret())
        current = R.step_of(now)
        for step in range(current - R.STEPS_AROUND, current + R.STEPS_AROUND + 1):
            if hmac.compare_digest(totp.at(step * R.STEP_SECONDS), code):
                return bool(SecondFactor.update(last_step=step).where(
                    SecondFactor.id == self.id, SecondFactor.last_step < step).execute())
        return False

    def confirm(self, code, now):
        """Turn it on with its first code; the new recovery codes (shown once), or None."""
        if self.enabled_at is not None or not self.take(code, now):
            return None
        SecondFactor.update(enabled_at=utcnow()).where(SecondFactor.id == self.id).execute()
        self.enabled_at = utcnow()
        return RecoveryCode.replace_for(self.user_id)

    @classmethod
    def turn_off(cls, user):
        """No second factor any more (and no recovery codes). True when one was on."""
        RecoveryCode.delete().where(RecoveryCode.user == user).execute()
        return bool(cls.delete().where(cls.user == user).execute())


class RecoveryCode(BaseModel):
    """One single-use recovery code, as its keyed hash (``runtime.keys.mac``)."""

    user = ForeignKeyField(User, backref="recovery_codes", on_delete="CASCADE")
    code_hash = CharField(max_length=64)
    used_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("user", "code_hash"), True),)

    @classmethod
    def replace_for(cls, user):
        """Ten new codes in place of any before; the codes themselves, shown once."""
        cls.delete().where(cls.user == user).execute()
        codes = [R.new_recovery_code() for _ in range(R.RECOVERY_CODES)]
        cls.insert_many([{"user": user, "code_hash": _hash(code)} for code in codes]).execute()
        return codes

    @classmethod
    def use(cls, user, cleaned):
        """Spend a recovery code (``rules.second_factor.read_code``'s form): True once per code."""
        hashes = runtime.keys.macs(RECOVERY_PURPOSE, cleaned)  # found after a key rotation too
        return bool(cls.update(used_at=utcnow()).where(
            cls.user == user, cls.code_hash.in_(hashes), cls.used_at.is_null()).execute())

    @classmethod
    def left(cls, user):
        return cls.select().where(cls.user == user, cls.used_at.is_null()).count()


def _hash(code):
    cleaned = R.read_code(code)[1]
    return runtime.keys.mac(RECOVERY_PURPOSE, cleaned)


SECOND_FACTOR_MODELS = [SecondFactor, RecoveryCode]
