# Written by hand (issue 14, item 5): the opening queue (invoices 0097_perf_due_queue) starts
# with every pending overdue request not marked as having a ticket; take off it those that
# have one all the same (opened before the mark existed, or written some other way), so the
# job's first run does not meet them. Safe to run again; the job would also take them off,
# opening nothing twice.

from django.db import migrations

FORWARD = """
DELETE FROM invoices_duerequest
WHERE request_id IN (SELECT request_id FROM tickets_urgeticket)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0097_perf_due_queue"),
        ("tickets", "0007_perf_shop_opened_sla_idx"),
    ]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=migrations.RunSQL.noop)]
