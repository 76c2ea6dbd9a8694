"""/healthz reports disputes whose deadline passed long ago: the deadline job is not running."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from disputes.health import health_dispute_deadlines
from jdpop.health import CHECKS

from .factories import DisputeFactory

pytestmark = pytest.mark.django_db


def test_a_deadline_past_the_grace_period_is_not_ok(settings):
    settings.JDPOP_JOB_STALE_AFTER = timedelta(minutes=15)
    d = DisputeFactory()
    with time_machine.travel(d.merchant_due_at + timedelta(minutes=15), tick=False):
        assert health_dispute_deadlines()["ok"] is True
    with time_machine.travel(d.merchant_due_at + timedelta(minutes=16), tick=False):
        result = health_dispute_deadlines()
    assert (result["ok"], result["merchant_past_due"]) == (False, 1)


def test_the_check_is_registered():
    assert "dispute_deadlines" in [name for name, _check in CHECKS]


def test_a_promise_left_pending_past_the_grace_period_is_not_ok(settings):
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    settings.JDPOP_JOB_STALE_AFTER = timedelta(minutes=15)
    end = datetime(2025, 3, 11, tzinfo=ZoneInfo("Asia/Shanghai"))
    with time_machine.travel(end - timedelta(days=5), tick=False):
        DisputeFactory(
            state="closed",
            outcome="settled",
            closed_at=end - timedelta(days=5),
            plan="another_date",
            plan_date=date(2025, 3, 10),
            promise_due_at=end,
            promise_state="pending",
        )
    with time_machine.travel(end + timedelta(minutes=15), tick=False):
        assert health_dispute_deadlines()["ok"] is True
    with time_machine.travel(end + timedelta(minutes=16), tick=False):
        result = health_dispute_deadlines()
    assert (result["ok"], result["promises_past_due"]) == (False, 1)
