"""Passkeys (issue 12): a person's WebAuthn credentials (id, public key, signature counter,
transports, when added and last used), and the challenges of the ceremonies, kept server-side as
hashes until answered once or expired."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class Passkey(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["user"],
                                  on_delete="CASCADE")
        name = pw.CharField(max_length=60)
        credential_id = pw.CharField(max_length=1400, unique=True)
        public_key = pw.TextField()
        sign_count = pw.BigIntegerField(default=0)
        transports = pw.CharField(max_length=100, default="")
        created_at = pw.DateTimeField()
        last_used_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "passkey"
            indexes = [(("user", "created_at"), False)]

    @migrator.create_model
    class PasskeyChallenge(pw.Model):
        id = pw.AutoField()
        challenge_hash = pw.CharField(max_length=64, unique=True)
        purpose = pw.CharField(max_length=16)
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["user"],
                                  null=True, on_delete="CASCADE")
        expires_at = pw.DateTimeField(index=True)

        class Meta:
            table_name = "passkey_challenge"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("passkey_challenge")
    migrator.remove_model("passkey")
