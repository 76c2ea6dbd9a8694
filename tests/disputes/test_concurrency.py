"""Spec 9 on PostgreSQL: racing opens, answers and job runs; exactly one wins, nothing twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import Conflict
from core.models import HistoryEntry
from disputes import services
from disputes.models import Dispute
from tests.concurrency import race
from tests.factories import merchant_of

from .factories import DisputeFactory, RefusedRequestFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_opens_at_once_make_one_dispute():
    r = RefusedRequestFactory()

    def open_it():
        return services.dispute_open(request=r, by=r.consumer, kind="refused", complaint="理由")

    results = race(open_it, open_it, open_it)
    assert sum(isinstance(x, Dispute) for x in results) == 1, results
    assert all(isinstance(x, Dispute | Conflict) for x in results), results
    assert Dispute.objects.for_system().count() == 1


def test_an_answer_racing_a_withdrawal_one_wins():
    d = DisputeFactory()
    owner = merchant_of(d.shop)
    results = race(
        lambda: services.dispute_answer(
            dispute=Dispute.objects.for_system().get(pk=d.pk),
            by=owner,
            plan="cannot_issue",
            note="无法开票",
        ),
        lambda: services.dispute_withdraw(
            dispute=Dispute.objects.for_system().get(pk=d.pk), by=d.consumer
        ),
    )
    assert sum(isinstance(x, Conflict) for x in results) == 1, results
    assert HistoryEntry.objects.for_system().filter(subject="dispute", subject_id=d.pk).count() == 1


def test_two_job_workers_at_once_record_each_lapse_once():
    from penalties.models import Penalty

    past = timezone.now() - timedelta(days=2)
    disputes = [DisputeFactory(opened_at=past) for _ in range(20)]

    def job():
        return services.disputes_enforce_deadlines(batch_size=3)

    results = race(job, job, job)
    assert sum(r["merchant_timed_out"] for r in results) == 20, results
    assert Penalty.objects.for_system().filter(kind="dispute_no_answer").count() == 20
    assert HistoryEntry.objects.for_system().filter(action="merchant_timed_out").count() == 20
    assert set(Dispute.objects.for_system().values_list("state", flat=True)) == {
        "awaiting_platform"
    }
    assert len(disputes) == 20


def test_two_job_workers_at_once_break_each_promise_once():
    from core.models import OutboxMessage
    from penalties.models import Penalty

    now = timezone.now()
    broken = [
        DisputeFactory(
            state="closed",
            outcome="settled",
            closed_at=now - timedelta(days=3),
            plan="another_date",
            plan_date=(now - timedelta(days=3)).date(),
            promise_due_at=now - timedelta(days=2),
            promise_state="pending",
        )
        for _ in range(20)
    ]

    def job():
        return services.disputes_enforce_deadlines(batch_size=3)

    results = race(job, job, job)
    assert sum(r["promises_broken"] for r in results) == 20, results
    assert Penalty.objects.for_system().filter(kind="broken_promise").count() == 20
    assert HistoryEntry.objects.for_system().filter(action="plan_promise_broken").count() == 20
    assert OutboxMessage.objects.filter(kind="dispute_promise_broken").count() == 20
    assert set(
        Dispute.objects.for_system()
        .filter(pk__in=[d.pk for d in broken])
        .values_list("promise_state", flat=True)
    ) == {"broken"}


def test_a_reopen_racing_itself_reopens_once():
    now = timezone.now()
    d = DisputeFactory(
        state="closed",
        outcome="settled",
        closed_at=now - timedelta(days=3),
        plan="another_date",
        plan_date=(now - timedelta(days=3)).date(),
        promise_due_at=now - timedelta(days=2),
        promise_state="broken",
        promise_broken_at=now - timedelta(days=1),
    )

    def reopen():
        return services.dispute_reopen(
            dispute=Dispute.objects.for_system().get(pk=d.pk), by=d.consumer
        )

    results = race(reopen, reopen, reopen)
    assert sum(isinstance(x, Dispute) for x in results) == 1, results
    assert all(isinstance(x, Dispute | Conflict) for x in results), results
    assert HistoryEntry.objects.for_system().filter(action="reopened").count() == 1
