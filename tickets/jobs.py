"""The urge-ticket beat jobs (spec 4.2, 4.4, 4.5): set-based, state-based, safe to run twice.

Each job takes "now" from its caller (never the database clock), sweeps everything currently
due by a stored deadline behind a partial index, in batches of a fixed number of queries, until
nothing is due or its time budget ends. Exactly-once comes from the database: a unique key on
the ticket's request, conditional updates on the state, `ON CONFLICT DO NOTHING` on penalties.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime

from django.db import connection, transaction

from .services import Cursor, tickets_open_batch

_HISTORY_COLUMNS = (
    "(request_id, subject, subject_id, actor_id, action, state_from, state_to, data, at)"
)
_PENALTY_COLUMNS = "(shop_id, kind, ticket_id, state, at, evidence, decision_note)"


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


# PostgreSQL: one statement per batch; the batch is claimed with SKIP LOCKED so two runs at
# once split the work instead of waiting on each other.
_FLAG_MISSED_PG = f"""
WITH due AS (
    SELECT id FROM tickets_urgeticket
    WHERE state = 'awaiting_reply' AND reply_due_at < %(now)s
    ORDER BY reply_due_at, id LIMIT %(limit)s
    FOR NO KEY UPDATE SKIP LOCKED
), flagged AS (
    UPDATE tickets_urgeticket t SET state = 'breached', sla = 'missed', sla_at = %(now)s
    FROM due WHERE t.id = due.id AND t.state = 'awaiting_reply' AND t.sla = ''
    RETURNING t.id, t.request_id, t.shop_id, t.reply_due_at
), history AS (
    INSERT INTO invoices_historyentry {_HISTORY_COLUMNS}
    SELECT request_id, 'ticket', id, NULL, 'ticket_breached', 'awaiting_reply', 'breached',
           jsonb_build_object('reply_due_at', reply_due_at), %(now)s
    FROM flagged
), penalties AS (
    INSERT INTO tickets_penalty {_PENALTY_COLUMNS}
    SELECT shop_id, 'no_reply', id, 'proposed', %(now)s,
           jsonb_build_object('ticket_id', id, 'request_id', request_id,
                              'reply_due_at', reply_due_at, 'detected_at', %(now)s), ''
    FROM flagged
    ON CONFLICT (ticket_id, kind) WHERE ticket_id IS NOT NULL DO NOTHING
    RETURNING id
)
SELECT (SELECT count(*) FROM flagged), (SELECT count(*) FROM penalties)
"""

_FLAG_BROKEN_PG = f"""
WITH due AS (
    SELECT t.id FROM tickets_urgeticket t
    JOIN invoices_invoicerequest r ON r.id = t.request_id
    WHERE t.promise_state = 'pending' AND t.promise_due_at <= %(now)s AND r.state <> 'issued'
    ORDER BY t.promise_due_at, t.id LIMIT %(limit)s
    FOR NO KEY UPDATE OF t, r SKIP LOCKED
), flagged AS (
    UPDATE tickets_urgeticket t SET promise_state = 'broken', promise_broken_at = %(now)s
    FROM due WHERE t.id = due.id AND t.promise_state = 'pending'
    RETURNING t.id, t.request_id, t.shop_id, t.promised_date
), history AS (
    INSERT INTO invoices_historyentry {_HISTORY_COLUMNS}
    SELECT request_id, 'ticket', id, NULL, 'promise_broken', 'pending', 'broken',
           jsonb_build_object('promised_date', promised_date), %(now)s
    FROM flagged
), penalties AS (
    INSERT INTO tickets_penalty {_PENALTY_COLUMNS}
    SELECT shop_id, 'broken_promise', id, 'proposed', %(now)s,
           jsonb_build_object('ticket_id', id, 'request_id', request_id,
                              'promised_date', promised_date, 'detected_at', %(now)s), ''
    FROM flagged
    ON CONFLICT (ticket_id, kind) WHERE ticket_id IS NOT NULL DO NOTHING
    RETURNING id
)
SELECT (SELECT count(*) FROM flagged), (SELECT count(*) FROM penalties)
"""

# SQLite (the embedded default): one writer at a time, so no row locks; the same three writes
# as separate statements.
_FLAG_MISSED_SQLITE = """
UPDATE tickets_urgeticket SET state = 'breached', sla = 'missed', sla_at = %(now)s
WHERE id IN (SELECT id FROM tickets_urgeticket
             WHERE state = 'awaiting_reply' AND reply_due_at < %(now)s
             ORDER BY reply_due_at, id LIMIT %(limit)s)
  AND state = 'awaiting_reply' AND sla = ''
RETURNING id, request_id, shop_id, reply_due_at
"""

_FLAG_BROKEN_SQLITE = """
UPDATE tickets_urgeticket SET promise_state = 'broken', promise_broken_at = %(now)s
WHERE id IN (SELECT t.id FROM tickets_urgeticket t
             JOIN invoices_invoicerequest r ON r.id = t.request_id
             WHERE t.promise_state = 'pending' AND t.promise_due_at <= %(now)s
               AND r.state <> 'issued'
             ORDER BY t.promise_due_at, t.id LIMIT %(limit)s)
  AND promise_state = 'pending'
RETURNING id, request_id, shop_id, promised_date
"""


def _flag_sqlite(
    sql: str, *, now: datetime, limit: int, action: str, states: tuple[str, str], kind: str
) -> tuple[int, int]:
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, {"now": at, "limit": limit})
        rows = cursor.fetchall()
        if not rows:
            return 0, 0
        key = "reply_due_at" if kind == "no_reply" else "promised_date"
        cursor.executemany(
            f"INSERT INTO invoices_historyentry {_HISTORY_COLUMNS} "
            "VALUES (%s, 'ticket', %s, NULL, %s, %s, %s, %s, %s)",
            [
                (r[1], r[0], action, states[0], states[1], json.dumps({key: str(r[3])}), at)
                for r in rows
            ],
        )
        before = cursor.execute("SELECT count(*) FROM tickets_penalty").fetchone()[0]
        cursor.executemany(
            f"INSERT INTO tickets_penalty {_PENALTY_COLUMNS} "
            "VALUES (%s, %s, %s, 'proposed', %s, %s, '') "
            "ON CONFLICT (ticket_id, kind) WHERE ticket_id IS NOT NULL DO NOTHING",
            [
                (
                    r[2],
                    kind,
                    r[0],
                    at,
                    json.dumps(
                        {
                            "ticket_id": r[0],
                            "request_id": r[1],
                            key: str(r[3]),
                            "detected_at": now.isoformat(),
                        }
                    ),
                )
                for r in rows
            ],
        )
        after = cursor.execute("SELECT count(*) FROM tickets_penalty").fetchone()[0]
    return len(rows), after - before


def _flag(
    *,
    now: datetime,
    batch_size: int,
    budget_seconds: float,
    pg_sql: str,
    sqlite_sql: str,
    action: str,
    states: tuple[str, str],
    kind: str,
) -> dict:
    penalties = 0

    def step() -> int:
        nonlocal penalties
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(pg_sql, {"now": now, "limit": batch_size})
                n, p = cursor.fetchone()
        else:
            n, p = _flag_sqlite(
                sqlite_sql, now=now, limit=batch_size, action=action, states=states, kind=kind
            )
        penalties += p
        return n, n > 0

    flagged, batches = _drain(step, budget_seconds=budget_seconds)
    return {"flagged": flagged, "penalties": penalties, "batches": batches}


def flag_missed_replies(
    *, now: datetime, batch_size: int = 5000, budget_seconds: float = 50.0
) -> dict:
    """Breach every ticket whose reply window ended before `now` with no answer, and propose a
    no-reply penalty for it (spec 4.4). A ticket due exactly now is not yet missed."""
    return _flag(
        now=now,
        batch_size=batch_size,
        budget_seconds=budget_seconds,
        pg_sql=_FLAG_MISSED_PG,
        sqlite_sql=_FLAG_MISSED_SQLITE,
        action="ticket_breached",
        states=("awaiting_reply", "breached"),
        kind="no_reply",
    )


def flag_broken_promises(
    *, now: datetime, batch_size: int = 5000, budget_seconds: float = 50.0
) -> dict:
    """Flag every promise (已协商开票时间) whose date has ended in China time with the invoice
    still not issued, and propose a broken-promise penalty (spec 4.5)."""
    return _flag(
        now=now,
        batch_size=batch_size,
        budget_seconds=budget_seconds,
        pg_sql=_FLAG_BROKEN_PG,
        sqlite_sql=_FLAG_BROKEN_SQLITE,
        action="promise_broken",
        states=("pending", "broken"),
        kind="broken_promise",
    )
