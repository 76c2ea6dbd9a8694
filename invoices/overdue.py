"""When an invoice request is overdue (spec 4.1, 7): the one definition, in its two forms.

The instant: the later of (the request's own time, or the moment its shop joined the new flow
if that was later, plus the overdue period `JDPOP_OVERDUE_AFTER`, 10 × 24 h, elapsed time) and
the order's completion. None while the order is not completed (a request made at checkout waits
for the completion: a completion on day 12 makes it overdue at once) or while its shop is on
the old flow. It is stored on the request (`overdue_at`) so that the opening job finds what is
due with one index range scan, and rewritten set-based when a shop joins or leaves the new flow
(`invoices.rollout`) and when the platform's order feed changes an order (`invoices.feed`).

The predicate: the request is still pending and `now` is strictly past that instant (a request
exactly 10 × 24 h old is not yet overdue).

Each has a Python form (one request) and a database form (a whole queryset), pinned to agree
by the same table of cases in `tests/invoices/test_overdue.py`.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db.models import (
    Case,
    DateTimeField,
    Expression,
    F,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Greatest
from django.db.models.lookups import IsNull

from core.models import Shop

from .models import InvoiceRequest, Order

PENDING = InvoiceRequest.State.PENDING


def overdue_at_for(
    *, requested_at: datetime, flow_since: datetime | None, completed_at: datetime | None
) -> datetime | None:
    """The overdue instant of a request made at `requested_at` in a shop on the new flow since
    `flow_since` (None: the old flow, never overdue), for an order completed at `completed_at`
    (None: not completed, not overdue until it is)."""
    if flow_since is None or completed_at is None:
        return None
    return max(max(requested_at, flow_since) + settings.JDPOP_OVERDUE_AFTER, completed_at)


def overdue_at_expression(flow_since: datetime | None = None) -> Expression:
    """`overdue_at_for` as a database expression over a request's row (for an UPDATE of many
    requests): its `requested_at`, its order's `completed_at` and `flow_since`, or, when that
    is not given, its shop's `new_flow_since`. NULL when either is NULL (written out, because
    PostgreSQL's GREATEST skips NULLs where SQLite's returns NULL)."""
    since = (
        Value(flow_since, output_field=DateTimeField())
        if flow_since is not None
        else Subquery(
            Shop.objects.for_system().filter(pk=OuterRef("shop_id")).values("new_flow_since")[:1]
        )
    )
    completed = Subquery(
        Order.objects.for_system().filter(pk=OuterRef("order_id")).values("completed_at")[:1]
    )
    instant = Greatest(
        Greatest(F("requested_at"), since) + settings.JDPOP_OVERDUE_AFTER,
        completed,
        output_field=DateTimeField(),
    )
    return Case(
        When(IsNull(completed, True), then=Value(None, output_field=DateTimeField())),
        When(IsNull(since, True), then=Value(None, output_field=DateTimeField())),
        default=instant,
        output_field=DateTimeField(),
    )


def is_overdue(request: InvoiceRequest, now: datetime) -> bool:
    """Pending, and `now` strictly past the request's overdue instant."""
    return request.state == PENDING and request.overdue_at is not None and now > request.overdue_at


def overdue_q(now: datetime) -> Q:
    """`is_overdue` as a filter (for a shop, served by the partial index
    ir_perf_shop_at_risk_idx; the opening job reads its queue, invoices.DueRequest)."""
    return Q(state=PENDING, overdue_at__isnull=False, overdue_at__lt=now)
