"""Reminders before an urge ticket's reply deadline (spec 4.3): queued in the outbox, sent by
`drain_outbox`.

For each lead time L in JDPOP_TICKET_REMINDERS (default 12 h and 2 h) an open ticket gets the
message `ticket:<id>:remind:<L>h` once its deadline is at most L away. Only the tightest lead
that applies is queued: a ticket first seen 1 h before its deadline (the job was down, or the
ticket was opened late) gets the 2 h reminder, not a stale 12 h one as well. The outbox key is
unique, so running the job again, or twice at once, queues nothing new.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings

from core.models import OutboxMessage
from core.sql import execute, json_object, timestamp

from .models import UrgeTicket

KIND = "ticket_reminder"


def lead_label(lead: timedelta) -> str:
    """12 h → "12h", 1.5 h → "1.5h": the part of the outbox key that names the lead time."""
    return f"{lead.total_seconds() / 3600:g}h"


def reminder_key(ticket_id: int, lead: timedelta) -> str:
    return f"ticket:{ticket_id}:remind:{lead_label(lead)}"


def _queue_sql() -> str:
    """Queue one lead time's reminders for up to `limit` tickets, one statement (`core.sql`
    holds the only dialect difference, the JSON payload). Params: suffix, kind, lead,
    created_at, state, due_until, due_after, suffix, limit."""
    outbox, tickets = OutboxMessage._meta.db_table, UrgeTicket._meta.db_table
    key = "'ticket:' || t.id || %s"
    payload = json_object(
        ("ticket_id", "t.id"),
        ("request_id", "t.request_id"),
        ("shop_id", "t.shop_id"),
        ("lead", "%s"),
    )
    # NOT EXISTS skips keys already queued, so that LIMIT counts only new rows and the batch
    # loop ends; ON CONFLICT covers a concurrent run inserting the same key meanwhile.
    return f"""
        INSERT INTO {outbox} (key, kind, payload, created_at, attempts, last_error)
        SELECT {key}, %s, {payload}, %s, 0, ''
        FROM {tickets} t
        WHERE t.state = %s AND t.reply_due_at <= %s AND t.reply_due_at > %s
          AND NOT EXISTS (SELECT 1 FROM {outbox} o WHERE o.key = {key})
        ORDER BY t.reply_due_at, t.id
        LIMIT %s
        ON CONFLICT (key) DO NOTHING
    """


def send_ticket_reminders(
    *, now: datetime, batch_size: int = 5000, budget_seconds: float = 50.0
) -> dict[str, int]:
    """Queue the reminders now due (see the module docstring); returns {"queued": n, ...}.

    Each batch is one statement; a run that hits its time budget stops and the next run picks
    up the rest.
    """
    started = time.monotonic()
    leads = sorted(settings.JDPOP_TICKET_REMINDERS, reverse=True)
    counts = {"queued": 0}
    sql = _queue_sql()
    for i, lead in enumerate(leads):
        tighter = leads[i + 1] if i + 1 < len(leads) else timedelta(0)
        label = lead_label(lead)
        suffix = f":remind:{label}"
        params = [
            *(suffix, KIND, label, timestamp(now)),
            *(UrgeTicket.State.AWAITING_REPLY, timestamp(now + lead), timestamp(now + tighter)),
            *(suffix, batch_size),
        ]
        counts[f"queued_{label}"] = 0
        while True:
            queued = execute(sql, params)
            counts[f"queued_{label}"] += queued
            counts["queued"] += queued
            if time.monotonic() - started > budget_seconds:
                counts["out_of_time"] = 1
                return counts
            if queued < batch_size:
                break
    return counts
