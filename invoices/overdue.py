"""When an invoice request is overdue (spec 4.1, 7): the one definition, in its two forms.

The instant: the later of the request's own time and the moment its shop joined the new flow,
plus the overdue period (`JDPOP_OVERDUE_AFTER`, 10 × 24 h, elapsed time); none while its shop is
on the old flow. It is stored on the request (`overdue_at`) so that the opening job finds what
is due with one index range scan, and rewritten for a whole shop when the shop joins or leaves
the new flow.

The predicate: the request is still pending and `now` is strictly past that instant (a request
exactly 10 × 24 h old is not yet overdue).

Each has a Python form (one request) and a database form (a whole queryset), pinned to agree
by the same table of cases in `tests/invoices/test_overdue.py`.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db.models import F, Q, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Greatest

from .models import InvoiceRequest

PENDING = InvoiceRequest.State.PENDING


def overdue_at_for(*, requested_at: datetime, flow_since: datetime | None) -> datetime | None:
    """The overdue instant of a request made at `requested_at` in a shop on the new flow since
    `flow_since` (None: the old flow, never overdue)."""
    if flow_since is None:
        return None
    return max(requested_at, flow_since) + settings.JDPOP_OVERDUE_AFTER


def overdue_at_expression(flow_since: datetime) -> CombinedExpression:
    """`overdue_at_for` as a database expression over a request's `requested_at`, for the
    shop that joined the new flow at `flow_since`."""
    return Greatest(F("requested_at"), Value(flow_since)) + settings.JDPOP_OVERDUE_AFTER


def is_overdue(request: InvoiceRequest, now: datetime) -> bool:
    """Pending, and `now` strictly past the request's overdue instant."""
    return request.state == PENDING and request.overdue_at is not None and now > request.overdue_at


def overdue_q(now: datetime) -> Q:
    """`is_overdue` as a filter (served by the partial index ir_pending_overdue_idx)."""
    return Q(state=PENDING, overdue_at__isnull=False, overdue_at__lt=now)
