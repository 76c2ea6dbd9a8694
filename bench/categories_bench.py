"""Benchmark of the category operator's page (issue 13, item 4): a category of 1,000 shops
whose 1,000,000 orders spread over the last 13 months answers in under 300 ms on PostgreSQL.

    createdb -h 127.0.0.1 -U postgres jdpop_catbench   # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jdpop_catbench \\
        .venv/bin/python bench/categories_bench.py

The database is the benchmark's own (migrated, emptied and refilled: never point it at real
data). It loads, with set-based SQL (generate_series), `--shops` shops in one category and
`--orders` orders completed over the last 13 China months (sales skewed so that a few shops
sell most: the tiers have something to sort), 5 % partly and 3 % wholly returned, 2 %
still shipped, and `--penalties` penalties this month (every kind, 1 in 10 waived: the
scorecard's penalties by kind beside the tiers); VACUUM ANALYZE; runs the job
`roll_up_category_sales` once (timed: the closed months' sales per shop, what a page reads
instead of the closed months' orders); then GETs the category page (the operator logged in,
the whole Django stack: middleware, the six queries, the template) `--runs` times after one warm-up,
and prints one JSON line: the median, p95 and max in ms, the queries per page, and the
selector alone (`categories.selectors.overview`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jdpop.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from categories import selectors  # noqa: E402
from categories.models import Category, CategoryOperator  # noqa: E402
from core.jobs import run_job  # noqa: E402
from penalties.models import Penalty  # noqa: E402


def load(shops: int, orders: int, penalties: int) -> Category:
    call_command("migrate", verbosity=0)
    with connection.cursor() as c:
        tables = ("shopmonthsales", "rolledmonth", "shoptarget", "monthplan", "categoryoperator")
        for table in (*tables, "categoryshop", "category"):
            c.execute(f"DELETE FROM categories_{table}")
        c.execute("DELETE FROM invoices_order WHERE number LIKE 'BENCH%%'")
        c.execute(
            "DELETE FROM penalties_penalty WHERE shop_id IN"
            " (SELECT id FROM core_shop WHERE jd_shop_id LIKE 'B%%')"
        )
        c.execute("DELETE FROM core_shop WHERE jd_shop_id LIKE 'B%%'")
        c.execute("DELETE FROM auth_user WHERE username IN ('bench_consumer', 'bench_operator')")
        c.execute(
            "INSERT INTO core_shop (jd_shop_id, name, tax_id, new_flow_since, created_at)"
            " SELECT 'B' || lpad(i::text, 6, '0'), '店铺 ' || i, '', now(), now()"
            " FROM generate_series(1, %s) AS i",
            [shops],
        )
        consumer = get_user_model().objects.create_user("bench_consumer")
        # shop i sells in proportion to about 1 / i (a few shops make most of the sales);
        # completed at a random instant of the last 13 months
        c.execute(
            """
            INSERT INTO invoices_order (shop_id, consumer_id, number, amount, state, created_at,
                                        completed_at, returned_amount, platform_updated_at)
            SELECT shop_id, %(consumer)s, 'BENCH' || i, amount,
                   CASE WHEN r < 0.03 THEN 'returned' WHEN r < 0.05 THEN 'shipped'
                        ELSE 'completed' END,
                   at - interval '2 days',
                   CASE WHEN r >= 0.03 AND r < 0.05 THEN NULL ELSE at END,
                   CASE WHEN r < 0.03 THEN amount WHEN r < 0.08 THEN round(amount / 3, 2)
                        ELSE 0 END,
                   NULL
            FROM (
                SELECT i,
                       LEAST(%(shops)s, 1 + floor(exp(random() * ln(%(shops)s + 1)) - 1))::int
                           AS shop_id,
                       round((10 + random() * 990)::numeric, 2) AS amount,
                       now() - random() * interval '395 days' AS at,
                       random() AS r
                FROM generate_series(1, %(orders)s) AS i
            ) AS o
            """,
            {"consumer": consumer.pk, "shops": shops, "orders": orders},
        )
        # this month's penalties (the scorecard beside the tiers: penalties by kind), of every
        # kind, 1 in 10 waived, spread over the shops
        kinds = [kind.value for kind in Penalty.Kind]
        c.execute(
            """
            INSERT INTO penalties_penalty (shop_id, kind, state, at, evidence, decision_note)
            SELECT s.id, (%(kinds)s::text[])[1 + i %% cardinality(%(kinds)s::text[])],
                   CASE WHEN i %% 10 = 0 THEN 'waived' ELSE 'proposed' END,
                   date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai')
                       AT TIME ZONE 'Asia/Shanghai' + random() * interval '1 hour',
                   '{}', ''
            FROM generate_series(1, %(n)s) AS i
            JOIN core_shop AS s
              ON s.jd_shop_id = 'B' || lpad((1 + i %% %(shops)s)::text, 6, '0')
            """,
            {"kinds": kinds, "n": penalties, "shops": shops},
        )
        category = Category.objects.create(code="BENCH", name="基准类目")
        c.execute(
            "INSERT INTO categories_categoryshop (category_id, shop_id)"
            " SELECT %s, id FROM core_shop",
            [category.pk],
        )
        # VACUUM too: what autovacuum does after a bulk insert; it sets the visibility map,
        # without which the month's sales are no index-only scan (3x slower, cold)
        c.execute("VACUUM ANALYZE")
    operator = get_user_model().objects.create_user("bench_operator")
    CategoryOperator.objects.create(category=category, user=operator)
    return category


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--penalties", type=int, default=20_000, help="this month's")
    parser.add_argument("--no-load", action="store_true", help="reuse the data already loaded")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("set DATABASE_URL to a PostgreSQL database of its own")
    settings.ALLOWED_HOSTS = ["*"]
    started = time.perf_counter()
    if args.no_load:
        call_command("migrate", verbosity=0)
        category = Category.objects.for_system().get(code="BENCH")
    else:
        category = load(args.shops, args.orders, args.penalties)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    rollup = run_job("roll_up_category_sales", now=timezone.now())
    rolled = time.perf_counter() - started

    client = Client()
    client.force_login(CategoryOperator.objects.for_system().filter(category=category).first().user)
    url = reverse("category-detail", args=[category.pk])
    assert client.get(url).status_code == 200  # warm-up
    page_ms = []
    for _ in range(args.runs):
        t = time.perf_counter()
        response = client.get(url)
        page_ms.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    selector_ms = []
    for _ in range(args.runs):
        t = time.perf_counter()
        selectors.overview(category, selectors.plan_month())
        selector_ms.append((time.perf_counter() - t) * 1000)
    page_ms.sort()
    print(
        json.dumps(
            {
                "shops": args.shops,
                "orders": args.orders,
                "penalties": args.penalties,
                "load_s": round(loaded, 1),
                "rollup_job_s": round(rolled, 1),
                "rolled_shop_months": rollup["shop_months"],
                "page_ms_median": round(statistics.median(page_ms), 1),
                "page_ms_p95": round(page_ms[int(len(page_ms) * 0.95) - 1], 1),
                "page_ms_max": round(page_ms[-1], 1),
                "selector_ms_median": round(statistics.median(selector_ms), 1),
                "queries": len(queries),
                "met": statistics.median(page_ms) < 300,
            }
        )
    )


if __name__ == "__main__":
    main()
