"""Running the urge-ticket jobs: one entry point shared by the Celery tasks and the management
commands, which records every run as a JobRun, and the /healthz checks that read those runs."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count, Min, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string

from invoices.models import InvoiceRequest

from .models import JobRun

logger = logging.getLogger(__name__)
CHINA = ZoneInfo("Asia/Shanghai")

# The jobs, by the name their runs are recorded (and their commands are called) under.
JOBS: dict[str, str] = {
    "open_overdue_tickets": "tickets.jobs.open_overdue_tickets",
    "flag_missed_replies": "tickets.jobs.flag_missed_replies",
    "flag_broken_promises": "tickets.jobs.flag_broken_promises",
    "send_ticket_reminders": "tickets.reminders.send_ticket_reminders",
    "drain_outbox": "tickets.outbox.drain_outbox",
}


def job_run(name: str, fn: Callable[..., dict], *, now: datetime) -> dict[str, Any]:
    """Run `fn(now=now)` and record it: the start is committed before the work, the outcome
    after. A failure is recorded (ok=False, the error) and raised again.

    Returns {"job": name, "as_of": ..., **counts, "took_ms": ...}.
    """
    run = JobRun.objects.create(name=name, as_of=now, started_at=timezone.now())
    started = time.monotonic()
    try:
        counts = fn(now=now)
    except Exception as e:
        logger.exception("job %s as of %s failed", name, now.isoformat())
        try:
            JobRun.objects.filter(pk=run.pk).update(
                finished_at=timezone.now(), ok=False, error=f"{type(e).__name__}: {e}"[:4000]
            )
        except Exception:  # the database may be what failed: keep the job's own error
            logger.exception("could not record the failure of job %s", name)
        raise
    # JSON-safe whatever the job put in its counts (a datetime, a Decimal).
    counts = json.loads(json.dumps(counts or {}, cls=DjangoJSONEncoder))
    JobRun.objects.filter(pk=run.pk).update(finished_at=timezone.now(), ok=True, counts=counts)
    if run.pk % PRUNE_EVERY == 0:
        _prune_runs()
    result = {
        "job": name,
        "as_of": timezone.localtime(now).isoformat(),
        **counts,
        "took_ms": round((time.monotonic() - started) * 1000),
    }
    logger.info("job %s", result)
    return result


PRUNE_EVERY = 100  # runs; with the default schedule about every 6 minutes


def _prune_runs() -> None:
    """Forget runs older than JDPOP_JOB_RUNS_KEEP_DAYS (the jobs run ~7,500 times a day)."""
    cutoff = timezone.now() - timedelta(days=settings.JDPOP_JOB_RUNS_KEEP_DAYS)
    JobRun.objects.filter(started_at__lt=cutoff).delete()


def run_job(name: str, *, now: datetime) -> dict[str, Any]:
    """Run the job called `name` (a key of JOBS) through `job_run`.

    The job is imported inside the run, so that even a broken import is a recorded failure.
    """

    def job(*, now: datetime) -> dict:
        return import_string(JOBS[name])(now=now)

    return job_run(name, job, now=now)


def parse_as_of(value: str) -> datetime:
    """An ISO 8601 date-time; without an offset it is China time (Asia/Shanghai)."""
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(f"--as-of: not an ISO 8601 date-time: {value!r}")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, CHINA)
    return parsed


class JobCommand(BaseCommand):
    """A management command that runs one job (`job`, a key of JOBS) and prints one JSON line."""

    job: str

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of",
            type=parse_as_of,
            default=None,
            help="run as if it were this instant (ISO 8601; no offset means China time; "
            "default: now)",
        )

    def handle(self, *args: Any, as_of: datetime | None = None, **options: Any) -> None:
        result = run_job(self.job, now=as_of or timezone.now())
        self.stdout.write(json.dumps(result, ensure_ascii=False, cls=DjangoJSONEncoder))


# --- /healthz -------------------------------------------------------------------------------


def _guarded(check: Callable[[], dict]) -> Callable[[], dict]:
    def run() -> dict:
        try:
            return check()
        except Exception as e:  # a health check reports, never raises
            return {"ok": False, "error": f"{type(e).__name__}: {e}"[:300]}

    run.__doc__ = check.__doc__
    return run


@_guarded
def health_jobs() -> dict:
    """Seconds since each job's last successful run (null if it never succeeded).

    Not ok when a job's last success is older than JDPOP_JOB_STALE_AFTER, or when it has
    never succeeded although its first run started longer ago than that. A fresh install
    (no runs at all) is ok: "never ran" is reported, not failed.
    """
    now = timezone.now()
    stale_after = settings.JDPOP_JOB_STALE_AFTER.total_seconds()
    ages: dict[str, float | None] = {}
    stale: list[str] = []
    for name in JOBS:
        last_ok = (
            JobRun.objects.filter(name=name, ok=True)
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )
        if last_ok is not None:
            ages[name] = round((now - last_ok).total_seconds(), 1)
            if ages[name] > stale_after:
                stale.append(name)
            continue
        ages[name] = None
        first = JobRun.objects.filter(name=name).aggregate(at=Min("started_at"))["at"]
        if first is not None and (now - first).total_seconds() > stale_after:
            stale.append(name)
    return {"ok": not stale, "age_seconds": ages, "stale": stale, "stale_after": stale_after}


@_guarded
def health_overdue_without_ticket() -> dict:
    """Overdue pending requests of new-flow shops that have no urge ticket yet (spec 4.2).

    A few are normal between two runs of the opening job; one that was overdue both longer than
    JDPOP_JOB_STALE_AFTER and before the job's last successful run means the job is missing
    requests, and is not ok (a job that stopped running shows in the "jobs" check). Only requests
    that fell overdue within JDPOP_HEALTH_OVERDUE_LOOKBACK are looked at, so that the check
    stays a short index range however many overdue requests (with tickets) pile up.
    """
    now = timezone.now()
    grace = now - settings.JDPOP_JOB_STALE_AFTER
    # Only a request that was already overdue when the opening job last succeeded is a miss:
    # right after a fresh start (or a deploy) the backlog is the job's next run, not a fault.
    last_ok = (
        JobRun.objects.filter(name="open_overdue_tickets", ok=True)
        .order_by("-finished_at")
        .values_list("as_of", flat=True)
        .first()
    )
    cutoff = min(grace, last_ok) if last_ok is not None else None
    lookback = settings.JDPOP_HEALTH_OVERDUE_LOOKBACK
    counts = (
        # The partial index ir_pending_overdue_idx: pending, overdue_at set, by overdue_at.
        InvoiceRequest.objects.filter(
            state=InvoiceRequest.State.PENDING,
            overdue_at__isnull=False,
            overdue_at__lt=now,
            overdue_at__gte=now - lookback,
            shop__new_flow_since__isnull=False,
            urge_ticket__isnull=True,
        ).aggregate(
            count=Count("id"),
            late=Count("id", filter=Q(overdue_at__lt=cutoff or now - lookback)),
        )
    )
    return {
        "ok": counts["late"] == 0,
        "count": counts["count"],
        "past_grace": counts["late"],
        "lookback_hours": round(lookback.total_seconds() / 3600, 1),
    }
