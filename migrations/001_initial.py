"""Initial schema: users, clients, memberships, registration and reset state,
one-time codes, the notification outbox, the development outbox, the audit log."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class User(pw.Model):
        id = pw.AutoField()
        email = pw.CharField(max_length=255, unique=True)
        phone = pw.CharField(max_length=255, unique=True)
        password_hash = pw.CharField(max_length=255)
        full_name = pw.CharField(default='', max_length=255)
        language = pw.CharField(default='lv', max_length=255)
        notify_email = pw.BooleanField(default=True)
        notify_sms = pw.BooleanField(default=True)
        staff_role = pw.CharField(max_length=255, null=True)
        must_change_password = pw.BooleanField(default=False)
        temporary_password_expires_at = pw.DateTimeField(null=True)
        session_version = pw.IntegerField(default=1)
        disabled_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()
        last_login_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "user"

    @migrator.create_model
    class AuditLog(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField(index=True)
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], null=True, on_delete='SET NULL')
        actor = pw.CharField(default='', max_length=255)
        action = pw.CharField(index=True, max_length=255)
        ip = pw.CharField(default='', max_length=255)
        user_agent = pw.CharField(default='', max_length=255)
        details = pw.TextField(default='')

        class Meta:
            table_name = "audit_log"

    @migrator.create_model
    class Client(pw.Model):
        id = pw.AutoField()
        kind = pw.CharField(max_length=255)
        name = pw.CharField(default='', max_length=255)
        country = pw.CharField(max_length=255, null=True)
        citizenship = pw.CharField(max_length=255, null=True)
        citizenship2 = pw.CharField(max_length=255, null=True)
        registration_number = pw.CharField(max_length=255, null=True)
        requires_trusted_eid = pw.BooleanField(default=False)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "client"

    @migrator.create_model
    class Consent(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE')
        document = pw.CharField(max_length=255)
        version = pw.CharField(max_length=255)
        accepted_at = pw.DateTimeField()

        class Meta:
            table_name = "consent"

    @migrator.create_model
    class DevOutbox(pw.Model):
        id = pw.AutoField()
        channel = pw.CharField(max_length=255)
        recipient = pw.CharField(index=True, max_length=255)
        subject = pw.CharField(default='', max_length=255)
        body = pw.TextField()
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "dev_outbox"

    @migrator.create_model
    class Membership(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE')
        client = pw.ForeignKeyField(column_name='client_id', field='id', model=migrator.orm['client'], on_delete='CASCADE')
        role = pw.CharField(max_length=255)
        can_documents = pw.BooleanField(default=False)
        can_submit = pw.BooleanField(default=False)
        can_messages = pw.BooleanField(default=False)
        can_finance = pw.BooleanField(default=False)
        can_services = pw.BooleanField(default=False)
        can_manage_users = pw.BooleanField(default=False)
        own_items_only = pw.BooleanField(default=False)
        created_at = pw.DateTimeField()
        revoked_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "membership"
            indexes = [(('user', 'client'), True)]

    @migrator.create_model
    class Notification(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], null=True, on_delete='SET NULL')
        channel = pw.CharField(max_length=255)
        recipient = pw.CharField(max_length=255)
        template = pw.CharField(max_length=255)
        language = pw.CharField(default='lv', max_length=255)
        params = pw.TextField(default='')
        status = pw.CharField(default='pending', index=True, max_length=255)
        attempts = pw.IntegerField(default=0)
        error = pw.TextField(default='')
        created_at = pw.DateTimeField()
        claimed_at = pw.DateTimeField(null=True)
        sent_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "notification"

    @migrator.create_model
    class PendingRegistration(pw.Model):
        id = pw.AutoField()
        token = pw.CharField(max_length=255, unique=True)
        client_type = pw.CharField(max_length=255, null=True)
        citizenship = pw.CharField(max_length=255, null=True)
        citizenship2 = pw.CharField(max_length=255, null=True)
        country = pw.CharField(max_length=255, null=True)
        privacy_version = pw.CharField(max_length=255, null=True)
        terms_version = pw.CharField(max_length=255, null=True)
        accepted_at = pw.DateTimeField(null=True)
        email = pw.CharField(max_length=255, null=True)
        phone = pw.CharField(max_length=255, null=True)
        password_hash = pw.CharField(max_length=255, null=True)
        language = pw.CharField(default='lv', max_length=255)
        created_at = pw.DateTimeField()
        completed_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "pending_registration"

    @migrator.create_model
    class PasswordReset(pw.Model):
        id = pw.AutoField()
        token = pw.CharField(max_length=255, unique=True)
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], null=True, on_delete='CASCADE')
        channel = pw.CharField(max_length=255)
        target = pw.CharField(max_length=255)
        created_at = pw.DateTimeField()
        completed_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "password_reset"

    @migrator.create_model
    class OneTimeCode(pw.Model):
        id = pw.AutoField()
        purpose = pw.CharField(max_length=255)
        registration = pw.ForeignKeyField(column_name='registration_id', field='id', model=migrator.orm['pending_registration'], null=True, on_delete='CASCADE')
        reset = pw.ForeignKeyField(column_name='reset_id', field='id', model=migrator.orm['password_reset'], null=True, on_delete='CASCADE')
        channel = pw.CharField(max_length=255)
        target = pw.CharField(max_length=255)
        code_hash = pw.CharField(max_length=255)
        created_at = pw.DateTimeField()
        expires_at = pw.DateTimeField()
        attempts = pw.IntegerField(default=0)
        used_at = pw.DateTimeField(null=True)
        superseded_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "one_time_code"

    @migrator.create_model
    class PasswordHistory(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['user'], on_delete='CASCADE')
        password_hash = pw.CharField(max_length=255)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "password_history"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model('password_history')

    migrator.remove_model('one_time_code')

    migrator.remove_model('password_reset')

    migrator.remove_model('pending_registration')

    migrator.remove_model('notification')

    migrator.remove_model('membership')

    migrator.remove_model('dev_outbox')

    migrator.remove_model('consent')

    migrator.remove_model('client')

    migrator.remove_model('audit_log')

    migrator.remove_model('user')
