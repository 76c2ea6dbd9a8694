"""History is append-only in the database too (PostgreSQL trigger); the arbitrator group."""

from django.db import migrations

TRIGGER = """
CREATE OR REPLACE FUNCTION invoices_history_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'invoices_historyentry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER invoices_history_append_only
    BEFORE UPDATE OR DELETE ON invoices_historyentry
    FOR EACH ROW EXECUTE FUNCTION invoices_history_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS invoices_history_append_only ON invoices_historyentry;
DROP FUNCTION IF EXISTS invoices_history_append_only();
"""


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)  # no params: the % in RAISE is literal

    return run


def create_arbitrator_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.get_or_create(name="arbitrators")


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(_on_postgres(TRIGGER), _on_postgres(DROP)),
        migrations.RunPython(create_arbitrator_group, migrations.RunPython.noop),
    ]
