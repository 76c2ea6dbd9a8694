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


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0091_perf_ticket_opened_marker"),
        ("tickets", "0002_replies_append_only"),
    ]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=migrations.RunSQL.noop)]
