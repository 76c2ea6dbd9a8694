"""Reads of the merchant's dashboard. Every query is scoped by `for_merchant(user)` and, when
the user picked one shop, filtered to it; every figure is a SQL aggregate, so the page costs
the same number of queries for three tickets or three million.

The figures count as the shop scorecard does (`penalties.scorecard`), in China months: tickets
by their opening (on time: SLA met, over those whose SLA is known), disputes lost (judged,
merchant liable) by their closing, penalties not waived by when they were recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet, Subquery
from django.db.models.functions import TruncMonth

from core.clock import CHINA, china_date, in_china
from core.models import Shop
from disputes.models import Dispute
from invoices.models import InvoiceRequest
from penalties.models import Penalty
from penalties.scorecard import month_bounds
from tickets.models import UrgeTicket
from tickets.selectors import OPEN_STATES

User = AbstractBaseUser | AnonymousUser
MONTHS = 12  # the chart's months, this one included
LIST_SIZE = 20  # rows of each list on the dashboard; the full lists are a link away


def dashboard_shops(user: User) -> QuerySet[Shop]:
    """The shops `user` works for, by name: the switcher's choices."""
    return Shop.objects.for_merchant(user).order_by("name", "pk")


def _scoped(qs: QuerySet, shop_id: int | None) -> QuerySet:
    return qs if shop_id is None else qs.filter(shop_id=shop_id)


@dataclass(frozen=True)
class Deadline:
    """One thing the shop must answer: a ticket awaiting its reply or a dispute awaiting the
    shop's plan, with its deadline."""

    kind: str  # "ticket" or "dispute"
    pk: int
    due_at: datetime
    order_number: str
    shop_name: str
    url_name: str  # the page to answer it on


def needs_answer(user: User, shop_id: int | None = None) -> list[Deadline]:
    """Tickets awaiting a reply and disputes awaiting the shop, soonest deadline first (at most
    `LIST_SIZE` of each), in two queries."""
    tickets = _scoped(UrgeTicket.objects.for_merchant(user), shop_id).filter(
        state=UrgeTicket.State.AWAITING_REPLY
    )
    disputes = _scoped(Dispute.objects.for_merchant(user), shop_id).filter(
        state=Dispute.State.AWAITING_MERCHANT
    )
    # The tickets by a deferred join (their keys first: an index-only scan of
    # ticket_perf_shop_list_idx), as the lists do: no index returns a set of shops' rows in
    # order, and sorting every ticket awaiting a reply read them all from the table.
    soonest = tickets.order_by("reply_due_at", "pk")
    keys = soonest.values("pk")[:LIST_SIZE]
    rows = [
        Deadline("ticket", t.pk, t.reply_due_at, t.request.order.number, t.shop.name,
                 "merchant-ticket")
        for t in soonest.filter(pk__in=Subquery(keys)).select_related("request__order", "shop")
    ] + [
        Deadline("dispute", d.pk, d.merchant_due_at, d.request.order.number, d.shop.name,
                 "merchant-dispute")
        for d in disputes.select_related("request__order", "shop").order_by(
            "merchant_due_at", "pk"
        )[:LIST_SIZE]
    ]  # fmt: skip
    return sorted(rows, key=lambda row: (row.due_at, row.kind, row.pk))


def at_risk(user: User, now: datetime, shop_id: int | None = None) -> QuerySet[InvoiceRequest]:
    """Pending requests not yet overdue that become overdue within `JDPOP_AT_RISK` (a request
    whose overdue instant is exactly that far ahead is at risk), soonest first. Issuing them now
    avoids the ticket."""
    return (
        _scoped(InvoiceRequest.objects.for_merchant(user), shop_id)
        .filter(
            state=InvoiceRequest.State.PENDING,
            overdue_at__gte=now,
            overdue_at__lte=now + settings.JDPOP_AT_RISK,
        )
        .select_related("order", "shop")
        .order_by("overdue_at", "pk")
    )


@dataclass(frozen=True)
class Month:
    """One China month of a shop's (or the user's shops') figures."""

    month: date  # its first day
    tickets_opened: int = 0
    tickets_decided: int = 0  # SLA known: met, late or missed
    tickets_on_time: int = 0
    disputes_lost: int = 0
    penalties: int = 0

    @property
    def on_time_percent(self) -> float | None:
        """Tickets answered on time over those whose SLA is known; None with none known."""
        if not self.tickets_decided:
            return None
        return round(self.tickets_on_time * 100 / self.tickets_decided, 1)


def _month_shift(month: date, by: int) -> date:
    index = month.year * 12 + month.month - 1 + by
    return date(index // 12, index % 12 + 1, 1)


def _by_month(qs: QuerySet, field: str, **counts) -> dict[date, dict]:
    """`counts` (name → aggregate) of `qs` per China month of `field`: one GROUP BY query."""
    rows = (
        qs.order_by()
        .annotate(month=TruncMonth(field, tzinfo=CHINA))
        .values("month")
        .annotate(**counts)
    )
    return {in_china(row.pop("month")).date(): row for row in rows}


def monthly_figures(user: User, now: datetime, shop_id: int | None = None) -> list[Month]:
    """The last `MONTHS` China months up to `now`'s, oldest first: three GROUP BY queries."""
    this_month = china_date(now).replace(day=1)
    first = _month_shift(this_month, -(MONTHS - 1))
    start, _ = month_bounds(first)
    _, end = month_bounds(this_month)
    window = {"gte": start, "lt": end}

    def within(field: str) -> dict:
        return {f"{field}__{op}": at for op, at in window.items()}

    tickets = _by_month(
        _scoped(UrgeTicket.objects.for_merchant(user), shop_id).filter(**within("opened_at")),
        "opened_at",
        # Counted on indexed columns (never null), so that ticket_perf_shop_opened_idx
        # (shop, opened_at, including the SLA) answers without the table.
        tickets_opened=Count("opened_at"),
        tickets_decided=Count("opened_at", filter=~Q(sla=UrgeTicket.Sla.NONE)),
        tickets_on_time=Count("opened_at", filter=Q(sla=UrgeTicket.Sla.MET)),
    )
    lost = _by_month(
        _scoped(Dispute.objects.for_merchant(user), shop_id).filter(
            outcome=Dispute.Outcome.JUDGED, verdict=Dispute.Verdict.LIABLE, **within("closed_at")
        ),
        "closed_at",
        disputes_lost=Count("pk"),
    )
    penalties = _by_month(
        _scoped(Penalty.objects.for_merchant(user), shop_id)
        .exclude(state=Penalty.State.WAIVED)
        .filter(**within("at")),
        "at",
        penalties=Count("pk"),
    )
    months = [_month_shift(first, i) for i in range(MONTHS)]
    return [
        Month(month=m, **tickets.get(m, {}), **lost.get(m, {}), **penalties.get(m, {}))
        for m in months
    ]


def open_ticket_counts(user: User, shop_id: int | None = None) -> dict[str, int]:
    """Open tickets (the workbench's default list: awaiting a reply or past the window without
    one) and those still awaiting a reply, in one query."""
    return _scoped(UrgeTicket.objects.for_merchant(user), shop_id).aggregate(
        open=Count("pk", filter=Q(state__in=OPEN_STATES)),
        awaiting=Count("pk", filter=Q(state=UrgeTicket.State.AWAITING_REPLY)),
    )
