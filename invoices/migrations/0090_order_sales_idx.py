# Written by hand (the category operations, issue 13): a covering index for the sales per shop
# and month over a range of completion times (categories.selectors.monthly_sales).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("invoices", "0005_order_feed_fields"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("completed_at__isnull", False)),
                fields=["completed_at"],
                include=("shop", "amount", "returned_amount"),
                name="order_sales_idx",
            ),
        ),
    ]
