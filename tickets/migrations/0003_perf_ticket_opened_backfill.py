# Written by hand (issue 14, item 4): mark the requests whose ticket opened before the mark
# existed (invoices 0091_perf_ticket_opened_marker), so the opening job's queue starts empty
# of them. Safe to run again; the job would also mark any it met, opening nothing twice.

from django.db import migrations

FORWARD = """
UPDATE invoices_invoicerequest SET ticket_opened_at = (
    SELECT t.opened_at FROM tickets_urgeticket t WHERE t.request_id = invoices_invoicerequest.id
)
WHERE ticket_opened_at IS NULL
  AND EXISTS (SELECT 1 FROM tickets_urgeticket t WHERE t.request_id = invoices_invoicerequest.id)
"""


def forward(apps, schema_editor):
    # The mark was replaced by the opening queue (invoices 0097_perf_due_queue), which drops
    # the column: on a database migrated from scratch that may run first, and there is nothing
    # to mark.
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        table = connection.introspection.get_table_description(cursor, "invoices_invoicerequest")
    if "ticket_opened_at" in {column.name for column in table}:
        schema_editor.execute(FORWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0091_perf_ticket_opened_marker"),
        ("tickets", "0002_replies_append_only"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop, elidable=False)]
