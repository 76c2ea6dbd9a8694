"""The urge-ticket beat jobs (spec 4.2, 4.4, 4.5): set-based, state-based, safe to run twice.

Each job takes "now" from its caller (never the database clock) and sweeps everything currently
due by a stored deadline behind a partial index, in batches of a few statements each, until
nothing is due or its time budget ends. Exactly-once comes from the database: a unique key on
the ticket's request, conditional updates on the state under row locks (PostgreSQL: SKIP
LOCKED, so runs at once split the work), and the penalties' unique (ticket, kind) key. The
same code runs on PostgreSQL and SQLite (where the locks are no-ops: one writer at a time).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.dispatch import Signal

from core.history import history_insert
from core.sql import execute, id_rows, ids, json_object, timestamp

from .models import UrgeTicket
from .rules import missed_q, promise_broken_q
from .services import Cursor, tickets_open_batch
from .signals import promises_broken, tickets_breached


def _drain(step: Callable[[], tuple[int, bool]], *, budget_seconds: float) -> tuple[int, int]:
    """Run `step` (one batch, one transaction; it returns how many rows it changed and whether
    there may be more) until nothing is left or the budget ends."""
    started = time.monotonic()
    total = batches = 0
    while True:
        with transaction.atomic():
            n, more = step()
        batches += 1
        total += n
        if not more or time.monotonic() - started > budget_seconds:
            return total, batches


def open_overdue_tickets(
    *, now: datetime, batch_size: int = 5000, budget_seconds: float = 50.0
) -> dict:
    """Open a ticket for every overdue request of a shop on the new flow (spec 4.1–4.2).

    Each batch starts after the last request the previous one looked at, so a large backlog
    is walked once, not once per batch."""
    after: Cursor | None = None

    def step() -> tuple[int, bool]:
        nonlocal after
        opened, after = tickets_open_batch(now=now, via="job", limit=batch_size, after=after)
        return len(opened), after is not None

    opened, batches = _drain(step, budget_seconds=budget_seconds)
    return {"opened": opened, "batches": batches}


def _flag(
    *,
    now: datetime,
    due: Q,
    order_by: str,
    lock: tuple[str, ...],
    still: dict,
    changes: dict,
    detail: str,
    history: tuple[str, str, str],
    signal: Signal,
    batch_size: int,
    budget_seconds: float,
) -> dict:
    """Flag every ticket matching `due`, a batch at a time: claim the batch (row locks, SKIP
    LOCKED), move it with one conditional UPDATE, append its history rows with one INSERT, and
    let the apps above hear of it (`signal`: the penalties insert theirs the same way) in the
    same transaction. A few statements per batch, whatever its size."""
    action, state_from, state_to = history
    extra: Counter = Counter()
    tickets = UrgeTicket.objects.for_system()

    table = UrgeTicket._meta.db_table
    related = [name for name in lock if name != "self"]
    conditions = "".join(f" AND {column} = %s" for column in still)
    assignments = ", ".join(f"{column} = %s" for column in changes)
    move = (
        f"UPDATE {table} SET {assignments} FROM {id_rows('chosen')} "
        f"WHERE {table}.id = chosen.id{conditions}"
    )
    record = history_insert(
        f"SELECT t.request_id, 'ticket', t.id, NULL, %s, %s, %s, "
        f"{json_object((detail, f't.{detail}'))}, %s "
        f"FROM {table} t JOIN {id_rows('chosen')} ON chosen.id = t.id"
    )

    def step() -> tuple[int, bool]:
        due_rows = tickets.filter(due)
        if related:  # (select_related() with no names would follow every foreign key)
            due_rows = due_rows.select_related(*related)
        claimed = (
            due_rows.only("id", *(f"{name}__id" for name in related))
            .order_by(order_by, "pk")
            .select_for_update(no_key=True, skip_locked=True, of=lock)[:batch_size]
        )
        claimed_ids = [t.pk for t in claimed]
        if not claimed_ids:
            return 0, False
        values = [timestamp(v) if isinstance(v, datetime) else v for v in changes.values()]
        moved = execute(move, [*values, ids(claimed_ids), *still.values()])
        if moved != len(claimed_ids):  # cannot happen under the row locks; never half-record
            raise RuntimeError(f"{action}: moved {moved} of {len(claimed_ids)} claimed tickets")
        execute(record, [action, state_from, state_to, timestamp(now), ids(claimed_ids)])
        for _receiver, counts in signal.send(sender=UrgeTicket, ids=claimed_ids, at=now):
            extra.update(counts or {})
        return moved, True

    flagged, batches = _drain(step, budget_seconds=budget_seconds)
    return {"flagged": flagged, **extra, "batches": batches}


def flag_missed_replies(
    *, now: datetime, batch_size: int = 5000, budget_seconds: float = 50.0
) -> dict:
    """Breach every ticket whose reply window ended before `now` with no answer, and let the
    penalties propose a no-reply penalty for it (spec 4.4). A ticket due exactly now is not
    yet missed."""
    return _flag(
        now=now,
        due=missed_q(now),
        order_by="reply_due_at",
        lock=("self",),
        still={"state": UrgeTicket.State.AWAITING_REPLY, "sla": ""},
        changes={"state": UrgeTicket.State.BREACHED, "sla": UrgeTicket.Sla.MISSED, "sla_at": now},
        detail="reply_due_at",
        history=("ticket_breached", UrgeTicket.State.AWAITING_REPLY, UrgeTicket.State.BREACHED),
        signal=tickets_breached,
        batch_size=batch_size,
        budget_seconds=budget_seconds,
    )


def flag_broken_promises(
    *, now: datetime, batch_size: int = 5000, budget_seconds: float = 50.0
) -> dict:
    """Flag every promise (已协商开票时间) whose date has ended in China time with the invoice
    still not issued, and let the penalties propose a broken-promise penalty (spec 4.5). The
    request is claimed too, so an invoice being uploaded right now keeps the promise."""
    Promise = UrgeTicket.PromiseState
    return _flag(
        now=now,
        due=promise_broken_q(now),
        order_by="promise_due_at",
        lock=("self", "request"),
        still={"promise_state": Promise.PENDING},
        changes={"promise_state": Promise.BROKEN, "promise_broken_at": now},
        detail="promised_date",
        history=("promise_broken", Promise.PENDING, Promise.BROKEN),
        signal=promises_broken,
        batch_size=batch_size,
        budget_seconds=budget_seconds,
    )
