"""Documents: the document, its working files, versions and their files, the history,
staff comments on fields, and signing-service invitations (issue 3)."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class Document(pw.Model):
        id = pw.AutoField()
        client = pw.ForeignKeyField(column_name="client_id", field="id", model=migrator.orm["client"],
                                    on_delete="CASCADE")
        created_by = pw.ForeignKeyField(column_name="created_by_id", field="id", model=migrator.orm["user"],
                                        null=True, on_delete="SET NULL")
        doc_type = pw.CharField(max_length=255)
        status = pw.CharField(default="new", index=True, max_length=255)
        waiting = pw.BooleanField(default=False, index=True)
        data = pw.TextField(default="{}")
        revision = pw.IntegerField(default=0)
        accepted_at = pw.DateTimeField(null=True)
        accepted_by = pw.ForeignKeyField(column_name="accepted_by_id", field="id", model=migrator.orm["user"],
                                         null=True, on_delete="SET NULL", backref="+")
        question_open = pw.BooleanField(default=False)
        submitted_at = pw.DateTimeField(null=True, index=True)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField(index=True)

        class Meta:
            table_name = "document"

    @migrator.create_model
    class DocumentFile(pw.Model):
        id = pw.AutoField()
        document = pw.ForeignKeyField(column_name="document_id", field="id", model=migrator.orm["document"],
                                      on_delete="CASCADE")
        stored_file = pw.ForeignKeyField(column_name="stored_file_id", field="id",
                                         model=migrator.orm["stored_file"], on_delete="CASCADE", backref="+")
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "document_file"
            indexes = [(("document", "stored_file"), True)]

    @migrator.create_model
    class DocumentVersion(pw.Model):
        id = pw.AutoField()
        document = pw.ForeignKeyField(column_name="document_id", field="id", model=migrator.orm["document"],
                                      on_delete="CASCADE")
        number = pw.IntegerField()
        kind = pw.CharField(max_length=255)
        data = pw.TextField(default="")
        note = pw.TextField(default="")
        signers = pw.TextField(default="[]")
        nonce = pw.CharField(max_length=255, null=True, unique=True)
        created_by = pw.ForeignKeyField(column_name="created_by_id", field="id", model=migrator.orm["user"],
                                        null=True, on_delete="SET NULL", backref="+")
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "document_version"
            indexes = [(("document", "number"), True)]

    @migrator.create_model
    class VersionFile(pw.Model):
        id = pw.AutoField()
        version = pw.ForeignKeyField(column_name="version_id", field="id",
                                     model=migrator.orm["document_version"], on_delete="CASCADE")
        stored_file = pw.ForeignKeyField(column_name="stored_file_id", field="id",
                                         model=migrator.orm["stored_file"], on_delete="CASCADE", backref="+")

        class Meta:
            table_name = "version_file"

    @migrator.create_model
    class DocumentEvent(pw.Model):
        id = pw.AutoField()
        document = pw.ForeignKeyField(column_name="document_id", field="id", model=migrator.orm["document"],
                                      on_delete="CASCADE")
        action = pw.CharField(max_length=255)
        actor = pw.CharField(max_length=255)
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["user"],
                                  null=True, on_delete="SET NULL", backref="+")
        from_status = pw.CharField(max_length=255, null=True)
        to_status = pw.CharField(max_length=255, null=True)
        note = pw.TextField(default="")
        version = pw.ForeignKeyField(column_name="version_id", field="id",
                                     model=migrator.orm["document_version"], null=True,
                                     on_delete="SET NULL", backref="+")
        created_at = pw.DateTimeField(index=True)

        class Meta:
            table_name = "document_event"

    @migrator.create_model
    class DocumentComment(pw.Model):
        id = pw.AutoField()
        event = pw.ForeignKeyField(column_name="event_id", field="id", model=migrator.orm["document_event"],
                                   on_delete="CASCADE")
        field = pw.CharField(max_length=255)
        text = pw.TextField()

        class Meta:
            table_name = "document_comment"

    @migrator.create_model
    class SigningInvitation(pw.Model):
        id = pw.AutoField()
        document = pw.ForeignKeyField(column_name="document_id", field="id", model=migrator.orm["document"],
                                      on_delete="CASCADE")
        version = pw.ForeignKeyField(column_name="version_id", field="id",
                                     model=migrator.orm["document_version"], null=True,
                                     on_delete="SET NULL", backref="+")
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["user"],
                                  null=True, on_delete="SET NULL", backref="+")
        token = pw.CharField(max_length=255, unique=True)
        backend = pw.CharField(default="dev", max_length=255)
        status = pw.CharField(default="pending", max_length=255)
        created_at = pw.DateTimeField()
        completed_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "signing_invitation"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    for table in ("signing_invitation", "document_comment", "document_event", "version_file",
                  "document_version", "document_file", "document"):
        migrator.remove_model(table)
