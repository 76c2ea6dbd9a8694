"""Issue 14, fast at a million: every list page and admin change list costs a pinned number of
queries whatever the number of rows; counts are bounded; the admin searches by index; /healthz
reads no table whole. On PostgreSQL, EXPLAIN shows the indexes the admin search and the
merchant lists use (`bench/scale_bench.py` measures the times at 1M)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from core import health, pages
from core.changelist import FastChangeListMixin, indexed_search
from core.models import HistoryEntry, JobRun
from core.roles import ARBITRATOR_GROUP
from invoices.models import InvoiceRequest
from invoices.services import invoice_request_cancel
from tests.disputes.factories import DisputeFactory
from tests.factories import InvoiceRequestFactory, ShopFactory, UserFactory, merchant_of
from tickets import health as tickets_health
from tickets.jobs import open_overdue_tickets
from tickets.models import UrgeTicket

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


class World:
    """One shop (new flow) with its owner, one consumer, an arbitrator, and `grow(n)` to add
    n overdue requests with their tickets and history, a withdrawn request and a dispute."""

    def __init__(self) -> None:
        self.shop = ShopFactory(new_flow_since=timezone.now() - 400 * DAY)
        self.owner = merchant_of(self.shop)
        self.consumer = UserFactory()
        self.arbitrator = UserFactory(is_staff=True)
        self.arbitrator.groups.add(Group.objects.get(name=ARBITRATOR_GROUP))
        self.requests: list[InvoiceRequest] = []

    def grow(self, n: int) -> None:
        made = [
            InvoiceRequestFactory(
                order__shop=self.shop,
                order__consumer=self.consumer,
                requested_at=timezone.now() - 30 * DAY,
            )
            for _ in range(n)
        ]
        open_overdue_tickets(now=timezone.now())
        fresh = InvoiceRequestFactory(order__shop=self.shop, order__consumer=self.consumer)
        invoice_request_cancel(invoice_request=fresh, by=self.consumer)
        DisputeFactory(request__order__shop=self.shop, request__order__consumer=self.consumer)
        self.requests += made


@pytest.fixture
def world() -> World:
    return World()


def _queries(client, user, url: str) -> int:
    client.force_login(user)
    client.get(url)  # warm: sessions, translations, content types
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries)


# --- pages: a pinned number of queries, the same for 2 rows or 8 -----------------------------

PAGES = {
    # url: (role, queries)
    "/merchant/": ("owner", 12),
    "/merchant/requests/": ("owner", 6),
    "/merchant/requests/?state=pending": ("owner", 6),
    "/merchant/requests/?q={number}": ("owner", 6),
    "/merchant/tickets/": ("owner", 6),
    "/merchant/tickets/?state=all": ("owner", 6),
    "/merchant/disputes/": ("owner", 6),
    "/merchant/bulk/": ("owner", 6),
    "/my/": ("consumer", 8),
    "/my/disputes/": ("consumer", 7),
}


@pytest.mark.parametrize("url", list(PAGES))
def test_a_list_page_makes_a_pinned_number_of_queries_at_any_size(client, world, url):
    role, pinned = PAGES[url]
    world.grow(2)
    user = getattr(world, role)
    url = url.format(number=world.requests[0].order.number)
    few = _queries(client, user, url)
    world.grow(6)
    assert _queries(client, user, url) == few == pinned


# --- admin change lists ----------------------------------------------------------------------


OUR_APPS = {"core", "invoices", "tickets", "disputes", "penalties", "notifications"}


def _changelists() -> list[str]:
    return sorted(
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
        if model._meta.app_label in OUR_APPS
    )


def test_every_admin_change_list_makes_the_same_number_of_queries_at_any_size(client, world):
    world.grow(2)
    few = {url: _queries(client, world.arbitrator, url) for url in _changelists()}
    world.grow(6)
    many = {url: _queries(client, world.arbitrator, url) for url in _changelists()}
    assert many == few
    # No list makes a query per row: eight rows or more, and a dozen queries at most.
    assert max(many.values()) <= 12, many


BIG_TABLES = [
    "invoices.InvoiceRequest",
    "invoices.Order",
    "tickets.UrgeTicket",
    "core.HistoryEntry",
    "core.OutboxMessage",
    "core.JobRun",
    "penalties.Penalty",
    "disputes.Dispute",
    "notifications.Notification",
    "notifications.WebhookDelivery",
]


@pytest.mark.parametrize("label", BIG_TABLES)
def test_a_big_tables_admin_estimates_its_count_and_has_no_date_hierarchy(label):
    from django.apps import apps

    model_admin = admin.site._registry[apps.get_model(label)]
    assert isinstance(model_admin, FastChangeListMixin)
    assert model_admin.date_hierarchy is None
    # Ordered by the primary key or by an annotation of its own (the dispute queue): never a
    # sort of the whole table by an unindexed column.
    ordering = model_admin.get_ordering(None) if label == "disputes.Dispute" else None
    assert ordering or list(model_admin.ordering) == ["-id"]
    if model_admin.search_fields:
        assert model_admin.search_help_text


def test_the_history_list_reads_no_distinct_actions(client, world):
    world.grow(2)
    client.force_login(world.arbitrator)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("admin:core_historyentry_changelist"))
    assert not [q for q in queries if "DISTINCT" in q["sql"].upper()]


# --- admin search: exact, by index -----------------------------------------------------------


def _found(client, world, url: str, term: str) -> list[int]:
    client.force_login(world.arbitrator)
    response = client.get(url, {"q": term})
    assert response.status_code == 200
    return sorted(obj.pk for obj in response.context["cl"].result_list)


def test_the_request_admin_finds_by_order_number_request_number_or_tax_id(client, world):
    world.grow(3)
    target = world.requests[1]
    target.tax_id = "91110108MA01ABCD2X"
    InvoiceRequest.objects.for_system().filter(pk=target.pk).update(tax_id=target.tax_id)
    url = reverse("admin:invoices_invoicerequest_changelist")
    assert _found(client, world, url, target.order.number) == [target.pk]
    assert _found(client, world, url, str(target.pk)) == [target.pk]
    assert _found(client, world, url, target.tax_id) == [target.pk]
    assert _found(client, world, url, target.tax_id.lower()) == [target.pk]  # as typed, or caps
    # Exact only: part of an order number, or a word of the title, finds nothing.
    assert _found(client, world, url, target.order.number[:-1]) == []
    assert _found(client, world, url, target.title[:4]) == []


def test_the_ticket_admin_finds_by_order_number_and_the_dispute_admin_too(client, world):
    world.grow(3)
    target = world.requests[2]
    ticket = UrgeTicket.objects.for_system().get(request=target)
    url = reverse("admin:tickets_urgeticket_changelist")
    assert _found(client, world, url, target.order.number) == [ticket.pk]
    assert _found(client, world, url, world.shop.jd_shop_id) == sorted(
        UrgeTicket.objects.for_system().values_list("pk", flat=True)
    )
    dispute = DisputeFactory(request__order__shop=world.shop)
    url = reverse("admin:disputes_dispute_changelist")
    assert _found(client, world, url, dispute.request.order.number) == [dispute.pk]


def test_a_search_joins_nothing_and_a_word_for_a_number_matches_no_id(world):
    world.grow(2)
    qs = InvoiceRequest.objects.for_system().order_by("-id")
    found = indexed_search(qs, ["=order__number", "=id", "=tax_id"], world.requests[0].order.number)
    assert " JOIN " not in str(found.query)
    assert list(found) == [world.requests[0]]
    assert not indexed_search(qs, ["=id"], "abc").exists()


# --- pages: bounded counts -------------------------------------------------------------------


def test_a_list_counts_at_most_its_bound_and_says_there_are_more(rf, world, monkeypatch):
    monkeypatch.setattr(pages, "COUNT_UP_TO", 2)
    world.grow(3)  # 3 overdue + 1 withdrawn + 1 refused (the dispute's) requests
    qs = InvoiceRequest.objects.for_merchant(world.owner)
    with CaptureQueriesContext(connection) as queries:
        page = pages.paginate(rf.get("/", {"page": "1"}), qs, per_page=1)
        assert len(page.object_list) == 1
    paginator = page.paginator
    assert paginator.capped and paginator.count == 3  # stopped one past the bound
    assert paginator.pages_label == "2+" and page.has_next()
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and "LIMIT 3" in counts[0].upper()
    # A page past the bound is counted as far as it, and one more row.
    page = pages.paginate(rf.get("/", {"page": "4"}), qs, per_page=1)
    assert page.number == 4 and page.paginator.capped and page.has_next()
    page = pages.paginate(rf.get("/", {"page": "5"}), qs, per_page=1)
    assert page.paginator.count == 5 and not page.paginator.capped and not page.has_next()


def test_the_pager_and_the_workbench_say_so_when_the_count_stopped(rf, world):
    world.grow(5)
    tickets = UrgeTicket.objects.for_merchant(world.owner)

    def shown(template: str, page) -> str:
        with translation.override("en"):
            context = {"page": page, "groups": {}, "now": timezone.now()}
            html = render_to_string(template, context, request=rf.get("/"))
        return " ".join(html.split())

    capped = pages.BoundedPaginator(tickets, 2, count_up_to=4).page(1)
    assert "Page 1 of 2+" in shown("_pager.html", capped)
    assert "More than 4 tickets" in shown("tickets/_workbench_rows.html", capped)
    exact = pages.BoundedPaginator(tickets, 2, count_up_to=100).page(1)
    assert "Page 1 of 3" in shown("_pager.html", exact)
    assert "5 tickets" in shown("tickets/_workbench_rows.html", exact)


def test_a_deep_page_is_counted_far_enough_to_be_shown(world):
    world.grow(5)
    qs = InvoiceRequest.objects.for_merchant(world.owner)
    paginator = pages.BoundedPaginator(qs, 2, count_up_to=2)
    assert paginator.capped and paginator.pages_label == "1+"
    assert pages.BoundedPaginator(qs, 2, count_up_to=100).count == qs.count()


# --- /healthz --------------------------------------------------------------------------------


def test_the_overdue_check_counts_at_most_its_bound(world, monkeypatch):
    monkeypatch.setattr(tickets_health, "COUNT_UP_TO", 2)
    for _ in range(3):
        InvoiceRequestFactory(order__shop=world.shop, requested_at=timezone.now() - 11 * DAY)
    result = tickets_health.health_overdue_without_ticket()
    assert result["count"] == 2
    open_overdue_tickets(now=timezone.now())
    assert tickets_health.health_overdue_without_ticket()["count"] == 0


def test_healthz_makes_a_pinned_number_of_queries(client, world):
    world.grow(2)
    JobRun.objects.create(
        name="open_overdue_tickets",
        as_of=timezone.now(),
        started_at=timezone.now(),
        finished_at=timezone.now(),
        ok=True,
    )
    client.get("/healthz")
    with CaptureQueriesContext(connection) as queries:
        client.get("/healthz")
    few = len(queries)
    world.grow(4)
    with CaptureQueriesContext(connection) as queries:
        client.get("/healthz")
    assert len(queries) == few
    if connection.vendor == "postgresql":
        # SELECT 1; the jobs (one statement, one for abandoned runs); the worker; the opening
        # job's last run, two bounded counts and its queue's triggers; three bounded counts of
        # disputes.
        assert few <= 11


@pytest.mark.postgres
def test_on_postgresql_the_jobs_check_answers_as_health_jobs_does():
    from core.jobs import health_jobs

    now = timezone.now()
    JobRun.objects.create(
        name="open_overdue_tickets", as_of=now, started_at=now, finished_at=now, ok=True
    )
    JobRun.objects.create(
        name="flag_missed_replies", as_of=now, started_at=now - 3 * DAY, finished_at=None
    )
    mine, theirs = health.check_jobs(), health_jobs()
    for answer in (mine, theirs):
        answer["age_seconds"] = {k: v is not None for k, v in answer["age_seconds"].items()}
    assert mine == theirs


# --- EXPLAIN on PostgreSQL: the indexes behind the admin search and the merchant lists -------


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params or None)
        return "\n".join(row[0] for row in cursor.fetchall())


def _list_query(client, user, url: str, table: str) -> tuple[str, list]:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    selects = [
        q["sql"] for q in queries if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"]
    ]
    assert selects, [q["sql"] for q in queries]
    return selects[-1], []


@pytest.mark.postgres
@pytest.mark.parametrize(
    "url",
    [
        "admin:invoices_invoicerequest_changelist",
        "admin:tickets_urgeticket_changelist",
        "admin:invoices_order_changelist",
    ],
)
def test_on_postgresql_the_admin_search_by_order_number_reads_indexes_only(client, world, url):
    world.grow(3)
    number = world.requests[0].order.number
    table = {
        "admin:invoices_invoicerequest_changelist": "invoices_invoicerequest",
        "admin:tickets_urgeticket_changelist": "tickets_urgeticket",
        "admin:invoices_order_changelist": "invoices_order",
    }[url]
    sql, params = _list_query(client, world.arbitrator, f"{reverse(url)}?q={number}", table)
    plan = _plan(sql, params)
    # With sequential scans priced out, a condition no index serves would still show one.
    assert "Seq Scan" not in plan, plan
    assert "Index" in plan


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("url", "table"),
    [
        ("/merchant/requests/", "invoices_invoicerequest"),
        ("/merchant/requests/?q=300000000001", "invoices_invoicerequest"),
        ("/merchant/tickets/", "tickets_urgeticket"),
        ("/api/v1/merchant/invoice-requests/", "invoices_invoicerequest"),
        ("/api/v1/merchant/tickets/", "tickets_urgeticket"),
    ],
)
def test_on_postgresql_the_merchant_lists_read_the_shops_rows_by_index(client, world, url, table):
    world.grow(3)
    sql, params = _list_query(client, world.owner, url, table)
    assert "= ANY(ARRAY(SELECT" in sql  # the scope: an InitPlan, then an index condition
    plan = _plan(sql, params)
    assert f"Seq Scan on {table}" not in plan, plan
    assert "Index Cond: (shop_id = ANY ($0))" in plan or "shop_id = ANY" in plan, plan


@pytest.mark.postgres
def test_on_postgresql_the_history_search_by_request_reads_its_index(client, world):
    world.grow(2)
    request_id = world.requests[0].pk
    url = f"{reverse('admin:core_historyentry_changelist')}?q={request_id}"
    sql, params = _list_query(client, world.arbitrator, url, "core_historyentry")
    plan = _plan(sql, params)
    assert "history_request_idx" in plan, plan
    assert HistoryEntry.objects.for_system().filter(request_id=request_id).exists()


@pytest.mark.postgres
def test_on_postgresql_the_ticket_admin_filtered_by_state_reads_its_index(client, world):
    world.grow(3)
    url = f"{reverse('admin:tickets_urgeticket_changelist')}?state__exact=breached"
    sql, params = _list_query(client, world.arbitrator, url, "tickets_urgeticket")
    plan = _plan(sql, params)
    assert "ticket_perf_state_idx" in plan, plan


@pytest.mark.postgres
def test_on_postgresql_a_title_search_reads_the_trigram_index(world):
    """The merchant list's `?q=` part of a title (`icontains`: `UPPER(title) LIKE '%…%'`) is
    served by the pg_trgm index of invoices/migrations/0096: with sequential and plain index
    scans priced out, only a bitmap scan of that index can answer."""
    world.grow(2)
    sql, params = (
        InvoiceRequest.objects.for_system()
        .filter(title__icontains="科技有限")
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ir_perf_title_trgm_idx" in plan, plan


@pytest.mark.postgres
def test_on_postgresql_the_dashboards_at_risk_list_reads_the_shops_own_index(world):
    """The requests about to fall overdue, of the merchant's shops only: the scan starts from
    the shops (at 1M, on ir_perf_shop_at_risk_idx), never a walk of every shop's next two days
    filtered by shop (136 ms at 1M before that index)."""
    from jdpop.dashboard.selectors import at_risk

    world.grow(2)
    sql, params = at_risk(world.owner, timezone.now())[:20].query.sql_with_params()
    plan = _plan(sql, params)
    assert "Index Cond: ((shop_id = ANY ($0))" in plan, plan
    assert "Filter: (shop_id" not in plan, plan
