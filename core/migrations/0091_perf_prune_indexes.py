# Written by hand (issue 14, item 5): indexes the ticket-opening batch wrote and nothing reads.
# - historyentry.actor_id: the jobs write no actor, so the index is partial (actor not null);
#   a user's deletion (PROTECT) still finds that user's rows through it.
# - the `varchar_pattern_ops` twin Django adds to the outbox's unique key: only a LIKE 'x%'
#   would read it, and nothing searches keys (the unique index serves `=` and ON CONFLICT).
#   IF EXISTS: SQLite never had it.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0090_history_category_subject"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="historyentry",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="empty when the system did it",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="by",
            ),
        ),
        migrations.AddIndex(
            model_name="historyentry",
            index=models.Index(
                condition=models.Q(("actor__isnull", False)),
                fields=["actor"],
                name="history_actor_idx",
            ),
        ),
        migrations.RunSQL(
            "DROP INDEX IF EXISTS core_outboxmessage_key_4285511e_like",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
