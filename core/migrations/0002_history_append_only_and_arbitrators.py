"""History is append-only in PostgreSQL too (UPDATE, DELETE and TRUNCATE refused); the
arbitrator group exists from the start."""

from django.db import migrations

from core.appendonly import AppendOnly, append_only_operation, function_operation


def create_arbitrator_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.get_or_create(name="arbitrators")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        function_operation(),
        append_only_operation(AppendOnly("core_historyentry")),
        migrations.RunPython(create_arbitrator_group, migrations.RunPython.noop),
    ]
