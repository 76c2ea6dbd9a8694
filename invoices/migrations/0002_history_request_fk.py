"""The history's foreign key to the requests it is about, in PostgreSQL: the history table
lives on the floor below (core), which knows nothing of invoice requests, so this app adds the
constraint to it (shop-level entries have no request: NULL passes)."""

from django.db import migrations

ADD = """
ALTER TABLE core_historyentry ADD CONSTRAINT core_historyentry_request_fk
    FOREIGN KEY (request_id) REFERENCES invoices_invoicerequest (id)
    DEFERRABLE INITIALLY DEFERRED;
"""
DROP = "ALTER TABLE core_historyentry DROP CONSTRAINT IF EXISTS core_historyentry_request_fk;"


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_history_append_only_and_arbitrators"),
        ("invoices", "0001_initial"),
    ]

    operations = [migrations.RunPython(_on_postgres(ADD), _on_postgres(DROP))]
