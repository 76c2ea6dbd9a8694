"""Writes of the bulk upload: the upload (checked, stored, queued after commit), the run (claimed,
resumable, saving its progress), and the job that sends lost or abandoned runs again."""

from __future__ import annotations

import time
import uuid
import zipfile
from collections import Counter
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Shop
from core.roles import can_write_for_shop, require_shop_writer

from ..models import BulkUpload
from .archive import (
    digest_of,
    inspect_archive,
    invoice_members,
    is_archive,
    pack_files,
    posix,
    refusal,
)
from .files import process_member
from .index import PendingIndex
from .report import OUTCOMES

TASK = "invoices.process_bulk_upload"
SAVE_EVERY_FILES = 50
SAVE_EVERY_SECONDS = 1.0
QUEUED_LOST_AFTER = timedelta(minutes=2)  # a queued upload no worker took: sent again
State = BulkUpload.State


def _enqueue(bulk_upload_id: int) -> None:
    """Send the task (to `JDPOP_BULK_UPLOAD_QUEUE`, or Celery's default queue)."""
    from celery import current_app

    queue = settings.JDPOP_BULK_UPLOAD_QUEUE or None
    current_app.send_task(TASK, args=[bulk_upload_id], queue=queue)


def bulk_upload_create(*, shop: Shop, by: AbstractBaseUser, files: list[File]) -> BulkUpload:
    """A writer of `shop` uploads a zip of invoices (or many invoice files, packed here): it is
    checked, stored, and queued for the task once the transaction commits."""
    require_shop_writer(by, shop.pk)
    if not files:
        raise refusal(_("Choose a zip archive or invoice files."), "required")
    if len(files) == 1 and is_archive(files[0]):
        archive, name = files[0], files[0].name or "archive.zip"
    else:
        archive = pack_files(files)
        name = files[0].name if len(files) == 1 else _("%(count)s files") % {"count": len(files)}
    total = inspect_archive(archive)
    digest = digest_of(archive)
    stored = default_storage.save(f"bulk/{shop.pk}/{uuid.uuid4().hex}.zip", archive)
    try:
        with transaction.atomic():
            bulk = BulkUpload.objects.create(
                shop=shop,
                by=by,
                archive=stored,
                name=PurePosixPath(posix(str(name))).name[:200],
                digest=digest,
                total=total,
            )
            transaction.on_commit(lambda: _enqueue(bulk.pk), robust=True)
    except BaseException:
        default_storage.delete(stored)
        raise
    return bulk


def _counts(report: list[dict]) -> dict[str, int]:
    counts = Counter(line["outcome"] for line in report)
    return {outcome: counts.get(outcome, 0) for outcome in OUTCOMES}


def _claim(pk: int, now: datetime) -> bool:
    """queued → running, or a running upload whose lease is past (its worker died)."""
    stale = now - settings.JDPOP_JOB_TIME_LIMIT
    claimable = Q(state=State.QUEUED) | Q(state=State.RUNNING, started_at__lt=stale)
    return bool(
        BulkUpload.objects.for_system()
        .filter(claimable, pk=pk)
        .update(state=State.RUNNING, started_at=now)
    )


def _fail(pk: int, lease: datetime, error: str) -> None:
    BulkUpload.objects.for_system().filter(pk=pk, state=State.RUNNING, started_at=lease).update(
        state=State.FAILED, finished_at=timezone.now(), error=error[:2000]
    )


def bulk_upload_process(*, bulk_upload_id: int, budget_seconds: float | None = None) -> str:
    """Process a queued bulk upload (the task's body; see the module docstring). Returns
    "done", "failed", "again" (the budget ran out: queued again, to go on from where it is) or
    "skipped" (another run has it, or it is finished)."""
    now = timezone.now()
    if not _claim(bulk_upload_id, now):
        return "skipped"
    lease = now
    rows = BulkUpload.objects.for_system().filter(pk=bulk_upload_id, state=State.RUNNING)
    mine = rows.filter(started_at=lease)
    bulk = rows.select_related("by").get()
    if not can_write_for_shop(bulk.by, bulk.shop_id):
        _fail(bulk.pk, lease, _("The uploader can no longer issue invoices for this shop."))
        return "failed"
    budget = budget_seconds or settings.JDPOP_JOB_TIME_LIMIT.total_seconds() * 0.8
    started = time.monotonic()
    report = list(bulk.report)[: bulk.done]
    try:
        archive_file = default_storage.open(bulk.archive.name, "rb")
    except OSError as e:
        _fail(bulk.pk, lease, f"{_('The archive is missing.')} ({e})")
        return "failed"
    index = PendingIndex.load(bulk.shop_id)
    saved_at, saved_count = time.monotonic(), len(report)

    def save(**extra: Any) -> bool:
        nonlocal saved_at, saved_count
        saved_at, saved_count = time.monotonic(), len(report)
        return bool(mine.update(done=len(report), counts=_counts(report), report=report, **extra))

    with archive_file, zipfile.ZipFile(archive_file) as archive:
        members = invoice_members(archive)
        first = len(report)
        for member in members[first:]:
            # Out of time (after one file at least, so that every run moves on): queued again.
            if len(report) > first and time.monotonic() - started > budget:
                save(state=State.QUEUED)
                transaction.on_commit(lambda: _enqueue(bulk.pk), robust=True)
                return "again"
            try:
                report.append(process_member(archive, member, by=bulk.by, index=index))
            except PermissionDenied as e:
                save()
                _fail(bulk.pk, lease, str(e))
                return "failed"
            due = time.monotonic() - saved_at > SAVE_EVERY_SECONDS
            if (due or len(report) - saved_count >= SAVE_EVERY_FILES) and not save():
                return "skipped"  # another run took it over (this one outlived its lease)
    save(state=State.DONE, finished_at=timezone.now(), total=len(report))
    return "done"


def resume_bulk_uploads(*, now: datetime) -> dict[str, int]:
    """The job that makes good a lost task: uploads queued for a while that no worker took
    (the broker lost the message), and running ones whose lease is past (the worker died), are
    sent to the task again; it resumes each from where its report ends."""
    uploads = BulkUpload.objects.for_system()
    lost = list(
        uploads.filter(state=State.QUEUED, created_at__lt=now - QUEUED_LOST_AFTER).values_list(
            "pk", flat=True
        )
    )
    stale = list(
        uploads.filter(
            state=State.RUNNING, started_at__lt=now - settings.JDPOP_JOB_TIME_LIMIT
        ).values_list("pk", flat=True)
    )
    for pk in lost + stale:
        _enqueue(pk)
    return {"requeued": len(lost), "resumed": len(stale)}
