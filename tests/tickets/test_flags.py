"""Spec 4.4–4.5: every ticket whose window passed unanswered is breached, every broken promise is
flagged, each with one proposed penalty, however often the jobs run."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from core.models import HistoryEntry
from penalties.models import Penalty
from tickets.jobs import flag_broken_promises, flag_missed_replies, open_overdue_tickets
from tickets.models import UrgeTicket
from tickets.services import ticket_reply

from .conftest import CHINA, DAY, DUE, OPENED, SECOND, T0

pytestmark = pytest.mark.django_db


def test_a_ticket_due_exactly_now_is_not_missed(ticket):
    assert flag_missed_replies(now=DUE)["flagged"] == 0
    ticket.refresh_from_db()
    assert ticket.state == "awaiting_reply"


def test_one_second_past_the_deadline_the_ticket_is_breached_with_a_penalty(ticket):
    result = flag_missed_replies(now=DUE + SECOND)
    assert (result["flagged"], result["penalties"]) == (1, 1)
    ticket.refresh_from_db()
    assert (ticket.state, ticket.sla, ticket.sla_at) == ("breached", "missed", DUE + SECOND)
    penalty = Penalty.objects.for_system().get()
    assert (penalty.kind, penalty.ticket_id, penalty.shop_id) == (
        "no_reply",
        ticket.pk,
        ticket.shop_id,
    )
    entry = HistoryEntry.objects.for_system().get(action="ticket_breached")
    assert (entry.state_from, entry.state_to, entry.subject_id) == (
        "awaiting_reply",
        "breached",
        ticket.pk,
    )


def test_flagging_twice_records_one_penalty(ticket):
    flag_missed_replies(now=DUE + SECOND)
    assert flag_missed_replies(now=DUE + DAY) == {"flagged": 0, "batches": 1}
    assert Penalty.objects.for_system().count() == 1


def test_an_answered_ticket_is_never_flagged(ticket, merchant):
    ticket_reply(ticket=ticket, by=merchant, resolution="cannot_issue", note="无法开具", at=DUE)
    assert flag_missed_replies(now=DUE + DAY)["flagged"] == 0


@pytest.mark.parametrize("n", [5, 50])
def test_queries_per_flag_run_do_not_grow(shop, n, django_assert_max_num_queries):
    from tests.factories import InvoiceRequestFactory

    for _ in range(n):
        InvoiceRequestFactory(order__shop=shop, requested_at=T0)
    open_overdue_tickets(now=OPENED)
    with django_assert_max_num_queries(14):
        assert flag_missed_replies(now=DUE + SECOND)["flagged"] == n


# --- promises ----------------------------------------------------------------------------

PROMISED = date(2026, 11, 20)
END_OF_PROMISED_DAY = datetime(2026, 11, 21, 0, 0, tzinfo=CHINA)


def promise(ticket, merchant, *, at: datetime, on: date = PROMISED, note: str = "20号开"):
    """The merchant replies 已协商开票时间, promising to issue the invoice on `on`."""
    return ticket_reply(
        ticket=ticket, by=merchant, resolution="date_agreed", note=note, promised_date=on, at=at
    )


@pytest.fixture
def promised(ticket, merchant) -> UrgeTicket:
    promise(ticket, merchant, at=DUE - SECOND)
    ticket.refresh_from_db()
    return ticket


def test_the_promise_stands_until_the_promised_day_ends_in_china(promised):
    assert promised.promise_due_at == END_OF_PROMISED_DAY
    assert flag_broken_promises(now=END_OF_PROMISED_DAY - SECOND)["flagged"] == 0  # 23:59:59


def test_at_midnight_china_time_the_promise_is_broken_with_a_penalty(promised):
    result = flag_broken_promises(now=END_OF_PROMISED_DAY)
    assert (result["flagged"], result["penalties"]) == (1, 1)
    promised.refresh_from_db()
    assert promised.promise_state == "broken"
    assert Penalty.objects.for_system().get().kind == "broken_promise"
    assert flag_broken_promises(now=END_OF_PROMISED_DAY + DAY)["flagged"] == 0
    assert Penalty.objects.for_system().count() == 1


def test_a_promise_kept_by_uploading_is_not_flagged(promised, merchant):
    import time_machine

    from .conftest import upload_invoice

    with time_machine.travel(END_OF_PROMISED_DAY - SECOND, tick=False):
        upload_invoice(promised.request, merchant)
    assert flag_broken_promises(now=END_OF_PROMISED_DAY + DAY)["flagged"] == 0
    promised.refresh_from_db()
    assert promised.promise_state == "kept"


def test_a_new_date_after_a_broken_promise_does_not_wipe_the_breach(promised, merchant):
    flag_broken_promises(now=END_OF_PROMISED_DAY)
    promise(
        promised, merchant, at=END_OF_PROMISED_DAY + SECOND, on=date(2026, 11, 25), note="改到25号"
    )
    promised.refresh_from_db()
    assert promised.promise_state == "broken" and promised.promised_date == PROMISED
    assert flag_broken_promises(now=END_OF_PROMISED_DAY + 10 * DAY)["flagged"] == 0
    assert Penalty.objects.for_system().filter(kind="broken_promise").count() == 1


def test_a_promise_replaced_before_its_end_runs_from_the_new_date(promised, merchant):
    promise(
        promised, merchant, at=END_OF_PROMISED_DAY - SECOND, on=date(2026, 11, 25), note="改到25号"
    )
    assert flag_broken_promises(now=END_OF_PROMISED_DAY)["flagged"] == 0
    assert flag_broken_promises(now=datetime(2026, 11, 26, tzinfo=CHINA))["flagged"] == 1


def test_a_breached_ticket_can_still_break_a_late_promise(ticket, merchant):
    # Given a ticket breached by the job, then a late reply promising a date
    flag_missed_replies(now=DUE + SECOND)
    promise(ticket, merchant, at=DUE + DAY)
    # When the promised day ends in China with no invoice
    result = flag_broken_promises(now=END_OF_PROMISED_DAY)
    # Then the promise is broken too: two penalties, one per violation
    assert (result["flagged"], result["penalties"]) == (1, 1)
    ticket.refresh_from_db()
    assert (ticket.state, ticket.promise_state) == ("breached", "broken")
    assert ticket.promise_broken_at == END_OF_PROMISED_DAY
    assert sorted(Penalty.objects.for_system().values_list("kind", flat=True)) == [
        "broken_promise",
        "no_reply",
    ]
    entry = HistoryEntry.objects.for_system().get(action="promise_broken")
    assert (entry.state_from, entry.state_to, entry.subject_id) == ("pending", "broken", ticket.pk)


@pytest.mark.parametrize("n", [5, 50])
def test_queries_per_promise_run_do_not_grow(shop, merchant, n, django_assert_max_num_queries):
    from tests.factories import InvoiceRequestFactory

    for _ in range(n):
        InvoiceRequestFactory(order__shop=shop, requested_at=T0)
    open_overdue_tickets(now=OPENED)
    for t in UrgeTicket.objects.for_system().all():
        promise(t, merchant, at=DUE - SECOND)
    with django_assert_max_num_queries(14):
        assert flag_broken_promises(now=END_OF_PROMISED_DAY)["flagged"] == n
