"""Reads of the category pages (spec 13). The pages read a category through
`Category.objects.for_operator(user)` (another category is a 404); its shops' orders, plan and
scorecard are then read for that category only (`for_system()` on an object already scoped).

The figures of a category page come from the closed months' sales rolled up by the job
`roll_up_category_sales` (`ShopMonthSales`) and one GROUP BY over this month's orders (sales
per shop and China month), the plan and its targets, the scorecard's one query and the shops:
the same few queries whatever the number of shops or orders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import DecimalField, ExpressionWrapper, F, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.shortcuts import get_object_or_404

from core.clock import CHINA, china_date, in_china
from core.models import Shop
from invoices.models import Order
from penalties.models import Penalty
from penalties.scorecard import Grade, ScorecardRow, month_bounds, penalty_kinds, scorecard

from . import tiers
from .models import (
    Category,
    CategoryShop,
    MonthPlan,
    RolledMonth,
    ShopMonthSales,
    ShopTarget,
)
from .tiers import Tier

User = AbstractBaseUser | AnonymousUser
MONTHS = 12  # the chart's months, the plan's month included
ZERO = Decimal("0.00")


def shift(month: date, by: int) -> date:
    """The first day of the month `by` months after `month`'s."""
    index = month.year * 12 + month.month - 1 + by
    return date(index // 12, index % 12 + 1, 1)


def operator_categories(user: User) -> QuerySet[Category]:
    """The categories `user` operates, by code."""
    return Category.objects.for_operator(user).order_by("code")


def operator_category(user: User, pk: int) -> Category:
    """One of `user`'s categories; any other is a 404 like one that does not exist."""
    return get_object_or_404(Category.objects.for_operator(user), pk=pk)


def operator_category_shop(user: User, pk: int, shop_pk: int) -> CategoryShop:
    """A shop of one of `user`'s categories; any other is a 404."""
    return get_object_or_404(
        CategoryShop.objects.for_operator(user).select_related("category", "shop"),
        category_id=pk,
        shop_id=shop_pk,
    )


def category_shop_ids(category: Category) -> QuerySet:
    """The ids of the category's shops, as a subquery."""
    return CategoryShop.objects.for_system().filter(category=category).values("shop_id")


def live_sales(
    shop_ids: QuerySet | list[int] | None, first: date, last: date
) -> dict[tuple[int, date], Decimal]:
    """Sales per (shop, China month) from `first`'s month to `last`'s, both included, read from
    the orders: those completed in the month (state completed or returned: a returned order
    keeps its `completed_at`), amount less what was returned. One GROUP BY query (PostgreSQL:
    an index-only range scan of `order_sales_idx`). `shop_ids` None: every shop."""
    start, _ = month_bounds(first)
    _, end = month_bounds(last)
    money = DecimalField(max_digits=16, decimal_places=2)
    net = ExpressionWrapper(F("amount") - F("returned_amount"), output_field=money)
    # Only completed and returned orders have a completion time (a check constraint of
    # Order): no state filter, so the index alone answers.
    orders = Order.objects.for_system().filter(completed_at__gte=start, completed_at__lt=end)
    if shop_ids is not None:
        orders = orders.filter(shop_id__in=shop_ids)
    if first == last:  # one month (this one, usually): no need to cut the times into months
        rows = orders.order_by().values("shop_id").annotate(sales=Sum(net))
        return {(row["shop_id"], first): tiers.to_fen(row["sales"] or ZERO) for row in rows}
    rows = (
        orders.order_by()
        .annotate(month=TruncMonth("completed_at", tzinfo=CHINA))
        .values("shop_id", "month")
        .annotate(sales=Sum(net))
    )
    return {
        (row["shop_id"], in_china(row["month"]).date()): tiers.to_fen(row["sales"] or ZERO)
        for row in rows
    }


def monthly_sales(
    shop_ids: QuerySet | list[int], first: date, last: date
) -> dict[tuple[int, date], Decimal]:
    """Sales per (shop, China month) from `first`'s month to `last`'s: the closed months the
    job rolled up (`ShopMonthSales`) from there, the others (this month, at least) live from
    the orders. Three queries; the same figures either way."""
    wanted = [first]
    while wanted[-1] < last:
        wanted.append(shift(wanted[-1], 1))
    rolled = set(RolledMonth.objects.filter(month__in=wanted).values_list("month", flat=True))
    sales: dict[tuple[int, date], Decimal] = {}
    if rolled:
        rows = ShopMonthSales.objects.for_system().filter(
            shop_id__in=shop_ids, month__in=sorted(rolled)
        )
        sales.update(
            ((shop, month), amount)
            for shop, month, amount in rows.values_list("shop_id", "month", "sales")
        )
    live = [m for m in wanted if m not in rolled]
    if live:
        for key, amount in live_sales(shop_ids, live[0], live[-1]).items():
            if key[1] not in rolled:
                sales[key] = amount
    return sales


def _progress(to_date: Decimal, target: Decimal) -> Decimal | None:
    """Sales to date as a percentage of the target, to one decimal (none without a target)."""
    if not target:
        return None
    return (to_date * 100 / target).quantize(Decimal("0.1"))


@dataclass
class ShopLine:
    """One shop of the category in the plan's month."""

    shop: Shop
    rank: int
    tier: Tier
    last_month: Decimal  # the month before the plan's: what the tier and pre-fill rest on
    share_percent: Decimal | None  # of the category's sales last month
    target: Decimal
    target_set: bool  # the operator's own (重点 / A) rather than the pre-fill or the even split
    to_date: Decimal  # sales in the plan's month so far
    card: ScorecardRow | None
    months: list[Decimal] = field(default_factory=list)  # the chart's months, oldest first

    @property
    def progress_percent(self) -> Decimal | None:
        return _progress(self.to_date, self.target)

    @property
    def operator_sets(self) -> bool:
        return self.tier in tiers.SET_BY_OPERATOR

    @property
    def penalties_by_kind(self) -> list[tuple[Penalty.Kind, int]]:
        """Every penalty kind and the shop's penalties of it this month (0 without activity)."""
        counts = self.card.penalties_by_kind if self.card is not None else {}
        return [(kind, counts.get(kind.value, 0)) for kind in penalty_kinds()]

    @property
    def slipping(self) -> bool:
        """A top seller (重点) whose invoice compliance this month needs attention (spec 8)."""
        return (
            self.tier == Tier.KEY and self.card is not None and self.card.grade == Grade.ATTENTION
        )


@dataclass
class Overview:
    """A category's plan month: its shops by rank, the target, the progress, the months."""

    category: Category
    month: date
    months: list[date]
    plan: MonthPlan | None
    growth: Decimal
    last_month: Decimal
    target: Decimal
    to_date: Decimal
    unassigned: Decimal  # the category target not assigned to any shop (negative: over)
    lines: list[ShopLine]
    totals: list[Decimal]  # the category's sales per month of `months`
    thresholds: tuple[int, int, int]

    @property
    def progress_percent(self) -> Decimal | None:
        return _progress(self.to_date, self.target)

    @property
    def growth_percent(self) -> Decimal:
        return (self.growth * 100).quantize(Decimal("0.01"))

    def tier_counts(self) -> list[tuple[Tier, int]]:
        return [(t, sum(1 for line in self.lines if line.tier == t)) for t in tiers.TIER_ORDER]

    def slipping(self) -> list[ShopLine]:
        """The 重点 shops whose compliance needs attention, by rank."""
        return [line for line in self.lines if line.slipping]


def plan_month(now: datetime | None = None) -> date:
    """The month a plan is made for: this China month."""
    return china_date(now).replace(day=1)


def overview(category: Category, month: date, *, with_scorecard: bool = True) -> Overview:
    """Everything a category page shows for `month` (its first day), in six queries."""
    months = [shift(month, i - MONTHS + 1) for i in range(MONTHS)]
    previous = shift(month, -1)
    shops = list(
        Shop.objects.for_system().filter(pk__in=category_shop_ids(category)).order_by("jd_shop_id")
    )
    sales = monthly_sales(category_shop_ids(category), min(months[0], previous), month)
    last = {shop.pk: sales.get((shop.pk, previous), ZERO) for shop in shops}
    tier_of = tiers.assign_tiers(last)
    ranked = sorted(shops, key=lambda s: (-last[s.pk], s.jd_shop_id))
    total_last = sum(last.values(), ZERO)

    plan = MonthPlan.objects.for_system().filter(category=category, month=month).first()
    growth = plan.growth if plan else Decimal(0)
    target = tiers.category_target(total_last, growth)
    chosen: dict[int, Decimal] = {}
    if plan is not None:
        chosen = dict(
            ShopTarget.objects.for_system().filter(plan=plan).values_list("shop_id", "amount")
        )
    suggested = tiers.prefill(target, [(s.pk, tier_of[s.pk], last[s.pk]) for s in ranked])
    set_targets = {
        s.pk: chosen.get(s.pk, suggested.get(s.pk, ZERO))
        for s in ranked
        if tier_of[s.pk] in tiers.SET_BY_OPERATOR
    }
    others = [s.pk for s in ranked if tier_of[s.pk] not in tiers.SET_BY_OPERATOR]
    shared, unassigned = tiers.remainder_split(target, set_targets, others)
    cards = (
        {row.shop_id: row for row in scorecard(month=month, shop_ids=[s.pk for s in shops])}
        if with_scorecard
        else {}
    )
    lines = [
        ShopLine(
            shop=s,
            rank=i,
            tier=tier_of[s.pk],
            last_month=last[s.pk],
            share_percent=(
                (last[s.pk] * 100 / total_last).quantize(Decimal("0.01")) if total_last else None
            ),
            target=set_targets.get(s.pk, shared.get(s.pk, ZERO)),
            target_set=s.pk in chosen,
            to_date=sales.get((s.pk, month), ZERO),
            card=cards.get(s.pk),
            months=[sales.get((s.pk, m), ZERO) for m in months],
        )
        for i, s in enumerate(ranked, start=1)
    ]
    totals = [sum((line.months[j] for line in lines), ZERO) for j in range(len(months))]
    return Overview(
        category=category,
        month=month,
        months=months,
        plan=plan,
        growth=growth,
        last_month=total_last,
        target=target,
        to_date=totals[-1],
        unassigned=unassigned,
        lines=lines,
        totals=totals,
        thresholds=tiers.thresholds(),
    )
