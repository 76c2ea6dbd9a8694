"""Benchmark of the bulk upload (issue 10, item 4): 1,000 generated invoice PDFs matched to 1,000
pending requests of one shop, processed by the task's body in this process, on PostgreSQL.

    createdb -h 127.0.0.1 -U postgres jdpop_bbench   # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jdpop_bbench \\
        .venv/bin/python bench/bulk_bench.py [--files 1000] [--profile]

Each run migrates the database if needed, creates a shop of its own with `--files` pending
requests (other runs' shops stay, so the tables grow a little), generates one invoice PDF per
request with the tests' generator (`tests/invoices/fakes.py`: text layer and QR code, the order
number in the remarks; not timed), uploads them as one zip through `bulk_upload_create` and
times `bulk_upload_process` (detect, read back, match, issue through
`invoice_request_issue`, with history, ticket and outbox rows), then the same zip a second time
(everything "already issued"). Prints a table and one JSON line. `--profile` adds the 25
costliest functions of the first run. Stored files go to `var/bench-media/`. The database is
the benchmark's own: never point it at real data.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jdpop.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from core.models import Shop, ShopMembership  # noqa: E402
from invoices.bulk import bulk_upload_create, bulk_upload_process  # noqa: E402
from invoices.models import BulkUpload, InvoiceRequest, Order  # noqa: E402
from jdpop.celery import app  # noqa: E402
from tests.invoices import fakes  # noqa: E402

GOAL_SECONDS = 60
QUEUE = "jdpop-bulk-bench"


class Queries:
    """Counts the statements run (the bench runs with DEBUG's query log off)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):  # noqa: ANN001
        self.count += 1
        return execute(sql, params, many, context)


def make_shop(n: int) -> tuple[Shop, object, list[InvoiceRequest]]:
    """A shop, its owner, and `n` pending requests of completed orders (bulk-inserted)."""
    run = uuid.uuid4().hex[:8]
    User = get_user_model()
    shop = Shop.objects.create(
        jd_shop_id=f"bench-{run}", name=f"批量基准店{run}", tax_id=fakes.DEFAULT_SELLER_TAX_ID
    )
    owner = User.objects.create_user(f"bench-owner-{run}", password=None)
    consumer = User.objects.create_user(f"bench-consumer-{run}", password=None)
    ShopMembership.objects.create(shop=shop, user=owner, role=ShopMembership.Role.OWNER)
    now = timezone.now()
    base = int(run, 16) % 10**6
    orders = Order.objects.bulk_create(
        Order(
            shop=shop,
            consumer=consumer,
            number=f"9{base:06d}{i:05d}",
            amount=Decimal("100.00") + i,
            state=Order.State.COMPLETED,
            completed_at=now,
        )
        for i in range(n)
    )
    requests = InvoiceRequest.objects.bulk_create(
        InvoiceRequest(
            order=o,
            shop=shop,
            consumer=consumer,
            title_type=InvoiceRequest.TitleType.ORGANISATION,
            title=f"上海云帆信息科技有限公司第{i}分公司",
            tax_id=fakes.VALID_USCC,
            invoice_kind=InvoiceRequest.InvoiceKind.E_ORDINARY,
            email="finance@example.com",
            requested_at=now,
        )
        for i, o in enumerate(orders)
    )
    for r, o in zip(requests, orders, strict=True):
        r.order, r.shop = o, shop
    return shop, owner, requests


def timed_run(bulk: BulkUpload, profile: bool) -> tuple[float, int, str]:
    queries = Queries()
    profiler = cProfile.Profile() if profile else None
    with connection.execute_wrapper(queries):
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        outcome = bulk_upload_process(bulk_upload_id=bulk.pk, budget_seconds=3600)
        if profiler:
            profiler.disable()
        took = time.perf_counter() - started
    assert outcome == "done", outcome
    text = ""
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        text = out.getvalue()
    return took, queries.count, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("the benchmark runs on PostgreSQL: set DATABASE_URL")
    settings.MEDIA_ROOT = ROOT / "var" / "bench-media"
    # The upload sends its task when committed: to a queue no worker reads (this process is the
    # worker here), emptied at the end.
    settings.JDPOP_BULK_UPLOAD_QUEUE = QUEUE
    call_command("migrate", verbosity=0)

    shop, owner, requests = make_shop(args.files)
    started = time.perf_counter()
    files = {f"{i:04d}.pdf": fakes.invoice_pdf(fakes.fields_for(r)) for i, r in enumerate(requests)}
    archive = fakes.zip_of(files)
    generated = time.perf_counter() - started

    def upload() -> BulkUpload:
        return bulk_upload_create(
            shop=shop, by=owner, files=[SimpleUploadedFile("bench.zip", archive)]
        )

    started = time.perf_counter()
    first = upload()
    uploaded = time.perf_counter() - started
    took, queries, profile = timed_run(first, args.profile)
    first.refresh_from_db()
    again, again_queries, _ = timed_run(upload(), False)
    second = BulkUpload.objects.for_system().order_by("-pk").first()

    result = {
        "files": args.files,
        "archive_bytes": len(archive),
        "generate_s": round(generated, 1),
        "upload_checks_s": round(uploaded, 2),
        "process_s": round(took, 1),
        "per_file_ms": round(1000 * took / args.files, 1),
        "files_per_s": round(args.files / took, 1),
        "queries": queries,
        "counts": first.counts,
        "same_zip_again_s": round(again, 1),
        "same_zip_again_counts": second.counts,
        "same_zip_again_queries": again_queries,
        "goal_s": GOAL_SECONDS,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
    }
    print(f"{'measure':<40} result")
    per_file = result["per_file_ms"]
    print(f"{'process ' + str(args.files) + ' files':<40} {took:.1f} s ({per_file} ms/file)")
    print(f"{'queries':<40} {queries} ({queries / args.files:.1f}/file)")
    print(f"{'outcomes':<40} {first.counts}")
    print(f"{'the same zip again':<40} {again:.1f} s, {second.counts}")
    print(f"{'goal':<40} < {GOAL_SECONDS} s: {'met' if took < GOAL_SECONDS else 'NOT met'}")
    print(f"{'load average (1, 5, 15 min)':<40} {result['load_average']}")
    if profile:
        print(profile)
    print(json.dumps(result, ensure_ascii=False))
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(QUEUE)


if __name__ == "__main__":
    main()
