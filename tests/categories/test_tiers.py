"""Tiers at each cumulative-share boundary, and the month's target split to the fen (spec 13,
`categories/tiers.py`)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from categories.tiers import (
    Tier,
    assign_tiers,
    category_target,
    prefill,
    remainder_split,
    split,
    tier_for,
)

D = Decimal
LIMITS = (50, 80, 95)


@pytest.mark.parametrize(
    ("above", "tier"),
    [
        ("0", Tier.KEY),
        ("49.99", Tier.KEY),
        ("50.00", Tier.A),  # exactly 50 % above: no longer 重点
        ("79.99", Tier.A),
        ("80.00", Tier.B),
        ("94.99", Tier.B),
        ("95.00", Tier.NORMAL),
        ("100.00", Tier.NORMAL),
    ],
)
def test_the_tier_of_a_share_above_at_each_boundary(above, tier):
    assert tier_for(D(above), D("100.00"), LIMITS) == tier


def test_the_boundaries_in_a_category():
    # given shops whose betters make exactly 0, 50, 80 and 95 % of the category's sales
    sales = {1: D("50"), 2: D("30"), 3: D("15"), 4: D("5")}
    # then the top seller is 重点 and each next one falls exactly on the next threshold
    assert assign_tiers(sales, LIMITS) == {1: Tier.KEY, 2: Tier.A, 3: Tier.B, 4: Tier.NORMAL}


def test_one_fen_under_a_boundary_keeps_the_better_tier():
    # given betters making 49.99, 79.99 and 94.99 of 100.00: each shop just under a threshold
    sales = {1: D("49.99"), 2: D("30.00"), 3: D("15.00"), 4: D("5.01")}
    # then each keeps the better tier
    assert assign_tiers(sales, LIMITS) == {1: Tier.KEY, 2: Tier.KEY, 3: Tier.A, 4: Tier.B}


def test_shops_that_sold_the_same_share_a_tier():
    sales = {1: D("40"), 2: D("40"), 3: D("20")}
    assert assign_tiers(sales, LIMITS) == {1: Tier.KEY, 2: Tier.KEY, 3: Tier.B}


def test_the_thresholds_are_settings(settings):
    sales = {1: D("30"), 2: D("25"), 3: D("25"), 4: D("20")}
    assert assign_tiers(sales) == {1: Tier.KEY, 2: Tier.KEY, 3: Tier.KEY, 4: Tier.B}
    settings.JDPOP_CATEGORY_TIER_THRESHOLDS = (20, 60, 90)
    assert assign_tiers(sales) == {1: Tier.KEY, 2: Tier.A, 3: Tier.A, 4: Tier.B}


def test_a_category_that_sold_nothing_is_all_ordinary():
    assert assign_tiers({1: D("0"), 2: D("0")}, LIMITS) == {1: Tier.NORMAL, 2: Tier.NORMAL}
    assert assign_tiers({}, LIMITS) == {}


def test_a_shop_that_sold_nothing_is_ordinary():
    assert assign_tiers({1: D("10"), 2: D("0")}, LIMITS)[2] == Tier.NORMAL


def test_the_category_target_is_last_month_plus_growth_to_the_fen():
    assert category_target(D("1000.00"), D("0.10")) == D("1100.00")
    assert category_target(D("333.33"), D("0.05")) == D("350.00")  # 349.9965 → 350.00
    assert category_target(D("0.01"), D("0.5")) == D("0.02")  # half a fen rounds up


@pytest.mark.parametrize(
    ("total", "n"), [("100.00", 3), ("0.05", 7), ("1234567.89", 13), ("0.00", 4), ("10", 1)]
)
def test_an_even_split_adds_up_to_the_fen(total, n):
    parts = split(D(total), [D(1)] * n)
    assert sum(parts) == D(total)
    assert max(parts) - min(parts) <= D("0.01")
    assert all(p == p.quantize(D("0.01")) for p in parts)


def test_the_odd_fen_go_to_the_first_shops():
    assert split(D("100.00"), [D(1)] * 3) == [D("33.34"), D("33.33"), D("33.33")]


def test_a_proportional_split_adds_up_and_follows_the_weights():
    parts = split(D("1000.00"), [D("3"), D("3"), D("1")])
    assert sum(parts) == D("1000.00")
    # 42857.14, 42857.14 and 14285.71 fen: the one fen left goes to the largest remainder
    assert parts == [D("428.57"), D("428.57"), D("142.86")]


def test_the_targets_add_up_to_the_category_target():
    # given last month 重点 60, A 25, B 10 and 5 普通 shops of 1 each
    ranked = [(1, Tier.KEY, D("60")), (2, Tier.A, D("25")), (3, Tier.B, D("10"))] + [
        (10 + i, Tier.NORMAL, D("1")) for i in range(5)
    ]
    target = category_target(D("100"), D("0.0333"))  # 103.33
    set_targets = prefill(target, ranked)
    # the 重点 and A shops are pre-filled in proportion to last month: 85 % of 103.33
    assert set_targets == {1: D("62.00"), 2: D("25.83")}
    shared, unassigned = remainder_split(target, set_targets, [3, 10, 11, 12, 13, 14])
    assert unassigned == 0
    assert sum(set_targets.values()) + sum(shared.values()) == target
    assert sorted(shared.values()) == [D("2.58")] * 4 + [D("2.59")] * 2


def test_operator_targets_leave_the_rest_to_the_others():
    shared, unassigned = remainder_split(D("1000.00"), {1: D("700.00")}, [2, 3, 4])
    assert shared == {2: D("100.00"), 3: D("100.00"), 4: D("100.00")}
    assert unassigned == 0


def test_without_others_the_rest_is_unassigned_and_an_overshoot_negative():
    assert remainder_split(D("100.00"), {1: D("60.00")}, []) == ({}, D("40.00"))
    assert remainder_split(D("100.00"), {1: D("120.00")}, [2]) == ({2: D("0.00")}, D("-20.00"))
