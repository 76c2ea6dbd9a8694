"""Issue 14: indexes for the admin's search by tax id and the scorecard's issuing times."""

from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    dependencies = [("invoices", "0091_perf_ticket_opened_marker")]

    operations = [
        migrations.AddIndex(
            model_name="invoicerequest",
            index=models.Index(
                fields=["tax_id"], name="ir_perf_tax_id_idx", condition=~Q(tax_id="")
            ),
        ),
        migrations.AddIndex(
            model_name="invoicerequest",
            index=models.Index(
                fields=["shop", "issued_at"],
                include=["requested_at"],
                name="ir_perf_issued_idx",
                condition=Q(state="issued"),
            ),
        ),
    ]
