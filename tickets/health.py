"""/healthz check of the urge tickets (spec 4.2): does the opening job miss overdue requests?"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from core.health import COUNT_UP_TO, bounded_count
from core.models import JobRun
from invoices.due import queue_triggers_in_place
from invoices.models import DueRequest


def health_overdue_without_ticket() -> dict:
    """Overdue pending requests of new-flow shops that have no urge ticket yet.

    A few are normal between two runs of the opening job; one that was overdue both longer than
    JDPOP_JOB_STALE_AFTER and before the job's last successful run means the job is missing
    requests, and is not ok (a job that stopped running shows in the "jobs" check). Only requests
    that fell overdue within JDPOP_HEALTH_OVERDUE_LOOKBACK are looked at, so that the check
    stays a short index range however many overdue requests (with tickets) pile up. Each count
    stops at COUNT_UP_TO. Not ok either when the triggers that keep the job's queue are gone
    (`queue_kept`): no new request would reach it.
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
    # The opening job's own queue (invoices.DueRequest: pending, overdue, no ticket opened
    # yet, indexed by its instant) holds only the requests still waiting for a ticket, so both
    # counts are short range scans of it, and stop at COUNT_UP_TO: a probe never walks the
    # tickets.
    waiting = (
        DueRequest.objects.for_system()
        .due(now)
        .filter(due_at__gte=now - lookback, request__urge_ticket__isnull=True)
    )
    count = bounded_count(waiting, COUNT_UP_TO)
    late = bounded_count(waiting.filter(due_at__lt=cutoff or now - lookback), COUNT_UP_TO)
    kept = queue_triggers_in_place()
    return {
        "ok": late == 0 and kept,
        "queue_kept": kept,
        "count": count,
        "past_grace": late,
        "counted_up_to": COUNT_UP_TO,
        "lookback_hours": round(lookback.total_seconds() / 3600, 1),
    }
