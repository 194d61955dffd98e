"""Account security (issue 12). Signed-in sessions as "Your sessions" lists them: one row per
session id, with the device's User-Agent, the address's network, how it signed in, when, and when
last seen. The second factor of a password sign-in: a sealed TOTP secret per user, and the
single-use recovery codes as keyed hashes; a company's requirement of a strong sign-in."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class UserSession(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["user"],
                                  on_delete="CASCADE")
        session_id = pw.CharField(max_length=64, unique=True)
        session_version = pw.IntegerField()
        method = pw.CharField(max_length=16)
        user_agent = pw.CharField(max_length=300, default="")
        address_range = pw.CharField(max_length=64, default="")
        created_at = pw.DateTimeField()
        last_seen_at = pw.DateTimeField()

        class Meta:
            table_name = "user_session"
            indexes = [(("user", "last_seen_at"), False)]

    @migrator.create_model
    class SecondFactor(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["user"],
                                  on_delete="CASCADE", unique=True)
        secret = pw.TextField()
        enabled_at = pw.DateTimeField(null=True)
        last_step = pw.IntegerField(default=0)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "second_factor"

    @migrator.create_model
    class RecoveryCode(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["user"],
                                  on_delete="CASCADE")
        code_hash = pw.CharField(max_length=64)
        used_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "recovery_code"
            indexes = [(("user", "code_hash"), True)]

    migrator.add_fields("client", requires_second_factor=pw.BooleanField(default=False))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("client", "requires_second_factor")
    migrator.remove_model("recovery_code")
    migrator.remove_model("second_factor")
    migrator.remove_model("user_session")
