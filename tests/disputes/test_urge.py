"""Spec 5: urge disputes (催开票纠纷): opened after the ticket, judged from its record."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from core.errors import Conflict, DomainError
from disputes import services
from disputes.models import Dispute
from penalties.models import Penalty
from tests.factories import InvoiceRequestFactory, merchant_of

from .factories import urge_request

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

BREACHED = {"state": "breached", "sla": "missed", "resolution": ""}
LATE = {"sla": "late", "resolution": "no_invoice_needed"}
BROKEN = {"resolution": "date_agreed", "promise_state": "broken"}
CONTESTED = {"resolution": "cannot_issue"}
IN_TIME = {"resolution": "issued", "sla": "met"}
OPEN = {"state": "awaiting_reply", "sla": "", "resolution": ""}


def open_urge(request):
    return services.dispute_open(
        request=request, by=request.consumer, kind="urge", complaint="商家一直不开票"
    )


@pytest.mark.parametrize(
    ("record", "verdict", "reason_code"),
    [
        (BREACHED, "liable", "no_reply"),
        (LATE, "liable", "late_reply"),
        (BROKEN, "liable", "broken_promise"),
        (CONTESTED, "needs_person", "contested"),
        (IN_TIME, "not_liable", "issued_in_time"),
    ],
)
def test_an_urge_dispute_goes_to_the_platform_with_the_proposed_verdict(
    record, verdict, reason_code
):
    # given a ticket with an outcome the consumer disputes
    r = urge_request(**record)
    # when the consumer opens an urge dispute
    d = open_urge(r)
    # then the platform has it, with the system's proposal and no merchant deadline
    assert (d.kind, d.state, d.whose_move, d.deadline) == (
        "urge",
        "awaiting_platform",
        "platform",
        None,
    )
    assert (d.proposed_verdict, d.proposed_reason_code) == (verdict, reason_code)
    assert d.ticket.pk == r.urge_ticket.pk


def test_a_ticket_inside_its_window_has_no_outcome_to_dispute_yet():
    # given a ticket opened at T0, awaiting its reply
    r = urge_request(**OPEN, opened_at=T0)
    due = r.urge_ticket.reply_due_at
    # when the consumer tries to dispute it up to and including its due instant, then no
    for at in (T0, due):
        with time_machine.travel(at, tick=False):
            with pytest.raises(Conflict) as e:
                open_urge(r)
            assert e.value.code == "ticket_open"
            assert services.dispute_opening_problem(request=r, kind="urge").code == "ticket_open"
    assert not Dispute.objects.for_system().exists()


def test_one_second_past_the_window_an_unflagged_ticket_may_be_disputed():
    # given a ticket whose window passed a second ago, not yet flagged by the job
    r = urge_request(**OPEN, opened_at=T0)
    with time_machine.travel(r.urge_ticket.reply_due_at + timedelta(seconds=1), tick=False):
        assert services.dispute_opening_problem(request=r, kind="urge") is None
        d = open_urge(r)
    # then the platform has it, proposed liable for no reply
    assert (d.state, d.proposed_verdict, d.proposed_reason_code) == (
        "awaiting_platform",
        "liable",
        "no_reply",
    )


def test_no_ticket_no_urge_dispute():
    with pytest.raises(Conflict) as e:
        open_urge(InvoiceRequestFactory())
    assert e.value.code == "no_ticket"


def test_an_urge_dispute_has_no_plans():
    d = open_urge(urge_request(**CONTESTED))
    with pytest.raises(DomainError):
        services.dispute_answer(dispute=d, by=merchant_of(d.shop), plan="cannot_issue", note="x")


@pytest.mark.parametrize(
    ("record", "verdict"), [(BREACHED, "liable"), (IN_TIME, "not_liable"), (CONTESTED, None)]
)
def test_clear_cases_are_judged_at_once_when_the_setting_says_so(settings, record, verdict):
    # given automatic judgment of clear cases
    settings.JDPOP_AUTO_JUDGE_CLEAR_CASES = True
    # when the consumer opens an urge dispute
    d = open_urge(urge_request(**record))
    # then a clear case is judged and closed by the system, a person's case waits
    if verdict:
        assert (d.state, d.verdict, d.judged_by, d.outcome) == ("closed", verdict, None, "judged")
        assert d.reason  # a written reason both sides read
        penalties = Penalty.objects.for_system().filter(dispute_id=d.pk, kind="no_reply").count()
        assert penalties == (1 if verdict == "liable" else 0)
    else:
        assert d.state == "awaiting_platform"
        assert not Penalty.objects.for_system().exists()


def test_by_default_even_clear_cases_wait_for_an_arbitrator():
    d = open_urge(urge_request(**BREACHED))
    assert d.state == "awaiting_platform"
    assert not Penalty.objects.for_system().exists()


def test_a_complaint_is_required_for_an_urge_dispute_too():
    r = urge_request(**BREACHED)
    with pytest.raises(ValidationError):
        services.dispute_open(request=r, by=r.consumer, kind="urge", complaint="")
