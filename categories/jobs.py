"""The category operations' job: roll up the closed months' sales (spec 13).

`roll_up_category_sales` recomputes, from the orders, every shop's sales in each of the last
`ROLLED_MONTHS` closed China months and upserts them (`ShopMonthSales`, ON CONFLICT DO
UPDATE), then marks the months rolled. Recomputing (rather than adding) makes it safe to run
twice or at once, and picks up returns recorded after a month closed; a month it has not rolled
yet is read from the orders by the pages, so a missed run costs time, never a wrong figure.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from .models import RolledMonth, ShopMonthSales
from .selectors import MONTHS, live_sales, plan_month, shift

ROLLED_MONTHS = MONTHS + 1  # the chart's closed months and the month before them


def roll_up_category_sales(*, now: datetime) -> dict[str, int]:
    """Upsert the closed months' sales per shop; one GROUP BY over the orders."""
    current = plan_month(now)
    first, last = shift(current, -ROLLED_MONTHS), shift(current, -1)
    sales = live_sales(None, first, last)
    months = [shift(first, i) for i in range(ROLLED_MONTHS)]
    with transaction.atomic():
        ShopMonthSales.objects.bulk_create(
            [ShopMonthSales(shop_id=s, month=m, sales=v) for (s, m), v in sales.items()],
            batch_size=5000,
            update_conflicts=True,
            unique_fields=["month", "shop"],
            update_fields=["sales"],
        )
        RolledMonth.objects.bulk_create(
            [RolledMonth(month=m, rolled_at=now) for m in months],
            update_conflicts=True,
            unique_fields=["month"],
            update_fields=["rolled_at"],
        )
    return {"months": len(months), "shop_months": len(sales)}
