"""Messages: threads, messages, attachments, read marks, ratings (issue 4).

A thread may be about an application or a document: ``about_kind`` + ``about_id``
without a foreign key, since those tables belong to other areas."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class Thread(pw.Model):
        id = pw.AutoField()
        client = pw.ForeignKeyField(column_name="client_id", field="id", model=migrator.orm["client"],
                                    on_delete="CASCADE")
        created_by = pw.ForeignKeyField(column_name="created_by_id", field="id", model=migrator.orm["user"],
                                        null=True, on_delete="SET NULL")
        subject = pw.CharField(max_length=200, default="")
        about_kind = pw.CharField(max_length=20, null=True)
        about_id = pw.IntegerField(null=True)
        created_at = pw.DateTimeField()
        last_message_at = pw.DateTimeField(index=True)
        waiting_since = pw.DateTimeField(null=True, index=True)
        due_at = pw.DateTimeField(null=True)
        ack_due_at = pw.DateTimeField(null=True)
        acknowledged_at = pw.DateTimeField(null=True)
        delay_explained_at = pw.DateTimeField(null=True)
        answered_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "thread"

    @migrator.create_model
    class Message(pw.Model):
        id = pw.AutoField()
        thread = pw.ForeignKeyField(column_name="thread_id", field="id", model=migrator.orm["thread"],
                                    on_delete="CASCADE")
        kind = pw.CharField(max_length=10)
        author = pw.ForeignKeyField(column_name="author_id", field="id", model=migrator.orm["user"],
                                    null=True, on_delete="SET NULL")
        body = pw.TextField(default="")
        is_delay_notice = pw.BooleanField(default=False)
        system_code = pw.CharField(max_length=30, null=True)
        system_due_at = pw.DateTimeField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "message"

    @migrator.create_model
    class MessageAttachment(pw.Model):
        id = pw.AutoField()
        message = pw.ForeignKeyField(column_name="message_id", field="id", model=migrator.orm["message"],
                                     on_delete="CASCADE")
        file = pw.ForeignKeyField(column_name="file_id", field="id", model=migrator.orm["stored_file"],
                                  on_delete="CASCADE")

        class Meta:
            table_name = "message_attachment"

    @migrator.create_model
    class ThreadRead(pw.Model):
        id = pw.AutoField()
        thread = pw.ForeignKeyField(column_name="thread_id", field="id", model=migrator.orm["thread"],
                                    on_delete="CASCADE")
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["user"],
                                  on_delete="CASCADE")
        last_read_id = pw.IntegerField(default=0)

        class Meta:
            table_name = "thread_read"
            indexes = [(("thread", "user"), True)]

    @migrator.create_model
    class ThreadRating(pw.Model):
        id = pw.AutoField()
        thread = pw.ForeignKeyField(column_name="thread_id", field="id", model=migrator.orm["thread"],
                                    unique=True, on_delete="CASCADE")
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["user"],
                                  null=True, on_delete="SET NULL")
        score = pw.SmallIntegerField()
        comment = pw.TextField(default="")
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "thread_rating"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("thread_rating")
    migrator.remove_model("thread_read")
    migrator.remove_model("message_attachment")
    migrator.remove_model("message")
    migrator.remove_model("thread")
