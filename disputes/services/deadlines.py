"""The deadline job (spec 5): state-based, set-based, idempotent.

Each pass selects only disputes still due (by state and a stored, indexed deadline strictly
before `now`), locks a batch (other workers skip it), moves the whole batch with one
conditional UPDATE and inserts its history rows (and penalties) with one INSERT each, all in
one transaction per batch. Running it twice, or on two workers at once, changes nothing more;
a missed run is made good by the next.

- awaiting_merchant past merchant_due_at -> awaiting_platform, proposed verdict liable /
  no_reply (the `disputes_timed_out` signal: the penalties app proposes a penalty);
- awaiting_consumer past consumer_due_at -> closed: the settlement plan counts as accepted
  (the `disputes_settled_by_lapse` signal);
- the accepted plans' promises (另行约定开票日期) whose date ended in China time: kept if an
  invoice was issued in time, else broken (the `dispute_promises_broken` signal: a
  broken-promise penalty, the consumer told), see `promises.py`;
- still awaiting_consumer with consumer_due_at at most JDPOP_DISPUTE_CONSUMER_REMINDER away (and
  not past): the `plan_reminders_due` signal, so the consumer hears before silence counts as
  acceptance. Nothing moves, so each run finds these disputes again, only within that bounded
  window (the partial index on consumer_due_at), until they move or lapse; the receivers keep
  what they write once by their unique key.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from core.history import history_rows
from core.sql import execute, id_rows, timestamp
from core.sql import ids as sql_ids

from ..models import Dispute
from ..plans import Plan
from ..rules import accepted_promise
from ..signals import disputes_settled_by_lapse, disputes_timed_out, plan_reminders_due
from ._common import SUBJECT
from .promises import disputes_settle_promises

State = Dispute.State
BATCH_SIZE = 500


def _move(ids: list[int], *, from_state: str, to_state: str, changes: dict[str, Any]) -> int:
    """One conditional UPDATE of the claimed disputes, joined on their ids (a plan that does not
    depend on the table's statistics, see `core.sql`)."""
    table = Dispute._meta.db_table
    values = {"state": to_state, **changes}
    assignments = ", ".join(f"{column} = %s" for column in values)
    sql = (
        f"UPDATE {table} SET {assignments} FROM {id_rows('chosen')} "
        f"WHERE {table}.id = chosen.id AND {table}.state = %s"
    )
    params = [timestamp(v) if isinstance(v, datetime) else v for v in values.values()]
    return execute(sql, [*params, sql_ids(ids), from_state])


def _lapse(
    *,
    now: datetime,
    due_field: str,
    from_state: str,
    action: str,
    changes: dict[str, Any],
    signal: Signal | None,
    counts: Counter,
    batch_size: int,
    then: Callable[[list[int]], object] | None = None,
) -> int:
    to_state = Dispute.TRANSITIONS[action][1]
    assert from_state in Dispute.TRANSITIONS[action][0]
    disputes = Dispute.objects.for_system()
    total = 0
    while True:
        with transaction.atomic():
            rows = list(
                disputes.filter(state=from_state, **{f"{due_field}__lt": now})
                .order_by(due_field, "pk")
                .select_for_update(skip_locked=True)
                .values("pk", "request_id", "shop_id", "kind", due_field)[:batch_size]
            )
            if not rows:
                return total
            ids = [r["pk"] for r in rows]
            moved = _move(ids, from_state=from_state, to_state=to_state, changes=changes)
            if moved != len(ids):  # cannot happen under the row locks; never half-record
                raise RuntimeError(f"dispute deadline job: moved {moved} of {len(ids)}")
            if then is not None:
                then(ids)
            history_rows(
                [
                    {
                        "request_id": r["request_id"],
                        "subject": SUBJECT,
                        "subject_id": r["pk"],
                        "action": action,
                        "state_from": from_state,
                        "state_to": to_state,
                        "data": {due_field: r[due_field], "as_of": now},
                    }
                    for r in rows
                ],
                at=now,
            )
            if signal is not None:
                for _receiver, extra in signal.send(sender=Dispute, ids=ids, at=now):
                    counts.update(extra or {})
        total += len(rows)
        if len(rows) < batch_size:
            return total


def disputes_enforce_deadlines(
    *, now: datetime | None = None, batch_size: int = BATCH_SIZE
) -> dict[str, int]:
    """Move every dispute whose merchant or consumer deadline passed before `now`, and settle
    the promises whose date ended; returns how many moved each way."""
    now = now or timezone.now()
    counts: Counter = Counter()
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
        signal=disputes_timed_out,
        counts=counts,
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
        signal=disputes_settled_by_lapse,
        counts=counts,
        batch_size=batch_size,
        then=_promise_binds,
    )
    kept, broken = disputes_settle_promises(now=now, counts=counts, batch_size=batch_size)
    _remind_consumers(now=now, counts=counts, batch_size=batch_size)
    return {
        "merchant_timed_out": merchant,
        "settled_by_lapse": consumer,
        "promises_kept": kept,
        "promises_broken": broken,
        **counts,
    }


def _promise_binds(ids: list[int]) -> None:
    """A plan with a date that counts as accepted is a promise, as if accepted (`..rules`)."""
    Dispute.objects.for_system().filter(pk__in=ids, plan=Plan.ANOTHER_DATE).update(
        **accepted_promise(Plan.ANOTHER_DATE)
    )


def _remind_consumers(*, now: datetime, counts: Counter, batch_size: int) -> int:
    """Report, a batch at a time, the disputes awaiting the consumer whose window ends within
    the reminder lead and has not ended (after the lapse step, so none that just closed); they
    are walked in deadline order by keyset, so the loop ends whatever the receivers do. How
    many it found."""
    due = Dispute.objects.for_system().filter(
        state=State.AWAITING_CONSUMER,
        consumer_due_at__gte=now,
        consumer_due_at__lte=now + settings.JDPOP_DISPUTE_CONSUMER_REMINDER,
    )
    total, after = 0, Q()
    while True:
        rows = list(
            due.filter(after)
            .order_by("consumer_due_at", "pk")
            .values_list("pk", "consumer_due_at")[:batch_size]
        )
        if not rows:
            return total
        with transaction.atomic():
            for _receiver, extra in plan_reminders_due.send(
                sender=Dispute, ids=[pk for pk, _due in rows], at=now
            ):
                counts.update(extra or {})
        total += len(rows)
        if len(rows) < batch_size:
            return total
        last_pk, last_due = rows[-1]
        after = Q(consumer_due_at__gt=last_due) | Q(consumer_due_at=last_due, pk__gt=last_pk)
