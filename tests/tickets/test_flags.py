"""Spec 4.4–4.5: every ticket whose window passed unanswered is breached, every broken promise is
flagged, each with one proposed penalty, however often the jobs run."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.conf import settings

from invoices.models import HistoryEntry
from tickets.jobs import flag_broken_promises, flag_missed_replies, open_overdue_tickets
from tickets.models import Penalty, UrgeTicket
from tickets.services import ticket_reply

from .conftest import CHINA, DAY, SECOND, T0

pytestmark = pytest.mark.django_db
OPENED = T0 + settings.JDPOP_OVERDUE_AFTER + SECOND
DUE = OPENED + settings.JDPOP_REPLY_WINDOW


@pytest.fixture
def ticket(request_at_t0) -> UrgeTicket:
    open_overdue_tickets(now=OPENED)
    return UrgeTicket.objects.get()


def test_a_ticket_due_exactly_now_is_not_missed(ticket):
    assert flag_missed_replies(now=DUE)["flagged"] == 0
    ticket.refresh_from_db()
    assert ticket.state == "awaiting_reply"


def test_one_second_past_the_deadline_the_ticket_is_breached_with_a_penalty(ticket):
    result = flag_missed_replies(now=DUE + SECOND)
    assert (result["flagged"], result["penalties"]) == (1, 1)
    ticket.refresh_from_db()
    assert (ticket.state, ticket.sla, ticket.sla_at) == ("breached", "missed", DUE + SECOND)
    penalty = Penalty.objects.get()
    assert (penalty.kind, penalty.ticket_id, penalty.shop_id) == (
        "no_reply",
        ticket.pk,
        ticket.shop_id,
    )
    entry = HistoryEntry.objects.get(action="ticket_breached")
    assert (entry.state_from, entry.state_to, entry.subject_id) == (
        "awaiting_reply",
        "breached",
        ticket.pk,
    )


def test_flagging_twice_records_one_penalty(ticket):
    flag_missed_replies(now=DUE + SECOND)
    assert flag_missed_replies(now=DUE + DAY) == {"flagged": 0, "penalties": 0, "batches": 1}
    assert Penalty.objects.count() == 1


def test_an_answered_ticket_is_never_flagged(ticket, merchant):
    ticket_reply(ticket=ticket, by=merchant, resolution="cannot_issue", note="无法开具", at=DUE)
    assert flag_missed_replies(now=DUE + DAY)["flagged"] == 0


@pytest.mark.parametrize("n", [5, 40])
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


@pytest.fixture
def promised(ticket, merchant) -> UrgeTicket:
    ticket_reply(
        ticket=ticket,
        by=merchant,
        resolution="date_agreed",
        note="20号开",
        promised_date=PROMISED,
        at=DUE - SECOND,
    )
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
    assert Penalty.objects.get().kind == "broken_promise"
    assert flag_broken_promises(now=END_OF_PROMISED_DAY + DAY)["flagged"] == 0
    assert Penalty.objects.count() == 1


def test_a_promise_kept_by_uploading_is_not_flagged(promised, merchant):
    import time_machine

    from invoices.services import invoice_request_issue

    from .conftest import pdf

    with time_machine.travel(END_OF_PROMISED_DAY - SECOND, tick=False):
        invoice_request_issue(
            invoice_request=promised.request,
            by=merchant,
            file=pdf(),
            invoice_number="12345678901234567890",
        )
    assert flag_broken_promises(now=END_OF_PROMISED_DAY + DAY)["flagged"] == 0
    promised.refresh_from_db()
    assert promised.promise_state == "kept"
