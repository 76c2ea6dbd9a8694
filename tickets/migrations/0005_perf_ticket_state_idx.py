"""Issue 14: the admin's ticket list filtered by state, newest first, by index."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tickets", "0004_ticket_closed_with_order")]

    operations = [
        migrations.AddIndex(
            model_name="urgeticket",
            index=models.Index(fields=["state", "-id"], name="ticket_perf_state_idx"),
        ),
    ]
