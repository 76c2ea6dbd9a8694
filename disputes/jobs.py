"""The dispute beat job's entry point, shared by the Celery task and the management command.

Each run is recorded as a JobRun (the tickets app's `job_run`), like the urge-ticket jobs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from tickets.runs import job_run

from .services import disputes_enforce_deadlines

JOB_NAME = "enforce_dispute_deadlines"
TASK_NAME = "disputes.enforce_deadlines"


def run_enforce_deadlines(*, as_of: datetime | None = None) -> dict[str, Any]:
    """Run the deadline job as of `as_of` (default now), record the run and log one line.

    Returns {"job": ..., "as_of": ..., "merchant_timed_out": n, "settled_by_lapse": n,
    "took_ms": ...}."""

    def job(*, now: datetime) -> dict[str, int]:
        return disputes_enforce_deadlines(now=now)

    return job_run(JOB_NAME, job, now=as_of or timezone.now())
