"""`/healthz` building blocks: the database and broker checks, the jobs' freshness, and the
runner that turns a list of named checks into the JSON answer. Which checks run is the site's
choice (`jdpop.health`).

A probe answers in milliseconds at any size (issue 14): every check is a bounded index lookup,
never a count over a table that grows (a count stops at `COUNT_UP_TO`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.http import JsonResponse
from django.utils import timezone
from kombu import Connection

Check = Callable[[], dict]
# A health check counts at most this many rows: past it, "at least" is all a probe needs.
COUNT_UP_TO = 1000


def bounded_count(qs: QuerySet, up_to: int = COUNT_UP_TO) -> int:
    """`qs.count()`, but reading at most `up_to` rows (`SELECT COUNT(*) FROM (... LIMIT n)`)."""
    return qs.order_by()[:up_to].count()


# The last success and the first start of each job, one index probe each (jobrun_last_ok_idx,
# jobrun_name_started_idx), in one statement.
_JOB_TIMES_SQL = """
SELECT n.name,
       (SELECT r.finished_at FROM core_jobrun r WHERE r.name = n.name AND r.ok
        ORDER BY r.finished_at DESC LIMIT 1),
       (SELECT r.started_at FROM core_jobrun r WHERE r.name = n.name
        ORDER BY r.started_at LIMIT 1)
FROM unnest(%s::text[]) AS n(name)
"""


def _job_times(names: list[str]) -> dict[str, tuple[datetime | None, datetime | None]]:
    with connection.cursor() as cursor:
        cursor.execute(_JOB_TIMES_SQL, [names])
        return {name: (last_ok, first) for name, last_ok, first in cursor.fetchall()}


def check_jobs() -> dict:
    """`core.jobs.health_jobs` (each job's age since its last success, stale ones, abandoned
    runs) in two statements instead of two per job: on PostgreSQL the per-job lookups are one
    statement (`_JOB_TIMES_SQL`); elsewhere it is `health_jobs` itself."""
    from .jobs import JOBS, health_jobs
    from .models import JobRun

    if connection.vendor != "postgresql":
        return health_jobs()
    now = timezone.now()
    stale_after = settings.JDPOP_JOB_STALE_AFTER.total_seconds()
    times = _job_times(list(JOBS))
    ages: dict[str, float | None] = {}
    stale: list[str] = []
    for name in JOBS:
        last_ok, first = times.get(name, (None, None))
        ages[name] = round((now - last_ok).total_seconds(), 1) if last_ok else None
        since = (now - (last_ok or first)).total_seconds() if (last_ok or first) else 0
        if since > stale_after:
            stale.append(name)
    limit = settings.JDPOP_JOB_TIME_LIMIT
    # Runs past their limit still marked running, and those marked abandoned within the window:
    # one statement, a BitmapOr of the two partial indexes.
    runs = JobRun.objects.filter(
        Q(finished_at__isnull=True, started_at__lt=now - limit)
        | Q(abandoned=True, finished_at__gte=now - settings.JDPOP_JOB_STALE_AFTER)
    ).values_list("name", "started_at", "finished_at")[:COUNT_UP_TO]
    runs = list(runs)
    abandoned = [(n, at) for n, at, done in runs if done is None] + [
        (n, at) for n, at, done in runs if done is not None
    ]
    from .clock import in_china

    return {
        "ok": not stale,
        "age_seconds": ages,
        "stale": stale,
        "stale_after": stale_after,
        "abandoned": [{"job": n, "started_at": in_china(at).isoformat()} for n, at in abandoned],
    }


def check_database() -> dict:
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def check_broker() -> dict:
    started = time.monotonic()
    # A fresh connection each time: a pooled one would hide a broker that went away.
    with Connection(
        settings.CELERY_BROKER_URL,
        connect_timeout=2,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    ) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def _guarded(check: Check) -> dict:
    try:
        return check()
    except Exception as e:  # a health check reports, never raises
        return {"ok": False, "error": f"{type(e).__name__}: {e}"[:300]}


def health_response(checks: Sequence[tuple[str, Check]]) -> JsonResponse:
    """200 when the database, the broker and every one of `checks` are ok, 503 otherwise. The
    `checks` read the database, so they run only when it answers."""
    results = {"database": _guarded(check_database), "broker": _guarded(check_broker)}
    if results["database"]["ok"]:
        results.update({name: _guarded(check) for name, check in checks})
    ok = all(r.get("ok", True) for r in results.values())
    return JsonResponse({"ok": ok, **results}, status=200 if ok else 503)
