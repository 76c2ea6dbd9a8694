# Written by hand (issue 14, item 4): the opening job's queue. A request whose urge ticket has
# opened is marked (ticket_opened_at), and the job reads a partial index that leaves marked
# requests out, so its idle run costs nothing however many tickets are open. The tickets app
# fills the mark in for tickets opened before this (tickets 0003_perf_ticket_opened_backfill).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0090_order_sales_idx"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoicerequest",
            name="ticket_opened_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="ticket opened at"),
        ),
        migrations.AddIndex(
            model_name="invoicerequest",
            index=models.Index(
                condition=models.Q(
                    ("overdue_at__isnull", False),
                    ("state", "pending"),
                    ("ticket_opened_at", None),
                ),
                fields=["overdue_at", "id"],
                name="ir_ticket_due_idx",
            ),
        ),
    ]
