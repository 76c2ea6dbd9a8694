"""Issue 14: a shop's tickets by opening, with the SLA, so that the merchant dashboard's
monthly figures (tickets opened / decided / on time per month) read the index only."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0091_perf_prune_indexes"),
        ("invoices", "0096_perf_request_indexes"),
        ("tickets", "0006_perf_ticket_shop_list_idx"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="urgeticket", name="ticket_shop_opened_idx"),
        migrations.AddIndex(
            model_name="urgeticket",
            index=models.Index(
                fields=["shop", "-opened_at"], include=("sla",), name="ticket_perf_shop_opened_idx"
            ),
        ),
    ]
