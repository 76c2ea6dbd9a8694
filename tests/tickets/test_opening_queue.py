"""Issue 14, items 4 and 5: the opening job's queue (`invoices.DueRequest`).

The database keeps it: every pending request with an overdue instant has a row, whoever wrote
the request, until the job opens its ticket and deletes the row. So a run with nothing to do
reads an empty index range however many tickets are open, and opening a ticket never rewrites
the wide request row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.errors import DomainError
from core.models import Shop
from invoices.models import DueRequest, InvoiceRequest, Order
from invoices.rollout import shops_set_new_flow
from tests.factories import InvoiceRequestFactory, OrderFactory, ShopFactory
from tickets.jobs import open_overdue_tickets
from tickets.models import UrgeTicket
from tickets.services import ticket_urge
from tickets.services.opening import due_requests

from .conftest import DAY, OPENED, SECOND, T0, upload_invoice

pytestmark = pytest.mark.django_db


def queue() -> dict[int, object]:
    return dict(DueRequest.objects.for_system().values_list("request_id", "due_at"))


@pytest.fixture
def opened(shop) -> list[InvoiceRequest]:
    requests = [
        InvoiceRequestFactory(order__shop=shop, requested_at=T0 + i * SECOND) for i in range(30)
    ]
    assert open_overdue_tickets(now=OPENED + DAY)["opened"] == 30
    return requests


# --- the job takes requests off the queue ----------------------------------------------------


def test_a_request_leaves_the_queue_with_its_ticket(opened):
    now = OPENED + 5 * DAY
    assert InvoiceRequest.objects.for_system().overdue(now).count() == 30  # still overdue
    assert not due_requests(now).exists()
    assert queue() == {}


def test_a_request_not_yet_overdue_stays_on_the_queue(shop):
    early = InvoiceRequestFactory(order__shop=shop, requested_at=T0)
    late = InvoiceRequestFactory(order__shop=shop, requested_at=T0 + DAY)
    assert open_overdue_tickets(now=OPENED)["opened"] == 1
    assert queue() == {late.pk: late.overdue_at}
    assert UrgeTicket.objects.for_system().get().request_id == early.pk


def test_the_consumers_urge_takes_the_request_off_the_queue(request_at_t0):
    ticket_urge(invoice_request=request_at_t0, by=request_at_t0.consumer, at=OPENED)
    assert queue() == {}
    assert open_overdue_tickets(now=OPENED + DAY)["opened"] == 0


def test_an_idle_run_is_one_query_of_the_queue_that_reads_no_ticket(opened):
    with CaptureQueriesContext(connection) as queries:
        assert open_overdue_tickets(now=OPENED + 5 * DAY) == {"opened": 0, "batches": 1}
    reads = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1, reads
    assert UrgeTicket._meta.db_table not in reads[0]  # no probe of the tickets per request
    assert DueRequest._meta.db_table in reads[0]


def test_opening_writes_no_request_row(shop):
    for i in range(5):
        InvoiceRequestFactory(order__shop=shop, requested_at=T0 + i * SECOND)
    with CaptureQueriesContext(connection) as queries:
        assert open_overdue_tickets(now=OPENED + DAY)["opened"] == 5
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("UPDATE")]
    assert writes == []


def test_a_ticket_made_elsewhere_leaves_the_queue_when_the_job_meets_it(request_at_t0):
    # A ticket written without the opening service (a data fix, an old row): the job's insert
    # finds it (ON CONFLICT), opens nothing twice and takes the request off the queue.
    UrgeTicket.objects.create(
        request=request_at_t0,
        shop=request_at_t0.shop,
        opened_at=OPENED,
        opened_via="job",
        reply_due_at=OPENED + DAY,
    )
    assert open_overdue_tickets(now=OPENED + DAY)["opened"] == 0
    assert UrgeTicket.objects.for_system().count() == 1
    assert queue() == {}


# --- the database keeps the queue, whoever writes the request --------------------------------


def test_a_new_pending_request_with_an_instant_joins_the_queue(request_at_t0):
    assert queue() == {request_at_t0.pk: request_at_t0.overdue_at}


def test_a_request_whose_order_is_not_completed_is_not_queued(shop):
    order = OrderFactory(shop=shop, state="paid", completed_at=None)
    waiting = InvoiceRequestFactory(order=order, requested_at=T0)
    assert waiting.overdue_at is None
    assert queue() == {}


def test_an_issued_request_leaves_the_queue(request_at_t0, merchant):
    upload_invoice(request_at_t0, merchant)
    assert queue() == {}
    assert open_overdue_tickets(now=OPENED)["opened"] == 0


def test_a_moved_instant_moves_the_row_and_a_cleared_one_removes_it(request_at_t0):
    rows = InvoiceRequest.objects.for_system().filter(pk=request_at_t0.pk)
    later = request_at_t0.overdue_at + 3 * DAY
    rows.update(overdue_at=later)
    assert queue() == {request_at_t0.pk: later}
    assert open_overdue_tickets(now=OPENED)["opened"] == 0  # not due any more
    rows.update(overdue_at=None)
    assert queue() == {}


def test_a_request_back_to_pending_is_queued_again(request_at_t0):
    rows = InvoiceRequest.objects.for_system().filter(pk=request_at_t0.pk)
    rows.update(state=InvoiceRequest.State.REFUSED, refused_at=OPENED, refuse_reason="无")
    assert queue() == {}
    rows.update(state=InvoiceRequest.State.PENDING, refused_at=None, refuse_reason="")
    assert queue() == {request_at_t0.pk: request_at_t0.overdue_at}


def test_a_save_that_changes_neither_column_leaves_the_row_alone(request_at_t0):
    DueRequest.objects.for_system().update(due_at=T0)  # a marker the trigger would overwrite
    request_at_t0.title = "上海示例有限公司"
    request_at_t0.save()
    assert queue() == {request_at_t0.pk: T0}


def test_the_gray_release_queues_a_shops_requests_and_takes_them_off_again():
    shop = ShopFactory(new_flow_since=None)
    requests = [InvoiceRequestFactory(order__shop=shop, requested_at=T0) for _ in range(3)]
    assert queue() == {}
    on_at = T0 + DAY
    shops_set_new_flow(shops=[shop], on=True, by=None, now=on_at)
    assert queue() == {r.pk: on_at + (OPENED - SECOND - T0) for r in requests}
    shops_set_new_flow(shops=[shop], on=False, by=None, now=on_at + DAY)
    assert queue() == {}


def test_a_bulk_sql_insert_queues_its_rows_at_once(shop):
    # as seed_demo and the bench write requests: one INSERT … SELECT of many rows, no ORM
    source = InvoiceRequestFactory(order__shop=shop, requested_at=T0)
    orders = [OrderFactory(shop=shop, consumer=source.consumer).pk for _ in range(3)]
    table = InvoiceRequest._meta.db_table
    columns = [
        f.column for f in InvoiceRequest._meta.concrete_fields if f.column not in ("id", "order_id")
    ]
    copied = ", ".join(f"r.{c}" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}, order_id) "
            f"SELECT {copied}, o.id FROM {table} r, {Order._meta.db_table} o "
            f"WHERE r.id = %s AND o.id IN (%s, %s, %s)",
            [source.pk, *orders],
        )
    made = InvoiceRequest.objects.for_system().filter(order_id__in=orders)
    assert len(made) == 3
    assert queue() == {r.pk: source.overdue_at for r in [source, *made]}


def test_the_triggers_that_keep_the_queue_are_in_place():
    # A migration that rebuilds the request table on SQLite would drop them silently.
    if connection.vendor == "postgresql":
        sql = (
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'invoices_invoicerequest'::regclass "
            "AND NOT tgisinternal"
        )
    else:
        sql = (
            "SELECT name FROM sqlite_master WHERE type = 'trigger' "
            "AND tbl_name = 'invoices_invoicerequest'"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        names = {row[0] for row in cursor.fetchall()}
    assert {"invoices_due_queue_insert", "invoices_due_queue_update"} <= names


def test_healthz_fails_when_a_trigger_of_the_queue_is_gone(client):
    assert client.get("/healthz").json()["overdue_without_ticket"]["queue_kept"] is True
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER invoices_due_queue_update ON invoices_invoicerequest")
        else:
            cursor.execute("DROP TRIGGER invoices_due_queue_update")
    response = client.get("/healthz")
    assert response.status_code == 503
    check = response.json()["overdue_without_ticket"]
    assert (check["ok"], check["queue_kept"]) == (False, False)


def test_a_request_of_a_shop_back_on_the_old_flow_gets_no_ticket(request_at_t0):
    # a write that raced the switch left an instant on it (the switch clears them)
    Shop.objects.for_system().filter(pk=request_at_t0.shop_id).update(new_flow_since=None)
    assert queue() == {request_at_t0.pk: request_at_t0.overdue_at}
    assert open_overdue_tickets(now=OPENED)["opened"] == 0
    with pytest.raises(DomainError):
        ticket_urge(invoice_request=request_at_t0, by=request_at_t0.consumer, at=OPENED)
    assert not UrgeTicket.objects.for_system().exists()


def test_a_deleted_request_takes_its_row_with_it(request_at_t0):
    InvoiceRequest.objects.for_system().filter(pk=request_at_t0.pk).delete()
    assert queue() == {}


# --- PostgreSQL: the idle run's plan ---------------------------------------------------------


@pytest.mark.postgres
def test_on_postgresql_the_idle_run_reads_an_empty_index_range(shop):
    # given 300 overdue requests that all have their ticket, and 300 not due for a month
    requests = [InvoiceRequestFactory(order__shop=shop, requested_at=T0) for _ in range(300)]
    for _ in range(300):
        InvoiceRequestFactory(order__shop=shop, requested_at=T0 + 30 * DAY)
    open_overdue_tickets(now=OPENED)
    assert len(requests) == UrgeTicket.objects.for_system().count()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE invoices_duerequest")
        cursor.execute("ANALYZE invoices_invoicerequest")
        cursor.execute("SET LOCAL enable_seqscan = off")  # as on a big table
    # when the job's claim is planned and run with nothing to do
    plan = due_requests(OPENED + DAY).explain(analyze=True)
    # then it scans the queue's index, in which nothing is due
    assert "ir_due_queue_idx" in plan, plan
    assert "rows=0 loops=1" in plan.split("ir_due_queue_idx")[1].split("\n")[0], plan
