"""Celery tasks of the invoices app: thin, they take an id and call the service."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from .bulk import TASK, bulk_upload_process


@shared_task(
    name=TASK,
    ignore_result=True,
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=settings.JDPOP_JOB_TIME_LIMIT.total_seconds() * 0.9,
    time_limit=settings.JDPOP_JOB_TIME_LIMIT.total_seconds(),
)
def process_bulk_upload(bulk_upload_id: int) -> str:
    """Read, match and issue the files of one bulk upload (`invoices.bulk`)."""
    return bulk_upload_process(bulk_upload_id=bulk_upload_id)
