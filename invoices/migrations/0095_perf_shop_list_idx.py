"""Issue 14: a merchant's request list, newest first, by index (the page's keys index-only)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("invoices", "0094_perf_request_autovacuum")]

    operations = [
        migrations.AddIndex(
            model_name="invoicerequest",
            index=models.Index(
                fields=["shop", "-requested_at", "-id"], name="ir_perf_shop_list_idx"
            ),
        ),
    ]
