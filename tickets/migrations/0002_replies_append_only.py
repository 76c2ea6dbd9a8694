"""A merchant's reply is evidence: never edited or deleted, in PostgreSQL too."""

from django.db import migrations

from core.appendonly import AppendOnly, append_only_operation


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_history_append_only_and_arbitrators"),
        ("tickets", "0001_initial"),
    ]

    operations = [append_only_operation(AppendOnly("tickets_ticketreply"))]
