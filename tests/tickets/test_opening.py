"""Spec 4.1–4.2: a ticket opens for every overdue request of a new-flow shop, exactly once,
by the beat job or at once by the consumer's urge."""

from __future__ import annotations

import pytest
import time_machine
from django.conf import settings

from core.errors import DomainError
from core.models import HistoryEntry, OutboxMessage
from invoices.rollout import shops_set_new_flow
from tests.factories import InvoiceRequestFactory, ShopFactory
from tickets.jobs import open_overdue_tickets
from tickets.models import UrgeTicket
from tickets.services import ticket_urge

from .conftest import DAY, SECOND, T0

pytestmark = pytest.mark.django_db
OVERDUE = settings.JDPOP_OVERDUE_AFTER


def test_exactly_ten_days_is_not_yet_overdue(request_at_t0):
    assert open_overdue_tickets(now=T0 + OVERDUE)["opened"] == 0
    assert not UrgeTicket.objects.for_system().exists()


def test_one_second_past_ten_days_opens_one_ticket_with_history_and_message(request_at_t0):
    now = T0 + OVERDUE + SECOND
    assert open_overdue_tickets(now=now)["opened"] == 1
    ticket = UrgeTicket.objects.for_system().get()
    assert ticket.request_id == request_at_t0.pk
    assert ticket.state == "awaiting_reply" and ticket.opened_via == "job"
    assert ticket.opened_at == now
    assert ticket.reply_due_at == now + settings.JDPOP_REPLY_WINDOW
    entry = HistoryEntry.objects.for_system().get(subject="ticket")
    assert (entry.action, entry.state_to, entry.subject_id) == (
        "ticket_opened",
        "awaiting_reply",
        ticket.pk,
    )
    assert OutboxMessage.objects.get().key == f"ticket:{ticket.pk}:opened"


def test_running_the_job_again_changes_nothing(request_at_t0):
    now = T0 + OVERDUE + SECOND
    open_overdue_tickets(now=now)
    assert open_overdue_tickets(now=now + DAY)["opened"] == 0
    assert UrgeTicket.objects.for_system().count() == 1
    assert HistoryEntry.objects.for_system().filter(subject="ticket").count() == 1


def test_no_ticket_on_the_old_flow():
    InvoiceRequestFactory(order__shop=ShopFactory(new_flow_since=None), requested_at=T0)
    assert open_overdue_tickets(now=T0 + 40 * DAY)["opened"] == 0


def test_a_shop_turned_on_later_counts_from_that_moment():
    shop = ShopFactory(new_flow_since=None)
    request = InvoiceRequestFactory(order__shop=shop, requested_at=T0 - 30 * DAY)
    turned_on = T0
    with time_machine.travel(turned_on, tick=False):
        shops_set_new_flow(shops=[shop], on=True, by=None)
    request.refresh_from_db()
    assert request.overdue_at == turned_on + OVERDUE
    assert open_overdue_tickets(now=turned_on + OVERDUE)["opened"] == 0
    assert open_overdue_tickets(now=turned_on + OVERDUE + SECOND)["opened"] == 1


def test_a_reissue_has_its_own_clock(shop):
    first = InvoiceRequestFactory(order__shop=shop, requested_at=T0, state="cancelled")
    reissue = InvoiceRequestFactory(
        order=first.order, kind="reissue", reissue_of=first, requested_at=T0 + 5 * DAY
    )
    assert open_overdue_tickets(now=T0 + OVERDUE + SECOND)["opened"] == 0
    assert open_overdue_tickets(now=T0 + 5 * DAY + OVERDUE + SECOND)["opened"] == 1
    assert UrgeTicket.objects.for_system().get().request_id == reissue.pk


def test_issued_and_refused_requests_get_no_ticket(shop):
    InvoiceRequestFactory(
        order__shop=shop, requested_at=T0, state="refused", refused_at=T0, refuse_reason="无"
    )
    assert open_overdue_tickets(now=T0 + 20 * DAY)["opened"] == 0


def test_runs_just_before_and_after_midnight_china_time(shop):
    # Requested 23:59:59 and 00:00:00 China time on consecutive days: ten days later each
    # opens on its own side of midnight.
    from datetime import datetime

    from .conftest import CHINA

    late = datetime(2026, 11, 3, 23, 59, 59, tzinfo=CHINA)
    early = datetime(2026, 11, 4, 0, 0, 0, tzinfo=CHINA)
    a = InvoiceRequestFactory(order__shop=shop, requested_at=late)
    b = InvoiceRequestFactory(order__shop=shop, requested_at=early)
    assert open_overdue_tickets(now=late + OVERDUE + SECOND)["opened"] == 1  # 00:00:00
    assert UrgeTicket.objects.for_system().get().request_id == a.pk
    assert open_overdue_tickets(now=early + OVERDUE)["opened"] == 0  # still exactly due
    assert open_overdue_tickets(now=early + OVERDUE + SECOND)["opened"] == 1
    assert set(UrgeTicket.objects.for_system().values_list("request_id", flat=True)) == {a.pk, b.pk}


def test_the_job_works_in_batches_until_the_backlog_is_done(shop):
    # Seven requests overdue at the same instant: batches of 3 walk them by id, none skipped.
    for _ in range(7):
        InvoiceRequestFactory(order__shop=shop, requested_at=T0)
    result = open_overdue_tickets(now=T0 + 11 * DAY, batch_size=3)
    assert result == {"opened": 7, "batches": 3}
    assert UrgeTicket.objects.for_system().count() == 7


def test_batches_step_over_requests_the_consumer_already_urged(shop):
    requests = [
        InvoiceRequestFactory(order__shop=shop, requested_at=T0 + i * SECOND) for i in range(8)
    ]
    now = T0 + 11 * DAY
    for r in requests[1::2]:
        ticket_urge(invoice_request=r, by=r.consumer, at=now)
    assert open_overdue_tickets(now=now, batch_size=2) == {"opened": 4, "batches": 3}
    assert set(UrgeTicket.objects.for_system().values_list("request_id", flat=True)) == {
        r.pk for r in requests
    }


def test_a_run_out_of_time_leaves_the_rest_to_the_next_run(shop):
    for _ in range(5):
        InvoiceRequestFactory(order__shop=shop, requested_at=T0)
    now = T0 + 11 * DAY
    assert open_overdue_tickets(now=now, batch_size=2, budget_seconds=0) == {
        "opened": 2,
        "batches": 1,
    }
    assert open_overdue_tickets(now=now, batch_size=2)["opened"] == 3


@pytest.mark.parametrize("n", [5, 50])
def test_queries_per_run_do_not_grow_with_the_backlog(shop, n, django_assert_max_num_queries):
    for _ in range(n):
        InvoiceRequestFactory(order__shop=shop, requested_at=T0)
    with django_assert_max_num_queries(12):
        assert open_overdue_tickets(now=T0 + 11 * DAY)["opened"] == n


# --- the consumer's urge ------------------------------------------------------------------


def test_urging_an_overdue_request_opens_the_ticket_at_once(request_at_t0):
    now = T0 + OVERDUE + SECOND
    ticket = ticket_urge(invoice_request=request_at_t0, by=request_at_t0.consumer, at=now)
    assert ticket.opened_via == "consumer" and ticket.urge_count == 1
    assert ticket.reply_due_at == now + settings.JDPOP_REPLY_WINDOW
    assert open_overdue_tickets(now=now)["opened"] == 0


def test_urging_again_counts_but_does_not_move_the_deadline(request_at_t0):
    now = T0 + OVERDUE + SECOND
    open_overdue_tickets(now=now)
    due = UrgeTicket.objects.for_system().get().reply_due_at
    ticket_urge(invoice_request=request_at_t0, by=request_at_t0.consumer, at=now + 3600 * SECOND)
    ticket = ticket_urge(
        invoice_request=request_at_t0, by=request_at_t0.consumer, at=now + 7200 * SECOND
    )
    assert ticket.urge_count == 2 and ticket.reply_due_at == due
    assert UrgeTicket.objects.for_system().count() == 1
    assert HistoryEntry.objects.for_system().filter(action="ticket_urged").count() == 2


def test_urging_before_ten_days_is_refused_and_changes_nothing(request_at_t0):
    with pytest.raises(DomainError) as e:
        ticket_urge(invoice_request=request_at_t0, by=request_at_t0.consumer, at=T0 + OVERDUE)
    assert e.value.code == "not_overdue"
    assert not UrgeTicket.objects.for_system().exists()


def test_only_the_requests_consumer_may_urge(request_at_t0, merchant):
    from invoices.models import InvoiceRequest

    with pytest.raises(InvoiceRequest.DoesNotExist):
        ticket_urge(invoice_request=request_at_t0, by=merchant, at=T0 + 11 * DAY)
