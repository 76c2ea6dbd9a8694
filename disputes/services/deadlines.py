"""The deadline job (spec 5): state-based, set-based, idempotent.

Each pass selects only disputes still due (by state and a stored, indexed deadline strictly
before `now`), locks a batch (other workers skip it), moves the whole batch with one
conditional UPDATE and inserts its history rows (and penalties) with one INSERT each, all in
one transaction per batch. Running it twice, or on two workers at once, changes nothing more;
a missed run is made good by the next.

- awaiting_merchant past merchant_due_at -> awaiting_platform, proposed verdict liable /
  no_reply, and a `dispute_no_answer` penalty of the dispute;
- awaiting_consumer past consumer_due_at -> closed: the settlement plan counts as accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from invoices.models import HistoryEntry
from tickets.models import Penalty

from ..models import Dispute
from ._common import SUBJECT

State = Dispute.State
BATCH_SIZE = 500


def _lapse(
    *,
    now: datetime,
    due_field: str,
    from_state: str,
    action: str,
    changes: dict[str, Any],
    after: Callable[[list[dict]], None] | None,
    batch_size: int,
) -> int:
    to_state = Dispute.TRANSITIONS[action][1]
    assert from_state in Dispute.TRANSITIONS[action][0]
    total = 0
    while True:
        with transaction.atomic():
            rows = list(
                Dispute.objects.filter(state=from_state, **{f"{due_field}__lt": now})
                .order_by(due_field, "pk")
                .select_for_update(skip_locked=True)
                .values("pk", "request_id", "shop_id", "kind", due_field)[:batch_size]
            )
            if not rows:
                return total
            ids = [r["pk"] for r in rows]
            moved = Dispute.objects.filter(pk__in=ids, state=from_state).update(
                state=to_state, **changes
            )
            if moved != len(ids):  # cannot happen under the row locks; never half-record
                raise RuntimeError(f"dispute deadline job: moved {moved} of {len(ids)}")
            HistoryEntry.objects.bulk_create(
                HistoryEntry(
                    request_id=r["request_id"],
                    subject=SUBJECT,
                    subject_id=r["pk"],
                    actor=None,
                    action=action,
                    state_from=from_state,
                    state_to=to_state,
                    data={due_field: r[due_field], "as_of": now},
                    at=now,
                )
                for r in rows
            )
            if after is not None:
                after(rows)
        total += len(rows)
        if len(rows) < batch_size:
            return total


def _no_answer_penalties(now: datetime) -> Callable[[list[dict]], None]:
    def record(rows: list[dict]) -> None:
        Penalty.objects.bulk_create(
            Penalty(
                shop_id=r["shop_id"],
                kind=Penalty.Kind.DISPUTE_NO_ANSWER,
                dispute_id=r["pk"],
                at=now,
                evidence={
                    "dispute_id": r["pk"],
                    "request_id": r["request_id"],
                    "merchant_due_at": r["merchant_due_at"].isoformat(),
                    "detected_at": now.isoformat(),
                },
            )
            for r in rows
        )

    return record


def disputes_enforce_deadlines(
    *, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> dict[str, int]:
    """Move every dispute whose merchant or consumer deadline passed before `now`; returns
    how many moved each way."""
    now = now or timezone.now()
    merchant = _lapse(
        now=now,
        due_field="merchant_due_at",
        from_state=State.AWAITING_MERCHANT,
        action="merchant_timed_out",
        changes={
            "platform_since": now,
            "proposed_verdict": Dispute.Verdict.LIABLE,
            "proposed_reason_code": Dispute.ReasonCode.NO_REPLY,
        },
        after=_no_answer_penalties(now),
        batch_size=batch_size,
    )
    consumer = _lapse(
        now=now,
        due_field="consumer_due_at",
        from_state=State.AWAITING_CONSUMER,
        action="settlement_deemed_accepted",
        changes={
            "outcome": Dispute.Outcome.SETTLED_BY_LAPSE,
            "closed_at": now,
        },
        after=None,
        batch_size=batch_size,
    )
    return {"merchant_timed_out": merchant, "settled_by_lapse": consumer}
