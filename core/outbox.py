"""The outbox: events written in the transaction of the change that causes them, so each exists
only once that change is committed, and exactly once (`key` is unique: a second write of the
same key is skipped). What an event becomes (inbox, e-mail, webhooks) is for the apps above to
say: the notifications app drains the outbox (`notifications.delivery`). This floor knows none
of the kinds.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .models import OutboxMessage


def outbox_put(messages: Iterable[tuple[str, str, dict]], *, at: datetime) -> None:
    """Queue (key, kind, payload) events in the caller's transaction; a key already queued is
    skipped (ON CONFLICT DO NOTHING), so an event exists at most once."""
    OutboxMessage.objects.bulk_create(
        [OutboxMessage(key=k, kind=kind, payload=p, created_at=at) for k, kind, p in messages],
        ignore_conflicts=True,
        batch_size=2000,
    )


def outbox_insert(select_sql: str) -> str:
    """SQL queueing one event per row of `select_sql` (columns: key, kind, payload,
    created_at); a key already queued is skipped. For set-based batches."""
    table = OutboxMessage._meta.db_table
    return (
        f"INSERT INTO {table} (key, kind, payload, created_at, attempts, last_error) "
        f"SELECT key, kind, payload, created_at, 0, '' FROM ({select_sql}) AS queued "
        "WHERE true ON CONFLICT (key) DO NOTHING"
    )
