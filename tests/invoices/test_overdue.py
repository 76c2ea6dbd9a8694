"""Spec 4.1 and 7, the one definition of "overdue" (invoices.overdue), in its two forms.

One table of cases; for each, the instant computed in Python (`overdue_at_for`, used when a
request is made) equals the one the database computes when a shop joins the new flow and when
the order feed changes its order (`overdue_at_expression`), and the predicate in Python
(`is_overdue`, the pages) agrees with the filter the job and the health check use
(`overdue_q`), at each boundary.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from invoices.models import InvoiceRequest, Order
from invoices.overdue import is_overdue, overdue_at_expression, overdue_at_for, overdue_q
from tests.factories import InvoiceRequestFactory

pytestmark = pytest.mark.django_db
CHINA = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 1, 23, 30, tzinfo=CHINA)  # late evening: day counts cross midnight
D, S = timedelta(days=1), timedelta(seconds=1)

# (requested at, on the new flow since, completed at, now, state) -> overdue?
CASES = [
    # requested on the new flow, the order completed before: 10 × 24 h after the request
    (T0, T0 - 30 * D, T0 - D, T0 + 10 * D - S, "pending", False),
    (T0, T0 - 30 * D, T0 - D, T0 + 10 * D, "pending", False),
    (T0, T0 - 30 * D, T0 - D, T0 + 10 * D + S, "pending", True),
    # requested before the shop joined: 10 × 24 h after it joined, not at once
    (T0 - 40 * D, T0, T0 - 41 * D, T0 + S, "pending", False),
    (T0 - 40 * D, T0, T0 - 41 * D, T0 + 10 * D, "pending", False),
    (T0 - 40 * D, T0, T0 - 41 * D, T0 + 10 * D + S, "pending", True),
    # requested at checkout: never overdue before the order completes
    (T0, T0 - 30 * D, None, T0 + 99 * D, "pending", False),
    # ... completed on day 9: the 10 × 24 h still decide
    (T0, T0 - 30 * D, T0 + 9 * D, T0 + 10 * D, "pending", False),
    (T0, T0 - 30 * D, T0 + 9 * D, T0 + 10 * D + S, "pending", True),
    # ... completed on day 12: overdue strictly after the completion (at once, once it is known)
    (T0, T0 - 30 * D, T0 + 12 * D, T0 + 12 * D - S, "pending", False),
    (T0, T0 - 30 * D, T0 + 12 * D, T0 + 12 * D, "pending", False),
    (T0, T0 - 30 * D, T0 + 12 * D, T0 + 12 * D + S, "pending", True),
    # ... completed exactly at the 10 × 24 h, or a second either side of it
    (T0, T0 - 30 * D, T0 + 10 * D - S, T0 + 10 * D, "pending", False),
    (T0, T0 - 30 * D, T0 + 10 * D - S, T0 + 10 * D + S, "pending", True),
    (T0, T0 - 30 * D, T0 + 10 * D, T0 + 10 * D, "pending", False),
    (T0, T0 - 30 * D, T0 + 10 * D, T0 + 10 * D + S, "pending", True),
    (T0, T0 - 30 * D, T0 + 10 * D + S, T0 + 10 * D + S, "pending", False),
    (T0, T0 - 30 * D, T0 + 10 * D + S, T0 + 10 * D + 2 * S, "pending", True),
    # the shop joined after the completion: 10 × 24 h after it joined
    (T0 - 40 * D, T0, T0 - 20 * D, T0 + 10 * D + S, "pending", True),
    # the old flow: never
    (T0 - 40 * D, None, T0 - 41 * D, T0 + 99 * D, "pending", False),
    # only a pending request is overdue
    (T0, T0 - 30 * D, T0 - D, T0 + 11 * D, "issued", False),
    (T0, T0 - 30 * D, T0 - D, T0 + 11 * D, "refused", False),
    (T0, T0 - 30 * D, T0 - D, T0 + 11 * D, "cancelled", False),
]


# What each ended state carries (the table's constraints ask for it).
OUTCOME = {
    "issued": {"issued_at": T0, "invoice_number": "1" * 20, "invoice_file": "invoices/x.pdf"},
    "refused": {"refused_at": T0, "refuse_reason": "无法开具"},
}


@pytest.mark.parametrize(("requested", "since", "completed", "now", "state", "overdue"), CASES)
def test_both_forms_agree_at_every_boundary(
    requested, since, completed, now, state, overdue, settings
):
    settings.JDPOP_OVERDUE_AFTER = 10 * D
    instant = overdue_at_for(requested_at=requested, flow_since=since, completed_at=completed)
    order_state = Order.State.COMPLETED if completed else Order.State.SHIPPED
    r = InvoiceRequestFactory(
        order__state=order_state,
        order__completed_at=completed,
        order__shop__new_flow_since=since,
        requested_at=requested,
        overdue_at=instant,
        state=state,
        **OUTCOME.get(state, {}),
    )
    rows = InvoiceRequest.objects.for_system().filter(pk=r.pk)
    # the database computes the same instant for a whole shop joining the flow at `since` ...
    if since is not None:
        rows.update(overdue_at=overdue_at_expression(since))
        r.refresh_from_db()
        assert r.overdue_at == instant
    # ... and from the shop's own flow and the order's completion (the order feed)
    rows.update(overdue_at=None)
    rows.update(overdue_at=overdue_at_expression())
    r.refresh_from_db()
    assert r.overdue_at == instant
    assert is_overdue(r, now) is overdue
    assert InvoiceRequest.objects.for_system().filter(overdue_q(now), pk=r.pk).exists() is overdue
    assert (r in InvoiceRequest.objects.for_system().overdue(now)) is overdue
