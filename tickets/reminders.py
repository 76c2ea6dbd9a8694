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
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat

from core.models import OutboxMessage
from core.outbox import outbox_put

from .models import UrgeTicket

KIND = "ticket_reminder"


def lead_label(lead: timedelta) -> str:
    """12 h → "12h", 1.5 h → "1.5h": the part of the outbox key that names the lead time."""
    return f"{lead.total_seconds() / 3600:g}h"


def reminder_key(ticket_id: int, lead: timedelta) -> str:
    return f"ticket:{ticket_id}:remind:{lead_label(lead)}"


def _due(*, now: datetime, lead: timedelta, tighter: timedelta):
    """Open tickets whose deadline is at most `lead` away but more than `tighter`, and which
    have no reminder for `lead` queued yet (so that each batch finds only new ones)."""
    key = Concat(Value("ticket:"), Cast("pk", CharField()), Value(f":remind:{lead_label(lead)}"))
    queued = Exists(OutboxMessage.objects.filter(key=OuterRef("reminder_key")))
    return (
        UrgeTicket.objects.for_system()
        .filter(
            state=UrgeTicket.State.AWAITING_REPLY,
            reply_due_at__lte=now + lead,
            reply_due_at__gt=now + tighter,
        )
        .annotate(reminder_key=key)
        .filter(~queued)
        .order_by("reply_due_at", "pk")
    )


def send_ticket_reminders(
    *, now: datetime, batch_size: int = 5000, budget_seconds: float = 50.0
) -> dict[str, int]:
    """Queue the reminders now due (see the module docstring); returns {"queued": n, ...}.

    Each batch is two statements; a run that hits its time budget stops and the next run picks
    up the rest.
    """
    started = time.monotonic()
    leads = sorted(settings.JDPOP_TICKET_REMINDERS, reverse=True)
    counts = {"queued": 0}
    for i, lead in enumerate(leads):
        tighter = leads[i + 1] if i + 1 < len(leads) else timedelta(0)
        label = lead_label(lead)
        counts[f"queued_{label}"] = 0
        due = _due(now=now, lead=lead, tighter=tighter)
        while True:
            rows = list(due.values_list("pk", "request_id", "shop_id")[:batch_size])
            outbox_put(
                (
                    (
                        reminder_key(pk, lead),
                        KIND,
                        {"ticket_id": pk, "request_id": rid, "shop_id": sid, "lead": label},
                    )
                    for pk, rid, sid in rows
                ),
                at=now,
            )
            counts[f"queued_{label}"] += len(rows)
            counts["queued"] += len(rows)
            if time.monotonic() - started > budget_seconds:
                counts["out_of_time"] = 1
                return counts
            if len(rows) < batch_size:
                break
    return counts
