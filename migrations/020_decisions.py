"""The later stages of onboarding applications (issues 14 and 15): staff decisions per service
(stage 6), the commission-fee invoice linked to its application (stage 4), a service added
later from an earlier application (seed 004 §12), the current stage kept for the staff list's
filter, and when a draft was last reminded (save and return)."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class ApplicationDecision(pw.Model):
        id = pw.AutoField()
        application = pw.ForeignKeyField(column_name="application_id", field="id",
                                         model=migrator.orm["application"], on_delete="CASCADE")
        service = pw.CharField(max_length=20)
        question = pw.CharField(max_length=20)
        code = pw.CharField(max_length=30)
        positive = pw.BooleanField()
        reason = pw.TextField(default="")
        decided_by = pw.ForeignKeyField(column_name="decided_by_id", field="id", model=migrator.orm["user"],
                                        null=True, on_delete="SET NULL")
        decided_at = pw.DateTimeField()

        class Meta:
            table_name = "application_decision"
            indexes = [(("application", "service", "question"), True)]

    migrator.add_fields(
        "application",
        parent=pw.ForeignKeyField(column_name="parent_id", field="id", model=migrator.orm["application"],
                                  null=True, on_delete="SET NULL"),
        stage=pw.CharField(max_length=20, default="initial", index=True),
        reminded_at=pw.DateTimeField(null=True))
    migrator.add_fields(
        "invoice",
        application=pw.ForeignKeyField(column_name="application_id", field="id", model=migrator.orm["application"],
                                       null=True, on_delete="SET NULL"))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("invoice", "application")
    migrator.remove_fields("application", "parent", "stage", "reminded_at")
    migrator.remove_model("application_decision")
