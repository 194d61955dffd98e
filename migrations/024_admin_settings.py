"""The administrator's switches (issue 15): an onboarding service offered to new applications,
a document type clients may start. No row means on."""
import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class AdminSetting(pw.Model):
        id = pw.AutoField()
        area = pw.CharField(max_length=30)
        key = pw.CharField(max_length=60)
        enabled = pw.BooleanField(default=True)
        updated_at = pw.DateTimeField()
        updated_by = pw.ForeignKeyField(column_name="updated_by_id", field="id", model=migrator.orm["user"],
                                        null=True, on_delete="SET NULL")

        class Meta:
            table_name = "admin_setting"
            indexes = [(("area", "key"), True)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("admin_setting")
