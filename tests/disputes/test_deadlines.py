"""Spec 5, 9: the deadline job, exactly at and one second past each deadline; idempotent."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command

from core.models import HistoryEntry
from disputes import services
from disputes.models import Dispute
from jdpop.celery import app as celery_app
from penalties.models import Penalty

from .factories import DisputeFactory, dispute_in

pytestmark = pytest.mark.django_db

# What a run that finds nothing due reports.
NOTHING = {"merchant_timed_out": 0, "settled_by_lapse": 0, "promises_kept": 0, "promises_broken": 0}

T0 = datetime(2025, 3, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def run(at: datetime) -> dict[str, int]:
    with time_machine.travel(at, tick=False):
        return services.disputes_enforce_deadlines()


def dispute_history(d: Dispute) -> list[str]:
    return list(
        HistoryEntry.objects.for_system()
        .filter(subject="dispute", subject_id=d.pk)
        .values_list("action", flat=True)
    )


def test_exactly_at_the_merchant_deadline_nothing_happens():
    d = DisputeFactory(opened_at=T0)
    assert run(d.merchant_due_at) == NOTHING
    assert Dispute.objects.for_system().get(pk=d.pk).state == "awaiting_merchant"
    assert not Penalty.objects.for_system().exists()


def test_one_second_past_the_merchant_deadline_the_platform_has_it_with_a_penalty():
    # given a dispute the merchant has not answered
    d = DisputeFactory(opened_at=T0)
    past = d.merchant_due_at + timedelta(seconds=1)
    # when the job runs one second past the deadline
    assert run(past)["merchant_timed_out"] == 1
    # then the platform has it, proposed liable for no reply, with one penalty and one entry
    d.refresh_from_db()
    assert (d.state, d.whose_move, d.platform_since) == ("awaiting_platform", "platform", past)
    assert (d.proposed_verdict, d.proposed_reason_code) == ("liable", "no_reply")
    [penalty] = Penalty.objects.for_system().all()
    assert (penalty.shop_id, penalty.kind, penalty.dispute_id) == (
        d.shop_id,
        "dispute_no_answer",
        d.pk,
    )
    assert dispute_history(d) == ["merchant_timed_out"]
    entry = HistoryEntry.objects.for_system().get(subject="dispute", subject_id=d.pk)
    assert (entry.state_from, entry.state_to, entry.actor, entry.at) == (
        "awaiting_merchant",
        "awaiting_platform",
        None,
        past,
    )


def test_exactly_at_the_consumer_deadline_nothing_happens():
    d = dispute_in("awaiting_consumer")
    assert run(d.consumer_due_at)["settled_by_lapse"] == 0
    assert Dispute.objects.for_system().get(pk=d.pk).state == "awaiting_consumer"


def test_one_second_past_the_consumer_deadline_the_plan_counts_as_accepted():
    d = dispute_in("awaiting_consumer")
    past = d.consumer_due_at + timedelta(seconds=1)
    assert run(past)["settled_by_lapse"] == 1
    d.refresh_from_db()
    assert (d.state, d.outcome, d.closed_at) == ("closed", "settled_by_lapse", past)
    assert dispute_history(d) == ["settlement_deemed_accepted"]
    assert not Penalty.objects.for_system().exists()


def test_running_twice_changes_nothing_more():
    # given two lapsed merchant deadlines and one lapsed consumer deadline
    a, b = DisputeFactory(opened_at=T0), DisputeFactory(opened_at=T0)
    c = dispute_in("awaiting_consumer", consumer_due_at=T0)
    later = T0 + timedelta(days=5)
    # when the job runs twice (in small batches)
    with time_machine.travel(later, tick=False):
        first = services.disputes_enforce_deadlines(batch_size=1)
        second = services.disputes_enforce_deadlines(batch_size=1)
    # then the second run finds nothing: one penalty per dispute, one history row each
    assert first == {**NOTHING, "merchant_timed_out": 2, "settled_by_lapse": 1, "penalties": 2}
    assert second == NOTHING
    assert sorted(Penalty.objects.for_system().values_list("dispute_id", flat=True)) == sorted(
        [a.pk, b.pk]
    )
    for d in (a, b, c):
        assert len(dispute_history(d)) == 1


def test_other_states_are_left_alone():
    untouched = [dispute_in(s, merchant_due_at=T0) for s in ("awaiting_platform", "closed")]
    run(T0 + timedelta(days=30))
    assert [Dispute.objects.for_system().get(pk=d.pk).state for d in untouched] == [
        "awaiting_platform",
        "closed",
    ]


def test_the_command_runs_as_of_a_given_instant_and_prints_one_json_line():
    d = DisputeFactory(opened_at=T0)
    out = StringIO()
    call_command("enforce_dispute_deadlines", "--as-of", "2025-03-02T10:00:01+08:00", stdout=out)
    [line] = out.getvalue().splitlines()
    result = json.loads(line)
    assert (result["merchant_timed_out"], result["settled_by_lapse"]) == (1, 0)
    assert Dispute.objects.for_system().get(pk=d.pk).state == "awaiting_platform"


def test_a_naive_as_of_is_china_time():
    d = DisputeFactory(opened_at=T0)  # due 2025-03-02 10:00 China time
    out = StringIO()
    call_command("enforce_dispute_deadlines", "--as-of", "2025-03-02T10:00:00", stdout=out)
    assert json.loads(out.getvalue())["merchant_timed_out"] == 0
    call_command("enforce_dispute_deadlines", "--as-of", "2025-03-02T10:00:01", stdout=out)
    assert Dispute.objects.for_system().get(pk=d.pk).state == "awaiting_platform"


def test_the_celery_task_calls_the_job():
    d = DisputeFactory(opened_at=T0)
    with time_machine.travel(d.merchant_due_at + timedelta(minutes=1), tick=False):
        result = celery_app.tasks["disputes.enforce_deadlines"].apply().get()
    assert result["merchant_timed_out"] == 1


def test_the_command_records_the_run():
    from core.models import JobRun

    call_command(
        "enforce_dispute_deadlines", "--as-of", "2025-03-02T10:00:01+08:00", stdout=StringIO()
    )
    [run] = JobRun.objects.filter(name="enforce_dispute_deadlines")
    assert run.ok is True and run.counts == NOTHING


def test_beat_runs_the_task_every_minute_and_a_late_run_expires():
    from django.conf import settings

    from jdpop.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["disputes.enforce_deadlines"]
    assert entry["task"] == "disputes.enforce_deadlines" in app.tasks
    assert 0 < entry["options"]["expire_seconds"] < entry["schedule"]
