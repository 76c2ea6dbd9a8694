"""Issue 14: the workbench's page keys, index-only (the pages' deferred join)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tickets", "0005_perf_ticket_state_idx")]

    operations = [
        migrations.AddIndex(
            model_name="urgeticket",
            index=models.Index(
                fields=["shop", "state", "reply_due_at", "id"], name="ticket_perf_shop_list_idx"
            ),
        ),
    ]
