"""Celery tasks of the urge-ticket jobs: thin, they take no arguments, read "now" and run the
job through `run_job`, which records the run. Scheduled by beat (settings.CELERY_BEAT_SCHEDULE).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.utils import timezone

from .runs import run_job


@shared_task(name="tickets.open_overdue_tickets", ignore_result=True)
def open_overdue_tickets() -> dict[str, Any]:
    """Open an urge ticket for every overdue request of a new-flow shop (spec 4.2)."""
    return run_job("open_overdue_tickets", now=timezone.now())


@shared_task(name="tickets.flag_missed_replies", ignore_result=True)
def flag_missed_replies() -> dict[str, Any]:
    """Breach the tickets whose reply window passed without an answer (spec 4.4)."""
    return run_job("flag_missed_replies", now=timezone.now())


@shared_task(name="tickets.flag_broken_promises", ignore_result=True)
def flag_broken_promises() -> dict[str, Any]:
    """Flag the promised issue dates that passed without an invoice (spec 4.5)."""
    return run_job("flag_broken_promises", now=timezone.now())


@shared_task(name="tickets.send_ticket_reminders", ignore_result=True)
def send_ticket_reminders() -> dict[str, Any]:
    """Queue the reminders of tickets whose reply deadline is near."""
    return run_job("send_ticket_reminders", now=timezone.now())


@shared_task(name="tickets.drain_outbox", ignore_result=True)
def drain_outbox() -> dict[str, Any]:
    """Send the queued e-mails."""
    return run_job("drain_outbox", now=timezone.now())
