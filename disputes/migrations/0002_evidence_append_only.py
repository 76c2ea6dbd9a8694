"""Submitted evidence is never edited or deleted, in PostgreSQL too. A draft may be removed,
and submitted once (its `submitted_at` set); nothing else of it changes."""

from django.db import migrations

from core.appendonly import AppendOnly, append_only_operation

EVIDENCE = AppendOnly(
    "disputes_evidence",
    update_refused_when=(
        "OLD.submitted_at IS NOT NULL OR "
        "(NEW.dispute_id, NEW.party, NEW.author_id, NEW.text, NEW.file, NEW.file_name, "
        "NEW.content_type, NEW.created_at) IS DISTINCT FROM "
        "(OLD.dispute_id, OLD.party, OLD.author_id, OLD.text, OLD.file, OLD.file_name, "
        "OLD.content_type, OLD.created_at)"
    ),
    delete_refused_when="OLD.submitted_at IS NOT NULL",
)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_history_append_only_and_arbitrators"),
        ("disputes", "0001_initial"),
    ]

    operations = [append_only_operation(EVIDENCE)]
