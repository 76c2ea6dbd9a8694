"""Spec 5: every transition of the dispute state machine, and that the others are Conflicts
that change nothing."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from core.errors import Conflict
from core.models import HistoryEntry
from disputes import services
from disputes.models import Dispute
from tests.factories import merchant_of

from .factories import EvidenceFactory, dispute_in

pytestmark = pytest.mark.django_db

S = Dispute.State


def _settle(d, owner, consumer, arbitrator):
    return services.dispute_answer(dispute=d, by=owner, plan="cannot_issue", note="设备故障")


def _send_to_platform(d, owner, consumer, arbitrator):
    EvidenceFactory(dispute=d, author=owner)
    return services.dispute_answer(dispute=d, by=owner, plan="platform_judge", note="请平台判责")


def _accept(d, owner, consumer, arbitrator):
    return services.dispute_accept(dispute=d, by=consumer)


def _reject(d, owner, consumer, arbitrator):
    return services.dispute_reject(dispute=d, by=consumer, note="我没有同意")


def _judge(d, owner, consumer, arbitrator):
    return services.dispute_judge(
        dispute=d,
        by=arbitrator,
        verdict="not_liable",
        reason_code="refusal_justified",
        reason="订单已全额退款，无需开票",
    )


def _withdraw(d, owner, consumer, arbitrator):
    return services.dispute_withdraw(dispute=d, by=consumer)


def _reopen(d, owner, consumer, arbitrator):
    return services.dispute_reopen(dispute=d, by=consumer)


# What a closed dispute needs for `reopened` to be allowed: a settled plan whose promise broke.
BROKEN_PROMISE = {
    "outcome": "settled",
    "plan": "another_date",
    "plan_date": date(2025, 3, 10),
    "promise_due_at": datetime(2025, 3, 11, tzinfo=ZoneInfo("Asia/Shanghai")),
    "promise_state": "broken",
}


# The services people call, by the transition they perform (the two lapses are the job's).
ACTIONS = {
    "settlement_proposed": _settle,
    "sent_to_platform": _send_to_platform,
    "settlement_accepted": _accept,
    "settlement_rejected": _reject,
    "judged": _judge,
    "withdrawn": _withdraw,
    "reopened": _reopen,
}
CASES = [(state, action) for state in S.values for action in ACTIONS]


def test_the_transitions_are_data_and_every_one_is_reachable():
    targets = {target for _sources, target in Dispute.TRANSITIONS.values()}
    assert targets == {S.AWAITING_CONSUMER, S.AWAITING_PLATFORM, S.CLOSED}
    assert Dispute.TERMINAL_STATE == S.CLOSED
    # closed is terminal but for one step: a settled plan's broken promise, reopened once
    leaving_closed = [a for a, (sources, _t) in Dispute.TRANSITIONS.items() if S.CLOSED in sources]
    assert leaving_closed == ["reopened"]
    assert set(ACTIONS) | {"merchant_timed_out", "settlement_deemed_accepted"} == set(
        Dispute.TRANSITIONS
    )


@pytest.mark.parametrize(("state", "action"), CASES)
def test_each_action_from_each_state(state, action, arbitrator):
    # given a dispute in `state` (closed with a broken promise for reopening)
    d = dispute_in(state, **(BROKEN_PROMISE if (state, action) == ("closed", "reopened") else {}))
    owner = merchant_of(d.shop)
    sources, target = Dispute.TRANSITIONS[action]
    history = HistoryEntry.objects.for_system().filter(subject="dispute", subject_id=d.pk)
    before = history.count()
    if state in sources:
        # when the action is allowed, then the dispute moves and one history row says so
        result = ACTIONS[action](d, owner, d.consumer, arbitrator)
        assert result.state == target == Dispute.objects.for_system().get(pk=d.pk).state
        entry = history.filter(action=action).get()
        assert (entry.state_from, entry.state_to) == (state, target)
        assert entry.request_id == d.request_id
    else:
        # when it is not, then it is a Conflict and nothing changes
        with pytest.raises(Conflict):
            ACTIONS[action](d, owner, d.consumer, arbitrator)
        assert Dispute.objects.for_system().get(pk=d.pk).state == state
        assert history.count() == before
