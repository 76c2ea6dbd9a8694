"""Celery tasks for disputes: thin, they take no arguments, read "now" and call one service.

Scheduled by beat (settings.CELERY_BEAT_SCHEDULE["disputes.enforce_deadlines"]).
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError

from .jobs import TASK_NAME, run_enforce_deadlines


@shared_task(
    name=TASK_NAME,
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def enforce_deadlines() -> dict[str, Any]:
    """Beat: move disputes whose merchant or consumer deadline has passed (idempotent)."""
    return run_enforce_deadlines()
