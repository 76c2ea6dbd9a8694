"""The history writer (spec 9): every state change appends one entry, in its own transaction."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone

from .models import HistoryEntry


def actor_or_none(user: AbstractBaseUser | AnonymousUser | None) -> AbstractBaseUser | None:
    """The user to record as the actor: None for the system (or an anonymous caller)."""
    return user if user is not None and user.is_authenticated else None


def history_record(
    *,
    request_id: int | None,
    subject: str,
    subject_id: int,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: str,
    state_from: str = "",
    state_to: str = "",
    data: dict | None = None,
    at: datetime | None = None,
) -> HistoryEntry:
    """Append one history entry; call it inside the transaction of the change it records."""
    return HistoryEntry.objects.create(
        request_id=request_id,
        subject=subject,
        subject_id=subject_id,
        actor=actor_or_none(actor),
        action=action,
        state_from=state_from,
        state_to=state_to,
        data=data or {},
        at=at or timezone.now(),
    )


def history_rows(rows: list[dict], *, at: datetime) -> int:
    """Append many entries at once (a job's batch): each dict has the entry's fields; `actor`
    defaults to the system. One INSERT per batch."""
    entries = [HistoryEntry(**{"actor": None, "data": {}, "at": at, **row}) for row in rows]
    HistoryEntry.objects.bulk_create(entries, batch_size=2000)
    return len(entries)


def history_insert(select_sql: str) -> str:
    """SQL appending one history entry per row of `select_sql`, whose columns are, in order:
    request_id, subject, subject_id, actor_id, action, state_from, state_to, data, at. For the
    jobs' set-based batches (one statement however many rows)."""
    table = HistoryEntry._meta.db_table
    columns = "request_id, subject, subject_id, actor_id, action, state_from, state_to, data, at"
    return f"INSERT INTO {table} ({columns}) {select_sql}"
