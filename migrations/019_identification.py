"""Identification of an application's people (issue 14, seed 004 §5, §8): one row per person and
kind (photo, video) with its state, the provider's session, the invitation's hashed token, the
agreed video time; and the provider's webhook events, each applied once."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class Identification(pw.Model):
        id = pw.AutoField()
        application = pw.ForeignKeyField(column_name="application_id", field="id", model=migrator.orm["application"],
                                         on_delete="CASCADE")
        client = pw.ForeignKeyField(column_name="client_id", field="id", model=migrator.orm["client"],
                                    on_delete="CASCADE")
        kind = pw.CharField(max_length=255, default="photo")
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["user"], null=True,
                                  on_delete="SET NULL")
        full_name = pw.CharField(max_length=255, default="")
        email = pw.CharField(max_length=255, default="")
        language = pw.CharField(max_length=255, default="lv")
        status = pw.CharField(max_length=255, default="waiting")
        provider = pw.CharField(max_length=255, default="")
        session_ref = pw.CharField(max_length=255, null=True, unique=True)
        token_hash = pw.CharField(max_length=64, null=True, unique=True)
        token_expires_at = pw.DateTimeField(null=True)
        scheduled_at = pw.DateTimeField(null=True)
        reason = pw.TextField(default="")
        decided_by = pw.ForeignKeyField(column_name="decided_by_id", field="id", model=migrator.orm["user"],
                                        null=True, on_delete="SET NULL")
        document_photo = pw.ForeignKeyField(column_name="document_photo_id", field="id",
                                            model=migrator.orm["stored_file"], null=True, on_delete="SET NULL")
        selfie = pw.ForeignKeyField(column_name="selfie_id", field="id", model=migrator.orm["stored_file"],
                                    null=True, on_delete="SET NULL")
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        started_at = pw.DateTimeField(null=True)
        result_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "identification"
            indexes = [(("status", "updated_at"), False), (("application", "kind"), False)]

    @migrator.create_model
    class IdentificationEvent(pw.Model):
        id = pw.AutoField()
        event_id = pw.CharField(max_length=255, unique=True)
        identification = pw.ForeignKeyField(column_name="identification_id", field="id",
                                            model=migrator.orm["identification"], null=True, on_delete="SET NULL")
        result = pw.CharField(max_length=255, default="")
        received_at = pw.DateTimeField()

        class Meta:
            table_name = "identification_event"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("identification_event")
    migrator.remove_model("identification")
