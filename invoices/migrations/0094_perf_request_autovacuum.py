# Written by hand (issue 14, item 4): the opening job's partial index (ir_ticket_due_idx) keeps
# an entry for every request the job just marked until VACUUM removes it, and an idle run steps
# over those entries (about 90 ms after opening 100,000 tickets at once, 1 ms after VACUUM).
# Vacuum the requests table after 2 % of its rows changed instead of PostgreSQL's 20 %, so that
# autovacuum clears them within a minute or two of a big opening. PostgreSQL only.

from django.db import migrations

TABLE = "invoices_invoicerequest"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE {TABLE} SET (autovacuum_vacuum_scale_factor = 0.02, "
            "autovacuum_vacuum_insert_scale_factor = 0.02)"
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE {TABLE} RESET (autovacuum_vacuum_scale_factor, "
            "autovacuum_vacuum_insert_scale_factor)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0093_order_feed_indexes"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
