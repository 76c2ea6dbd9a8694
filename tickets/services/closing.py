"""Closing the tickets of requests that ended with their order (spec 4): no penalty."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.history import history_rows

from ..models import UrgeTicket

State = UrgeTicket.State
Promise = UrgeTicket.PromiseState


def tickets_close_with_requests(*, ids: list[int], at: datetime, **kwargs: Any) -> int:
    """The platform's feed cancelled these requests with their orders (cancelled or returned):
    their tickets still awaiting a reply are closed, and a pending promise is withdrawn, so
    neither the missed-reply nor the broken-promise job proposes a penalty for them. A breached
    ticket keeps its flag. One history entry per ticket changed; a few statements however many.
    (A receiver of `invoices.signals.requests_cancelled_with_order`, in its transaction.)"""
    tickets = UrgeTicket.objects.for_system().filter(request_id__in=ids)
    locked = tickets.select_for_update(no_key=True)  # against the flagging jobs
    rows = list(locked.values_list("pk", "request_id", "state", "promise_state"))
    awaiting = [pk for pk, _r, state, _p in rows if state == State.AWAITING_REPLY]
    promised = [pk for pk, _r, _s, promise in rows if promise == Promise.PENDING]
    closed = tickets.filter(pk__in=awaiting, state=State.AWAITING_REPLY).update(
        state=State.CLOSED, closed_at=at
    )
    tickets.filter(pk__in=promised, promise_state=Promise.PENDING).update(
        promise_state=Promise.NONE, promise_due_at=None
    )
    history_rows(
        [
            {
                "request_id": request_id,
                "subject": "ticket",
                "subject_id": pk,
                "action": "ticket_closed",
                "state_from": state,
                "state_to": State.CLOSED if pk in awaiting else state,
                "data": {"promise_withdrawn": pk in promised},
            }
            for pk, request_id, state, _p in rows
            if pk in awaiting or pk in promised
        ],
        at=at,
    )
    return closed
