"""Issue 14: fewer request indexes for the opening job's mark, a trigram index for the title.

- `shop_id` and `consumer_id` lose their single-column indexes: ir_shop_state_idx /
  ir_perf_shop_list_idx and ir_consumer_idx lead with them (scoping, the FK checks on delete).
- `reissue_of_id` is indexed only where set (null on almost every row).
- The merchant list's title search (`UPPER(title) LIKE '%…%'`, Django's `icontains`) reads a
  pg_trgm GIN index on PostgreSQL; SQLite has no such index and skips it. Outside the model
  state (an expression with an operator class that only PostgreSQL knows), so makemigrations
  stays clean.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TRGM_INDEX = "ir_perf_title_trgm_idx"


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON invoices_invoicerequest "
        "USING gin (UPPER(title::text) gin_trgm_ops)"
    )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0091_perf_prune_indexes"),
        ("invoices", "0095_perf_shop_list_idx"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="invoicerequest",
            name="consumer",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="invoice_requests",
                to=settings.AUTH_USER_MODEL,
                verbose_name="consumer",
            ),
        ),
        migrations.AlterField(
            model_name="invoicerequest",
            name="reissue_of",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reissues",
                to="invoices.invoicerequest",
                verbose_name="follows the request",
            ),
        ),
        migrations.AlterField(
            model_name="invoicerequest",
            name="shop",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="invoice_requests",
                to="core.shop",
                verbose_name="shop",
            ),
        ),
        migrations.AddIndex(
            model_name="invoicerequest",
            index=models.Index(
                condition=models.Q(("reissue_of__isnull", False)),
                fields=["reissue_of"],
                name="ir_reissue_of_idx",
            ),
        ),
        migrations.RunPython(create_trigram_index, drop_trigram_index, elidable=False),
    ]
