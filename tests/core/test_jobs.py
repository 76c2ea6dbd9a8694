"""One runner for every app's jobs (core.jobs): a registry, a record of each run, and a run
whose worker was killed half-way marked abandoned after its time limit, shown in /healthz."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from core.jobs import JOBS, job_run
from core.models import JobRun

pytestmark = pytest.mark.django_db


def killed_run(name: str = "flag_missed_replies", *, ago: timedelta) -> JobRun:
    """A run whose worker died: started, never finished."""
    at = timezone.now() - ago
    return JobRun.objects.create(name=name, as_of=at, started_at=at)


def test_every_apps_jobs_are_in_the_one_registry():
    assert set(JOBS) == {
        "open_overdue_tickets",
        "flag_missed_replies",
        "flag_broken_promises",
        "send_ticket_reminders",
        "drain_outbox",
        "enforce_dispute_deadlines",
        "deliver_webhooks",
        "resume_bulk_uploads",
        "prune_idempotency_keys",
        "roll_up_category_sales",
    }


def test_a_killed_run_is_marked_abandoned_once_past_its_time_limit(settings, client):
    settings.JDPOP_JOB_TIME_LIMIT = timedelta(minutes=5)
    old = killed_run(ago=timedelta(minutes=5, seconds=1))
    young = killed_run(ago=timedelta(minutes=4, seconds=59))
    # the next run of any job looks after the dead ones
    job_run("drain_outbox", lambda *, now: {}, now=timezone.now())
    old.refresh_from_db()
    young.refresh_from_db()
    assert (old.ok, old.abandoned, old.finished_at is not None) == (False, True, True)
    assert "abandoned" in old.error
    assert (young.ok, young.abandoned, young.finished_at) == (None, False, None)
    # and /healthz names it while it is recent
    abandoned = client.get("/healthz").json()["jobs"]["abandoned"]
    assert [a["job"] for a in abandoned] == ["flag_missed_replies"]


def test_healthz_shows_a_run_past_its_limit_even_before_the_next_run_marks_it(settings, client):
    settings.JDPOP_JOB_TIME_LIMIT = timedelta(minutes=5)
    killed_run("open_overdue_tickets", ago=timedelta(minutes=6))
    abandoned = client.get("/healthz").json()["jobs"]["abandoned"]
    assert [a["job"] for a in abandoned] == ["open_overdue_tickets"]
    assert JobRun.objects.get().finished_at is None  # /healthz only reads


def test_run_job_runs_any_registered_job_as_of_a_china_time():
    out = StringIO()
    with time_machine.travel("2026-11-30T02:00:00Z", tick=False):
        call_command(
            "run_job", "enforce_dispute_deadlines", "--as-of", "2025-03-02T10:00:00", stdout=out
        )
    result = json.loads(out.getvalue())
    assert result["job"] == "enforce_dispute_deadlines"
    assert result["as_of"] == "2025-03-02T10:00:00+08:00"
    with pytest.raises(CommandError, match="no job"):
        call_command("run_job", "make_coffee")
    with pytest.raises(CommandError, match="ISO 8601"):
        call_command("run_job", "drain_outbox", "--as-of", "yesterday")
