"""Demo data for `manage.py seed_demo`: a deterministic generator and a bulk loader.

The generator half (`shop_rows`, `consumer_rows`, `iter_cases`) is pure: given a seed and a
base instant it yields the same plain dicts every time, without touching the database. The
loader half (`seed_demo`) turns them into rows batch by batch, with `COPY` on PostgreSQL and
`bulk_create` elsewhere, so that memory stays flat however many requests are asked for.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from core.clock import in_china
from core.models import HistoryEntry, Shop, ShopMembership
from core.roles import ARBITRATOR_GROUP
from invoices.models import InvoiceRequest, Order, ShopFlowChange

from .bulk import bulk_generate
from .cases import CaseMaker, iter_cases
from .loader import Writer
from .people import consumer_rows, person_name, shop_rows
from .words import (
    ARBITRATOR,
    CONSUMER,
    DEMO_INVOICE_PATH,
    DEMO_LOGINS,
    DEMO_PASSWORD,
    MERCHANT,
    MERCHANT_OPERATOR,
    MERCHANT_VIEWER,
    demo_invoice_pdf,
)


@dataclass
class SeedSummary:
    """What `seed_demo` created."""

    shops: int = 0
    consumers: int = 0
    orders: int = 0
    requests: int = 0
    history: int = 0
    states: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    skipped: bool = False
    password: str = DEMO_PASSWORD  # what the summary says of the demo logins' password

    @property
    def rows(self) -> int:
        return self.shops + self.consumers + self.orders + self.requests + self.history

    def line(self) -> str:
        """The one-line summary the command prints."""
        if self.skipped:
            return "seed_demo: demo logins already exist; nothing to do (--if-empty)."
        states = ", ".join(f"{n} {s}" for s, n in sorted(self.states.items()))
        rate = self.rows / self.seconds if self.seconds else 0
        return (
            f"seed_demo: {self.shops} shops, {self.consumers} consumers, {self.orders} orders, "
            f"{self.requests} invoice requests ({states}), {self.history} history entries in "
            f"{self.seconds:.1f} s ({rate:,.0f} rows/s); logins {', '.join(DEMO_LOGINS)}, "
            f"password {self.password}"
        )


def demo_logins_exist() -> bool:
    """Whether any demo login is already in the database."""
    return get_user_model().objects.filter(username__in=DEMO_LOGINS).exists()


def demo_base_time(now: datetime | None = None) -> datetime:
    """The instant demo ages count back from: the start of today, China time."""
    return in_china(now or timezone.now()).replace(hour=0, minute=0, second=0, microsecond=0)


def _batched(items: Iterable, size: int) -> Iterator[list]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def _user_row(user_id: int, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": user_id,
        "password": UNUSABLE_PASSWORD_PREFIX + "demo",
        "last_login": None,
        "is_superuser": False,
        "is_staff": False,
        "is_active": True,
        **row,
    }


# From this many requests on PostgreSQL, the bulk of the data is made in SQL (`demo.bulk`).
SQL_FROM = 20_000


def seed_demo(
    *,
    seed: int = 1,
    shops: int = 3,
    requests: int = 300,
    batch_size: int = 5000,
    now: datetime | None = None,
    progress: bool = True,
    passwords: dict[str, str] | None = None,
    in_sql: bool | None = None,
) -> SeedSummary:
    """Create the demo logins, shops, consumers, orders, invoice requests and their history.

    The demo logins share DEMO_PASSWORD, or each has its own from `passwords` (by login).
    `in_sql`: make all but the demo consumer's cases in the database (`demo.bulk`; PostgreSQL
    only); by default from SQL_FROM requests on PostgreSQL."""
    if shops < 1 or requests < 0 or batch_size < 1:
        raise ValueError("need at least one shop, a non-negative request count and a batch size")
    started = time.monotonic()
    if in_sql is None:
        in_sql = connection.vendor == "postgresql" and requests >= SQL_FROM
    if in_sql and connection.vendor != "postgresql":
        raise ValueError("the SQL generator runs on PostgreSQL only")
    base = demo_base_time(now)
    User = get_user_model()
    summary = SeedSummary(password=DEMO_PASSWORD if passwords is None else "(one each, below)")
    writer = Writer(batch_size, [User, Order, InvoiceRequest, HistoryEntry])
    n_consumers = max(1, requests // 5)
    shop_plan = shop_rows(seed=seed, shops=shops, now=base)

    invoice_file = DEMO_INVOICE_PATH
    if not default_storage.exists(invoice_file):
        invoice_file = default_storage.save(DEMO_INVOICE_PATH, ContentFile(demo_invoice_pdf()))

    with transaction.atomic():
        # The demo logins, sharing one properly hashed password (hashing is slow on purpose),
        # unless each was given its own.
        shared = make_password(DEMO_PASSWORD) if passwords is None else ""

        def login(username: str, **extra: Any) -> Any:
            hashed = make_password(passwords[username]) if passwords is not None else shared
            return User.objects.create(username=username, password=hashed, **extra)

        merchant = login(
            MERCHANT, first_name="商家", last_name="演示", email="merchant@example.com"
        )
        operator = login(MERCHANT_OPERATOR, first_name="运营", last_name="演示")
        viewer = login(MERCHANT_VIEWER, first_name="只读", last_name="演示")
        surname, given = person_name(seed, 0)
        consumer = login(
            CONSUMER, first_name=given, last_name=surname, email="consumer@example.com"
        )
        arbitrator = login(ARBITRATOR, first_name="判责", last_name="平台", is_staff=True)
        arbitrator.groups.add(Group.objects.get_or_create(name=ARBITRATOR_GROUP)[0])

        # Shops, their owners (the merchant owns the first), the gray-release audit.
        owners = [merchant] + User.objects.bulk_create(
            [
                User(
                    username=s["owner"],
                    password=UNUSABLE_PASSWORD_PREFIX + "demo",
                    first_name=s["name"][:150],
                    date_joined=s["created_at"],
                )
                for s in shop_plan[1:]
            ]
        )
        shop_objs = Shop.objects.bulk_create(
            [
                Shop(
                    jd_shop_id=s["jd_shop_id"],
                    name=s["name"],
                    tax_id=s["tax_id"],
                    new_flow_since=s["new_flow_since"],
                    created_at=s["created_at"],
                )
                for s in shop_plan
            ]
        )
        ShopMembership.objects.bulk_create(
            [
                ShopMembership(shop=shop, user=owner, role=ShopMembership.Role.OWNER)
                for shop, owner in zip(shop_objs, owners, strict=True)
            ]
            + [
                ShopMembership(shop=shop_objs[0], user=operator, role="operator"),
                ShopMembership(shop=shop_objs[0], user=viewer, role="viewer"),
            ]
        )
        ShopFlowChange.objects.bulk_create(
            [
                ShopFlowChange(
                    shop=shop, on=True, actor=arbitrator, at=shop.new_flow_since, note="演示数据"
                )
                for shop in shop_objs
                if shop.new_flow_since is not None
            ]
        )
        _seed_categories(shop_objs, login, passwords)
        summary.shops = len(shop_objs)
        shop_ids = [s.pk for s in shop_objs]
        owner_ids = [u.pk for u in owners]

        writer.start()  # from here on, only the writer inserts into its tables
        try:
            # The bulk consumers.
            consumer_ids = [consumer.pk]
            bulk_consumers = (
                [] if in_sql else consumer_rows(seed=seed, consumers=n_consumers, now=base)
            )
            for chunk in _batched(bulk_consumers, batch_size):
                ids = writer.reserve_ids(User, len(chunk))
                writer.insert(User, [_user_row(i, row) for i, row in zip(ids, chunk, strict=True)])
                consumer_ids.extend(ids)
            summary.consumers = len(consumer_ids)

            # Orders, requests and history, one batch at a time.
            bar = _progress(requests, progress and not in_sql)
            maker = CaseMaker(seed, shop_plan, base, invoice_file)
            cases = iter_cases(
                seed=seed,
                shops=shop_plan,
                consumers=n_consumers,
                requests=requests,
                now=base,
                invoice_file=invoice_file,
                bulk=not in_sql,
                maker=maker,
            )
            for chunk in _batched(cases, batch_size):
                order_ids = writer.reserve_ids(Order, len(chunk))
                request_ids = iter(
                    writer.reserve_ids(InvoiceRequest, sum(len(c["requests"]) for c in chunk))
                )
                order_rows, request_rows, history_rows = [], [], []
                for order_id, case in zip(order_ids, chunk, strict=True):
                    o = case["order"]
                    consumer_id = consumer_ids[o["consumer"]]
                    shop_index = o["shop"]
                    order_rows.append(
                        {
                            "id": order_id,
                            "shop_id": shop_ids[shop_index],
                            "consumer_id": consumer_id,
                            "number": o["number"],
                            "amount": o["amount"],
                            "state": o["state"],
                            "created_at": o["created_at"],
                            "completed_at": o["completed_at"],
                        }
                    )
                    ids_here: list[int] = []
                    for r in case["requests"]:
                        request_id = next(request_ids)
                        ids_here.append(request_id)
                        row = {k: v for k, v in r.items() if k not in ("history", "reissue_of")}
                        row.update(
                            id=request_id,
                            order_id=order_id,
                            shop_id=shop_ids[shop_index],
                            consumer_id=consumer_id,
                            reissue_of_id=None
                            if r["reissue_of"] is None
                            else ids_here[r["reissue_of"]],
                        )
                        request_rows.append(row)
                        summary.states[r["state"]] += 1
                        for h in r["history"]:
                            actor = h["actor"]
                            history_rows.append(
                                {
                                    "request_id": request_id,
                                    "subject": "request",
                                    "subject_id": request_id,
                                    "actor_id": consumer_id
                                    if actor == "consumer"
                                    else operator.pk
                                    if actor == "operator"
                                    else owner_ids[shop_index],
                                    "action": h["action"],
                                    "state_from": h["state_from"],
                                    "state_to": h["state_to"],
                                    "data": h["data"],
                                    "at": h["at"],
                                }
                            )
                for row, history_id in zip(
                    history_rows, writer.reserve_ids(HistoryEntry, len(history_rows)), strict=True
                ):
                    row["id"] = history_id
                writer.insert(Order, order_rows)
                writer.insert(InvoiceRequest, request_rows)
                writer.insert(HistoryEntry, history_rows)
                summary.orders += len(order_rows)
                summary.requests += len(request_rows)
                summary.history += len(history_rows)
                bar.update(len(request_rows))
                connection.queries_log.clear()  # DEBUG keeps every SQL statement otherwise
            bar.close()
        except BaseException:
            writer.abort()
            raise
        writer.close()
        if in_sql and requests > summary.requests:
            made = bulk_generate(
                seed=seed,
                shops=shop_plan,
                shop_ids=shop_ids,
                owner_ids=owner_ids,
                operator_id=operator.pk,
                consumers=n_consumers,
                requests=requests - summary.requests,
                orders_before=maker.orders,
                now=base,
                invoice_file=invoice_file,
                progress=progress,
            )
            summary.consumers += made.consumers
            summary.orders += made.orders
            summary.requests += made.requests
            summary.history += made.history
            summary.states.update(made.states)

    _analyze([User, Shop, ShopMembership, Order, InvoiceRequest, HistoryEntry, ShopFlowChange])
    summary.seconds = time.monotonic() - started
    return summary


CATEGORY_OPERATOR = "category-op"  # runs both demo categories (类目运营), the shared password


def _seed_categories(shops: list[Shop], login: Callable[..., Any], passwords: Any) -> None:
    """Two categories sharing the demo shops (the merchant's first shop in 手机数码), and their
    operator `category-op`."""
    from categories.models import Category, CategoryOperator, CategoryShop

    if passwords is not None and CATEGORY_OPERATOR not in passwords:
        return  # each login was given its own password, and this one none
    operator = login(CATEGORY_OPERATOR, first_name="运营", last_name="类目")
    categories = [
        Category.objects.create(code="3C", name="手机数码"),
        Category.objects.create(code="HOME", name="家居日用"),
    ]
    CategoryShop.objects.bulk_create(
        CategoryShop(category=categories[i % 2], shop=shop) for i, shop in enumerate(shops)
    )
    CategoryOperator.objects.bulk_create(
        CategoryOperator(category=category, user=operator) for category in categories
    )


def _analyze(models: list[type]) -> None:
    """Give PostgreSQL the statistics of what was just bulk-loaded: without them the planner
    guesses, and a job's first batch after a load could crawl."""
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {tables}")


def _progress(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="req",
        unit_scale=True,
        desc="seed_demo",
        file=sys.stderr,
        disable=not enabled,
        mininterval=0.5,
    )
