"""Exactly once on PostgreSQL: two jobs at once, the consumer's urge racing the job, two flag
runs at once, and a run killed half-way all leave one ticket, one flag and one penalty."""

from __future__ import annotations

import pytest
from django.db import transaction

from core.models import HistoryEntry, OutboxMessage
from invoices.models import InvoiceRequest
from penalties.models import Penalty
from tests.factories import InvoiceRequestFactory
from tests.invoices.test_concurrency import race
from tickets.jobs import flag_missed_replies, open_overdue_tickets
from tickets.models import UrgeTicket
from tickets.services import ticket_urge

from .conftest import DUE, OPENED, SECOND, T0

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def backlog(shop) -> list[int]:
    return [InvoiceRequestFactory(order__shop=shop, requested_at=T0).pk for _ in range(60)]


def test_two_opening_jobs_at_once_open_each_ticket_once(backlog):
    results = race(
        lambda: open_overdue_tickets(now=OPENED, batch_size=7),
        lambda: open_overdue_tickets(now=OPENED, batch_size=7),
    )
    assert sum(r["opened"] for r in results) == 60, results
    assert UrgeTicket.objects.for_system().count() == 60
    assert HistoryEntry.objects.for_system().filter(action="ticket_opened").count() == 60
    assert OutboxMessage.objects.count() == 60


def test_the_consumers_urge_racing_the_job_leaves_one_ticket(request_at_t0):
    results = race(
        lambda: open_overdue_tickets(now=OPENED),
        lambda: ticket_urge(
            invoice_request=InvoiceRequest.objects.for_system().get(pk=request_at_t0.pk),
            by=request_at_t0.consumer,
            at=OPENED,
        ),
    )
    assert not any(isinstance(r, Exception) for r in results), results
    ticket = UrgeTicket.objects.for_system().get()
    assert ticket.urge_count == 1
    assert HistoryEntry.objects.for_system().filter(action="ticket_opened").count() == 1


def test_two_flag_runs_at_once_record_one_penalty_per_ticket(backlog):
    open_overdue_tickets(now=OPENED)
    results = race(
        lambda: flag_missed_replies(now=DUE + SECOND, batch_size=7),
        lambda: flag_missed_replies(now=DUE + SECOND, batch_size=7),
    )
    assert sum(r["flagged"] for r in results) == 60, results
    assert Penalty.objects.for_system().filter(kind="no_reply").count() == 60
    assert HistoryEntry.objects.for_system().filter(action="ticket_breached").count() == 60


def test_a_run_killed_half_way_leaves_no_trace_and_the_next_run_finishes(backlog):
    class Killed(Exception):
        pass

    with pytest.raises(Killed), transaction.atomic():
        open_overdue_tickets(now=OPENED, batch_size=10, budget_seconds=0)
        raise Killed  # the worker dies before the batch commits
    assert (
        not UrgeTicket.objects.for_system().exists()
        and not HistoryEntry.objects.for_system().exists()
    )
    assert open_overdue_tickets(now=OPENED)["opened"] == 60
    assert open_overdue_tickets(now=OPENED)["opened"] == 0


def test_the_job_never_opens_a_ticket_for_a_request_being_issued(request_at_t0, merchant):
    # Given the merchant's upload is committing (the request row is locked, no ticket seen)
    import threading

    import time_machine
    from django.db import connections

    from invoices.services import invoice_request_issue

    from .conftest import pdf

    uploading, finish = threading.Event(), threading.Event()

    def upload() -> None:
        try:
            with time_machine.travel(OPENED, tick=False), transaction.atomic():
                invoice_request_issue(
                    invoice_request=InvoiceRequest.objects.for_system().get(pk=request_at_t0.pk),
                    by=merchant,
                    file=pdf(),
                    invoice_number="12345678901234567890",
                )
                uploading.set()
                finish.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=upload)
    thread.start()
    assert uploading.wait(10)
    # When the job runs meanwhile
    opened = open_overdue_tickets(now=OPENED + SECOND)
    finish.set()
    thread.join(10)
    # Then it leaves the request alone, and once the upload commits there is nothing to open
    assert opened["opened"] == 0
    assert InvoiceRequest.objects.for_system().get(pk=request_at_t0.pk).state == "issued"
    assert open_overdue_tickets(now=OPENED + SECOND)["opened"] == 0
    assert not UrgeTicket.objects.for_system().exists()
