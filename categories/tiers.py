"""The category rules as pure functions (spec 13): tiers by cumulative share, the month's
target and its split. Amounts are Decimals in yuan with two places (fen).

**Tiers.** Rank the category's shops by last month's sales, largest first. A shop's
*share above* is the sales of the shops that sold strictly more than it, over the category's
sales; shops that sold the same are above none of each other, so they share a tier. With the
thresholds (50, 80, 95) (setting `JDPOP_CATEGORY_TIER_THRESHOLDS`):

| share above            | tier |
|------------------------|------|
| under 50 %             | 重点 |
| 50 % up to under 80 %  | A    |
| 80 % up to under 95 %  | B    |
| 95 % and more          | 普通 |

So the top seller is always 重点, a shop whose betters make exactly 50 % is A, exactly 80 % B,
exactly 95 % 普通. A category that sold nothing last month has no shares: every shop is 普通.
The comparison is exact (fen × 100 against threshold × total), never in floating point.

**Targets.** The category target is last month's sales × (1 + growth), rounded half up to the
fen. The operator sets the 重点 and A shops' targets (pre-filled as the target × the shop's
share of last month, split to the fen so that they add up); what is left is split evenly over
the B and 普通 shops, to the fen by largest remainder (the first shops in rank take the odd
fen), so the targets add up exactly to the category target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

FEN = Decimal("0.01")


class Tier(models.TextChoices):
    """The category tiers, top sellers first (spec 13)."""

    KEY = "key", _("重点 key shop")
    A = "a", _("A")
    B = "b", _("B")
    NORMAL = "normal", _("普通 ordinary")


TIER_ORDER = (Tier.KEY, Tier.A, Tier.B, Tier.NORMAL)
SET_BY_OPERATOR = (Tier.KEY, Tier.A)  # their targets are the operator's; the others share


def thresholds() -> tuple[int, int, int]:
    """The cumulative-share thresholds in percent (重点 | A | B), from the settings."""
    key, a, b = settings.JDPOP_CATEGORY_TIER_THRESHOLDS
    return int(key), int(a), int(b)


def tier_for(above: Decimal, total: Decimal, limits: Sequence[int] | None = None) -> Tier:
    """The tier of a shop whose betters sold `above` out of the category's `total`."""
    if total <= 0:
        return Tier.NORMAL
    for tier, limit in zip(TIER_ORDER, limits or thresholds(), strict=False):
        if above * 100 < limit * total:
            return tier
    return Tier.NORMAL


def assign_tiers(
    sales: Mapping[int, Decimal], limits: Sequence[int] | None = None
) -> dict[int, Tier]:
    """Each shop's tier from last month's sales per shop (shop id → yuan)."""
    total = sum(sales.values(), Decimal(0))
    by_amount: dict[Decimal, Decimal] = {}
    for amount in sales.values():
        by_amount[amount] = by_amount.get(amount, Decimal(0)) + amount
    above_of: dict[Decimal, Decimal] = {}
    running = Decimal(0)
    for amount in sorted(by_amount, reverse=True):
        above_of[amount] = running
        running += by_amount[amount]
    return {shop: tier_for(above_of[amount], total, limits) for shop, amount in sales.items()}


def to_fen(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def category_target(last_month: Decimal, growth: Decimal) -> Decimal:
    """Last month's sales × (1 + growth), to the fen."""
    return to_fen(last_month * (1 + growth))


def split(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """`total` (to the fen, ≥ 0) split in proportion to `weights` (evenly when they are all
    zero), each part to the fen, by largest remainder: the parts add up to `total` exactly; the
    fen left over go to the largest remainders, ties to the first."""
    if not weights:
        return []
    if sum(weights) <= 0:
        weights = [Decimal(1)] * len(weights)
    fen = int(to_fen(total) / FEN)
    whole = sum(weights, Decimal(0))
    exact = [Decimal(fen) * w / whole for w in weights]
    parts = [int(x.to_integral_value(rounding=ROUND_DOWN)) for x in exact]
    left = fen - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return [Decimal(p) * FEN for p in parts]


def prefill(target: Decimal, ranked: Sequence[tuple[int, Tier, Decimal]]) -> dict[int, Decimal]:
    """The 重点 and A shops' suggested targets (shop id → yuan): together, the target × their
    share of last month's sales (to the fen), split among them by their sales, to the fen.
    `ranked`: (shop, tier, last month's sales) of every shop of the category."""
    total = sum((sales for _, _, sales in ranked), Decimal(0))
    rows = [(shop, sales) for shop, tier, sales in ranked if tier in SET_BY_OPERATOR]
    if not rows or total <= 0:
        return {}
    weights = [sales for _, sales in rows]
    share = to_fen(target * sum(weights, Decimal(0)) / total)
    return dict(zip((shop for shop, _ in rows), split(share, weights), strict=True))


def remainder_split(
    target: Decimal, set_targets: Mapping[int, Decimal], others: Sequence[int]
) -> tuple[dict[int, Decimal], Decimal]:
    """The B and 普通 shops' targets: what the 重点 and A targets leave of `target`, evenly
    over `others` (in rank order), to the fen. Returns the targets and what is left unassigned
    (the whole remainder when there are no such shops, a negative amount when the set
    targets exceed the target, else 0)."""
    left = target - sum(set_targets.values(), Decimal(0))
    if not others or left < 0:  # none to share it, or the set targets went past the target
        return dict.fromkeys(others, Decimal("0.00")), left
    parts = split(left, [Decimal(1)] * len(others))
    return dict(zip(others, parts, strict=True)), Decimal("0.00")
