"""One runner for every app's scheduled jobs: a registry, the Celery tasks, the commands, and
the record of every run (spec 9: jobs are safe to run at any time, any number of times).

An app registers its jobs at start-up (`AppConfig.ready`) with `register`: a name (its command
and its runs are called that), the function `fn(*, now) -> counts` and the Celery task name
beat schedules. `run_job` runs one and records it as a `JobRun`: the start is committed before
the work, the outcome after. A run with no outcome after `JDPOP_JOB_TIME_LIMIT` (its worker
was killed) is marked abandoned by the next run of any job, and shows in `/healthz`.

`/healthz` also tells when no worker consumes at all (`health_worker`): a job run starts each
time a worker takes a task, so a long silence means the worker or the broker is gone.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import OperationalError
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.module_loading import import_string

from .clock import in_china, parse_as_of
from .models import JobRun

logger = logging.getLogger(__name__)
PRUNE_EVERY = 100  # runs; with the default schedule about every 6 minutes


@dataclass(frozen=True)
class Job:
    name: str  # its command and its JobRun rows are called this
    target: str  # dotted path of `fn(*, now: datetime) -> dict[str, int]`
    task: str  # the Celery task name that beat schedules
    help: str


JOBS: dict[str, Job] = {}


def register(name: str, target: str, *, task: str, help: str) -> Job:
    """Register a job and its Celery task (thin: it takes no arguments, reads "now" and runs the
    job through `run_job`). Idempotent, so `ready()` may run twice."""
    job = JOBS.setdefault(name, Job(name=name, target=target, task=task, help=help))

    def run() -> dict[str, Any]:
        return run_job(name, now=timezone.now())

    run.__name__ = run.__qualname__ = name
    run.__doc__ = help
    shared_task(
        name=task,
        ignore_result=True,
        autoretry_for=(OperationalError,),
        retry_backoff=True,
        max_retries=3,
        soft_time_limit=settings.JDPOP_JOB_TIME_LIMIT.total_seconds() * 0.9,
        time_limit=settings.JDPOP_JOB_TIME_LIMIT.total_seconds(),
    )(run)
    return job


def job_run(name: str, fn: Callable[..., dict], *, now: datetime) -> dict[str, Any]:
    """Run `fn(now=now)` and record it (see the module docstring). A failure is recorded
    (ok=False, the error) and raised again.

    Returns {"job": name, "as_of": ..., **counts, "took_ms": ...}.
    """
    mark_abandoned_runs()
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
        "as_of": in_china(now).isoformat(),
        **counts,
        "took_ms": round((time.monotonic() - started) * 1000),
    }
    logger.info("job %s", result)
    return result


def run_job(name: str, *, now: datetime) -> dict[str, Any]:
    """Run the registered job `name` through `job_run`. The job is imported inside the run, so
    that even a broken import is a recorded failure."""
    target = JOBS[name].target

    def job(*, now: datetime) -> dict:
        return import_string(target)(now=now)

    return job_run(name, job, now=now)


def mark_abandoned_runs(*, now: datetime | None = None) -> int:
    """Runs still without an outcome after the time limit: their worker died. Marked failed and
    abandoned (a short index range: only unfinished runs are in the index)."""
    now = now or timezone.now()
    return JobRun.objects.filter(
        finished_at__isnull=True, started_at__lt=now - settings.JDPOP_JOB_TIME_LIMIT
    ).update(
        finished_at=now,
        ok=False,
        abandoned=True,
        error=f"abandoned: no outcome within {settings.JDPOP_JOB_TIME_LIMIT} (worker killed?)",
    )


def _prune_runs() -> None:
    """Forget runs older than JDPOP_JOB_RUNS_KEEP_DAYS (the jobs run ~7,500 times a day)."""
    cutoff = timezone.now() - timedelta(days=settings.JDPOP_JOB_RUNS_KEEP_DAYS)
    JobRun.objects.filter(started_at__lt=cutoff).delete()


def _as_of(value: str) -> datetime:
    try:
        return parse_as_of(value)
    except ValueError as e:
        raise CommandError(f"--as-of: {e}") from None


class JobCommand(BaseCommand):
    """A management command that runs one registered job (`job`) and prints one JSON line."""

    job: str

    @property
    def help(self) -> str:  # type: ignore[override]
        return JOBS[self.job].help if self.job in JOBS else ""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of",
            type=_as_of,
            default=None,
            help="run as if it were this instant (ISO 8601; no offset means China time; "
            "default: now)",
        )

    def handle(self, *args: Any, as_of: datetime | None = None, **options: Any) -> None:
        result = run_job(self.job, now=as_of or timezone.now())
        self.stdout.write(json.dumps(result, ensure_ascii=False, cls=DjangoJSONEncoder))


def health_jobs() -> dict:
    """Seconds since each job's last successful run (null if it never succeeded), and the runs
    abandoned lately.

    Not ok when a job's last success is older than JDPOP_JOB_STALE_AFTER, or when it has never
    succeeded although its first run started longer ago than that. A fresh install (no runs at
    all) is ok: "never ran" is reported, not failed.
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
    limit = settings.JDPOP_JOB_TIME_LIMIT
    # Runs past their limit still marked running, and those marked abandoned within the window.
    abandoned = list(
        JobRun.objects.filter(finished_at__isnull=True, started_at__lt=now - limit).values_list(
            "name", "started_at"
        )
    ) + list(
        JobRun.objects.filter(
            abandoned=True, finished_at__gte=now - settings.JDPOP_JOB_STALE_AFTER
        ).values_list("name", "started_at")
    )
    return {
        "ok": not stale,
        "age_seconds": ages,
        "stale": stale,
        "stale_after": stale_after,
        "abandoned": [{"job": n, "started_at": in_china(at).isoformat()} for n, at in abandoned],
    }


_PERIOD_SECONDS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1, "microseconds": 1e-6}


def _beat_sending_since() -> datetime | None:
    """When beat began sending, as far as its own records tell (django-celery-beat saves each
    task's last send and how many it sent): the earliest `last send - (sends - 1) × interval`."""
    from django_celery_beat.models import PeriodicTask

    tasks = PeriodicTask.objects.filter(
        enabled=True, interval__isnull=False, last_run_at__isnull=False, total_run_count__gt=0
    ).values_list("last_run_at", "total_run_count", "interval__every", "interval__period")
    starts = [
        last - timedelta(seconds=(count - 1) * every * _PERIOD_SECONDS.get(period, 1))
        for last, count, every, period in tasks
    ]
    return min(starts, default=None)


def health_worker() -> dict:
    """Seconds since a worker last started a job (every task a worker takes starts a run; so
    does a job run by hand). Not ok past JDPOP_WORKER_SILENT_AFTER: the worker stopped, or the
    broker is gone. Before any run at all, not ok once beat has been sending for that long
    (nobody consumes); a fresh install where beat has sent nothing yet is ok."""
    now = timezone.now()
    silent_after = settings.JDPOP_WORKER_SILENT_AFTER.total_seconds()
    last = JobRun.objects.aggregate(at=Max("started_at"))["at"]
    if last is None:
        since = _beat_sending_since()
        waiting = round((now - since).total_seconds(), 1) if since else None
        return {
            "ok": waiting is None or waiting <= silent_after,
            "last_started_seconds": None,
            "beat_sending_seconds": waiting,
            "silent_after": silent_after,
        }
    age = round((now - last).total_seconds(), 1)
    return {"ok": age <= silent_after, "last_started_seconds": age, "silent_after": silent_after}
