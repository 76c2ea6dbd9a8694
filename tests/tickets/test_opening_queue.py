"""Issue 14, item 4: the opening job's queue. A request leaves it in the batch that opens its
ticket, so a run with nothing to do reads nothing, however many tickets are open."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from invoices.models import InvoiceRequest
from tests.factories import InvoiceRequestFactory
from tickets.jobs import open_overdue_tickets
from tickets.models import UrgeTicket
from tickets.services import ticket_urge
from tickets.services.opening import due_requests

from .conftest import DAY, OPENED, SECOND, T0

pytestmark = pytest.mark.django_db


@pytest.fixture
def opened(shop) -> list[InvoiceRequest]:
    requests = [
        InvoiceRequestFactory(order__shop=shop, requested_at=T0 + i * SECOND) for i in range(30)
    ]
    assert open_overdue_tickets(now=OPENED + DAY)["opened"] == 30
    return requests


def test_a_request_leaves_the_queue_with_its_ticket(opened):
    now = OPENED + 5 * DAY
    assert InvoiceRequest.objects.for_system().overdue(now).count() == 30  # still overdue
    assert not due_requests(now).exists()
    marks = InvoiceRequest.objects.for_system().values_list("ticket_opened_at", flat=True)
    assert set(marks) == {OPENED + DAY}


def test_the_consumers_urge_marks_the_request_too(request_at_t0):
    ticket_urge(invoice_request=request_at_t0, by=request_at_t0.consumer, at=OPENED)
    assert not due_requests(OPENED).exists()
    assert open_overdue_tickets(now=OPENED + DAY)["opened"] == 0


def test_an_idle_run_is_one_query_that_reads_no_ticket(opened):
    with CaptureQueriesContext(connection) as queries:
        assert open_overdue_tickets(now=OPENED + 5 * DAY) == {"opened": 0, "batches": 1}
    reads = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert len(reads) == 1, reads
    assert UrgeTicket._meta.db_table not in reads[0]  # no probe of the tickets per request
    assert "ticket_opened_at" in reads[0]


def test_a_ticket_made_elsewhere_is_marked_when_the_job_meets_it(request_at_t0):
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
    assert not due_requests(OPENED + DAY).exists()


@pytest.mark.postgres
def test_on_postgresql_the_idle_run_reads_an_empty_partial_index(shop):
    # given 300 overdue requests that all have their ticket
    requests = [InvoiceRequestFactory(order__shop=shop, requested_at=T0) for _ in range(300)]
    open_overdue_tickets(now=OPENED)
    assert len(requests) == UrgeTicket.objects.for_system().count()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE invoices_invoicerequest")
    # when the job's claim is planned and run with nothing to do
    plan = due_requests(OPENED + DAY).explain(analyze=True)
    # then it scans the job's partial index, which holds none of them
    assert "ir_ticket_due_idx" in plan, plan
    assert "rows=0 loops=1" in plan.split("ir_ticket_due_idx")[1].split("\n")[0], plan
