"""The category operator's pages (spec 13): sales from the orders in China months, tiers and
targets on the page, the plan saved with its history, another category a 404, the export,
and a query count that does not grow with the shops."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from django.urls import reverse

from categories import selectors
from categories.models import MonthPlan, ShopTarget
from categories.tiers import Tier
from core.clock import CHINA
from core.models import HistoryEntry
from invoices.models import Order
from penalties.models import Penalty
from penalties.scorecard import Grade
from tests.categories.factories import category_with, sold
from tests.factories import OrderFactory, ShopFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 15, 10, 0, tzinfo=CHINA)


def cn(*parts: int) -> datetime:
    """A China wall-clock time."""
    return datetime(*parts, tzinfo=CHINA)


D = Decimal


@pytest.fixture
def world():
    """Category C1 with four shops that sold 50 / 30 / 15 / 5 (thousand) in October, its
    operator; category C2 with its own shop and operator."""
    with time_machine.travel(NOW, tick=False):
        category, shops, operator = category_with(4, operator=True)
        for shop, amount in zip(shops, ["50000", "30000", "15000", "5000"], strict=True):
            sold(shop, amount, cn(2026, 10, 10, 12))
        sold(shops[0], "1000", cn(2026, 11, 3, 12))  # this month, to date
        other, other_shops, other_operator = category_with(1, code="C2", operator=True)
        sold(other_shops[0], "999", cn(2026, 10, 10, 12))
        yield category, shops, operator, other, other_shops, other_operator


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_sales_count_completed_orders_less_returns_in_china_months(frozen):
    # given orders at each edge of October in China time, returns and unfinished ones
    category, (shop,), _op = category_with(1)
    sold(shop, "100", cn(2026, 9, 30, 23, 59, 59))  # September
    sold(shop, "10", cn(2026, 10, 1, 0, 0, 0))  # October (16:00 UTC on 30 September)
    sold(shop, "20", cn(2026, 10, 31, 23, 59, 59))  # October
    sold(shop, "40", cn(2026, 11, 1, 0, 0, 0))  # November
    sold(shop, "50", cn(2026, 10, 5), returned="15")  # partly returned: 35
    sold(shop, "60", cn(2026, 10, 6), returned="60", state=Order.State.RETURNED)  # 0
    for state in (Order.State.PAID, Order.State.SHIPPED, Order.State.CANCELLED):
        OrderFactory(shop=shop, amount=D("1000"), state=state, completed_at=None)
    sales = selectors.monthly_sales([shop.pk], date(2026, 9, 1), NOW.date())
    assert sales[(shop.pk, date(2026, 9, 1))] == D("100.00")
    assert sales[(shop.pk, date(2026, 10, 1))] == D("65.00")  # 10 + 20 + 35 + 0
    assert sales[(shop.pk, date(2026, 11, 1))] == D("40.00")


def test_the_overview_tiers_the_shops_and_splits_the_target(world):
    category, shops, *_ = world
    with time_machine.travel(NOW, tick=False):
        o = selectors.overview(category, selectors.plan_month())
    assert [line.shop for line in o.lines] == shops
    assert [line.tier for line in o.lines] == [Tier.KEY, Tier.A, Tier.B, Tier.NORMAL]
    assert o.last_month == D("100000.00") and o.target == D("100000.00")  # no growth yet
    # pre-filled in proportion: 重点 50 000, A 30 000; B and 普通 share the other 20 000
    assert [line.target for line in o.lines] == [D("50000"), D("30000"), D("10000"), D("10000")]
    assert sum(line.target for line in o.lines) == o.target
    assert o.lines[0].to_date == D("1000.00") and o.lines[0].progress_percent == D("2.0")


def test_the_operator_saves_the_plan_with_its_history(client, world):
    category, shops, operator, *_ = world
    client.force_login(operator)
    with time_machine.travel(NOW, tick=False):
        response = client.post(
            reverse("category-plan", args=[category.pk]),
            {
                "growth_percent": "10",
                f"target_{shops[0].pk}": "60000.00",
                f"target_{shops[1].pk}": "33333.33",
            },
        )
        assert response.status_code == 302
        o = selectors.overview(category, selectors.plan_month())
    assert o.target == D("110000.00")
    # the rest, 16 666.67, evenly over the B and 普通 shops, to the fen
    assert [line.target for line in o.lines] == [
        D("60000.00"),
        D("33333.33"),
        D("8333.34"),
        D("8333.33"),
    ]
    assert sum(line.target for line in o.lines) == o.target
    plan = MonthPlan.objects.for_system().get(category=category)
    assert plan.growth == D("0.1") and plan.updated_by == operator
    entry = HistoryEntry.objects.for_system().get(subject="category", subject_id=category.pk)
    assert entry.action == "category_plan_saved" and entry.actor == operator
    assert entry.data["targets"] == {str(shops[0].pk): "60000.00", str(shops[1].pk): "33333.33"}


@pytest.mark.parametrize(
    ("growth", "key_target", "field"),
    [
        ("10", "100000.00", "targets"),  # 重点 + A past the category target (110 000)
        ("-100", "1.00", "growth"),  # a category target of nothing or less
        ("abc", "1.00", "growth_percent"),
        ("10", "-1", None),
    ],
)
def test_a_bad_plan_is_a_400_and_changes_nothing(client, world, growth, key_target, field):
    category, shops, operator, *_ = world
    client.force_login(operator)
    with time_machine.travel(NOW, tick=False):
        response = client.post(
            reverse("category-plan", args=[category.pk]),
            {
                "growth_percent": growth,
                f"target_{shops[0].pk}": key_target,
                f"target_{shops[1].pk}": "30000",
            },
        )
    assert response.status_code == 400
    assert not ShopTarget.objects.for_system().exists()
    assert not HistoryEntry.objects.for_system().filter(subject="category").exists()
    assert not MonthPlan.objects.for_system().exclude(growth=0).exists()


def test_a_target_for_a_b_shop_is_refused(frozen, world):
    from django.core.exceptions import ValidationError

    from categories.services import month_plan_save

    category, shops, operator, *_ = world
    with pytest.raises(ValidationError):
        month_plan_save(
            category=category, by=operator, growth=D("0"), targets={shops[2].pk: D("1.00")}
        )


def test_another_category_is_a_404(client, world):
    category, shops, operator, other, other_shops, other_operator = world
    client.force_login(other_operator)
    with time_machine.travel(NOW, tick=False):
        for url in [
            reverse("category-detail", args=[category.pk]),
            reverse("category-shop", args=[category.pk, shops[0].pk]),
            reverse("category-export", args=[category.pk, "csv"]),
            # a shop of another category under one's own category
            reverse("category-shop", args=[other.pk, shops[0].pk]),
        ]:
            assert client.get(url).status_code == 404, url
        response = client.post(reverse("category-plan", args=[category.pk]), {"growth_percent": 5})
        assert response.status_code == 404
        assert client.get(reverse("category-detail", args=[other.pk])).status_code == 200
    # shop staff and consumers see no category
    client.force_login(UserFactory())
    assert client.get(reverse("category-detail", args=[category.pk])).status_code == 404
    assert category.name not in client.get(reverse("category-list")).content.decode()


def test_the_page_shows_tiers_targets_and_the_chart(client, world):
    category, shops, operator, *_ = world
    client.force_login(operator)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("category-detail", args=[category.pk]))
        shop_page = client.get(reverse("category-shop", args=[category.pk, shops[0].pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert f'data-shop="{shops[0].jd_shop_id}" data-tier="key"' in page
    assert f'data-shop="{shops[3].jd_shop_id}" data-tier="normal"' in page
    assert 'name="growth_percent"' in page and f'name="target_{shops[1].pk}"' in page
    assert f'name="target_{shops[2].pk}"' not in page  # B: its share, not an input
    assert "<svg" in page and "2026-10" in page
    assert shop_page.status_code == 200 and "¥50000.00" in shop_page.content.decode()


def test_the_operators_top_bar_leads_to_the_categories_not_to_a_consumers_disputes(client, world):
    category, _shops, operator, *_ = world
    client.force_login(operator)
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("category-detail", args=[category.pk])).content.decode()
    nav = page.split("<nav", 1)[1].split("</nav>", 1)[0]
    assert f'href="{reverse("category-list")}"' in nav
    assert reverse("my-disputes") not in nav


def test_a_past_month_is_read_only(client, world):
    category, _shops, operator, *_ = world
    client.force_login(operator)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("category-detail", args=[category.pk]), {"month": "2026-10"})
        bad = client.get(reverse("category-detail", args=[category.pk]), {"month": "10-2026"})
    assert response.status_code == 200 and 'name="growth_percent"' not in response.content.decode()
    assert bad.status_code == 404


def test_the_export_has_the_pages_figures(client, world):
    category, shops, operator, *_ = world
    client.force_login(operator)
    with time_machine.travel(NOW, tick=False):
        as_csv = client.get(
            reverse("category-export", args=[category.pk, "csv"]), HTTP_ACCEPT_LANGUAGE="en"
        )
        as_xlsx = client.get(
            reverse("category-export", args=[category.pk, "xlsx"]), HTTP_ACCEPT_LANGUAGE="en"
        )
        nope = client.get(reverse("category-export", args=[category.pk, "pdf"]))
    assert nope.status_code == 404
    assert as_csv["Content-Disposition"] == 'attachment; filename="category-C1-2026-11.csv"'
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["rank", "JD shop id", "shop", "tier"] and rows[0][-1] == "2026-11"
    assert len(rows) == 5
    assert rows[1][:3] == ["1", shops[0].jd_shop_id, shops[0].name]
    assert rows[1][4:9] == ["50000.00", "50.00", "50000.00", "1000.00", "2.0"]
    assert rows[1][-2:] == ["50000.00", "1000.00"]  # October, November
    book = openpyxl.load_workbook(io.BytesIO(as_xlsx.content))
    sheet = book.active
    assert sheet.title == "2026-11"
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == tuple(rows[0])
    assert values[4][1] == shops[3].jd_shop_id and values[4][6] == 10000.0


def test_the_page_costs_the_same_queries_for_3_or_30_shops(
    client, frozen, django_assert_num_queries
):
    operator = UserFactory()
    counts = []
    for n, code in ((3, "S"), (30, "L")):
        category, shops, _op = category_with(n, code=code, operator=operator)
        for i, shop in enumerate(shops):
            sold(shop, str(100 + i), cn(2026, 10, 10))
            sold(shop, "7", cn(2026, 11, 2))
            for kind in list(Penalty.Kind)[: i % 4]:  # scorecard rows with penalties by kind
                penalise(shop, kind)
        client.force_login(operator)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("category-detail", args=[category.pk])).status_code == 200
        counts.append(len(ctx))
    assert counts[0] == counts[1]
    with django_assert_num_queries(counts[0]):
        client.get(reverse("category-detail", args=[category.pk]))


def test_a_shop_in_two_categories_is_refused():
    from django.db import IntegrityError

    from categories.models import CategoryShop

    category, (shop,), _ = category_with(1)
    other, _shops, _ = category_with(0, code="C2")
    with pytest.raises(IntegrityError):
        CategoryShop.objects.create(category=other, shop=shop)


def test_a_new_shop_without_sales_is_ordinary(frozen):
    category, shops, _ = category_with(2)
    sold(shops[0], "10", cn(2026, 10, 2))
    ShopFactory()  # not in the category: not counted
    o = selectors.overview(category, selectors.plan_month())
    assert [line.tier for line in o.lines] == [Tier.KEY, Tier.NORMAL]
    assert o.lines[1].target == D("0.00")  # the whole target is the 重点 shop's pre-fill


def test_the_rollup_gives_the_same_figures_and_runs_twice(frozen):
    from categories.jobs import roll_up_category_sales
    from categories.models import RolledMonth, ShopMonthSales

    category, shops, _ = category_with(2)
    sold(shops[0], "100", cn(2026, 10, 31, 23, 59, 59))
    order = sold(shops[1], "50", cn(2026, 9, 1))
    sold(shops[1], "7", cn(2026, 11, 1))  # this month: never rolled up
    ids = [s.pk for s in shops]
    live = selectors.monthly_sales(ids, date(2025, 11, 1), date(2026, 11, 1))
    assert roll_up_category_sales(now=NOW) == {"months": 13, "shop_months": 2}
    roll_up_category_sales(now=NOW)  # again: the same rows
    assert ShopMonthSales.objects.for_system().count() == 2
    assert RolledMonth.objects.count() == 13
    assert selectors.monthly_sales(ids, date(2025, 11, 1), date(2026, 11, 1)) == live
    # a return recorded after September closed counts once the job ran again
    Order.objects.for_system().filter(pk=order.pk).update(returned_amount=D("20"))
    roll_up_category_sales(now=NOW)
    assert selectors.monthly_sales(ids, date(2026, 9, 1), date(2026, 9, 1)) == {
        (shops[1].pk, date(2026, 9, 1)): D("30.00")
    }


def penalise(shop, kind, *, at: datetime | None = None, state: str = "confirmed"):
    """A penalty of `shop` this month (5 November unless `at`)."""
    at = at or cn(2026, 11, 5, 10)
    return Penalty.objects.create(shop=shop, kind=kind, state=state, at=at)


def test_a_top_seller_slipping_shows_beside_its_tier_with_penalties_by_kind(client, world):
    # given the 重点 shop penalised three times this month (不填 twice, 乱填 once: needs
    # attention) and the A shop once, plus a waived penalty that does not count
    category, shops, operator, *_ = world
    with time_machine.travel(NOW, tick=False):
        penalise(shops[0], Penalty.Kind.NO_REPLY)
        penalise(shops[0], Penalty.Kind.NO_REPLY, at=cn(2026, 11, 6, 10))
        penalise(shops[0], Penalty.Kind.FALSE_REPLY)
        penalise(shops[1], Penalty.Kind.BROKEN_PROMISE)
        penalise(shops[1], Penalty.Kind.LATE_REPLY, state="waived")
        client.force_login(operator)
        response = client.get(reverse("category-detail", args=[category.pk]))
        shop_page = client.get(reverse("category-shop", args=[category.pk, shops[0].pk]))
        as_csv = client.get(
            reverse("category-export", args=[category.pk, "csv"]), HTTP_ACCEPT_LANGUAGE="en"
        )
        o = selectors.overview(category, selectors.plan_month())

    # the overview: the 重点 shop is slipping, the A shop only fair
    assert [line.slipping for line in o.lines] == [True, False, False, False]
    assert o.slipping() == [o.lines[0]]
    assert dict((k.value, n) for k, n in o.lines[0].penalties_by_kind)["no_reply"] == 2
    assert [(k.value, n) for k, n in o.lines[1].card.penalty_counts] == [("broken_promise", 1)]
    assert o.lines[2].card is None and all(n == 0 for _k, n in o.lines[2].penalties_by_kind)

    page = response.content.decode()
    assert (
        f'data-shop="{shops[0].jd_shop_id}" data-tier="key" data-grade="attention" class="slipping"'
        in page
    )
    assert f'data-shop="{shops[1].jd_shop_id}" data-tier="a" data-grade="fair">' in page
    assert f'data-shop="{shops[2].jd_shop_id}" data-tier="b" data-grade="unrated">' in page
    assert 'data-figure="slipping"' in page
    row = page.split(f'data-shop="{shops[0].jd_shop_id}"')[1].split("</tr>")[0]
    assert '<span data-penalties="3">3</span>' in row
    assert 'data-kind="no_reply"' in row and 'data-kind="false_reply"' in row
    assert 'data-kind="broken_promise"' not in row

    shop_html = shop_page.content.decode()
    assert 'data-figure="penalties">3<' in shop_html
    for kind in Penalty.Kind:
        assert f'<tr data-kind="{kind.value}">' in shop_html
    assert shop_html.split('<tr data-kind="no_reply">')[1].split("</tr>")[0].endswith("<td>2</td>")

    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    header = rows[0]
    first = dict(zip(header, rows[1], strict=True))
    assert first["compliance"] == str(Grade.ATTENTION.label)
    assert first["penalties"] == "3"
    assert first[str(Penalty.Kind.NO_REPLY.label)] == "2"
    assert first[str(Penalty.Kind.FALSE_REPLY.label)] == "1"
    assert first[str(Penalty.Kind.BROKEN_PROMISE.label)] == "0"
    assert all(str(kind.label) in header for kind in Penalty.Kind)


def test_the_page_never_calls_a_compliance_grade_a_tier(client, world):
    # 重点 on the category page is the top seller; compliance is a separate column
    category, shops, operator, *_ = world
    with time_machine.travel(NOW, tick=False):
        for _ in range(3):
            penalise(shops[3], Penalty.Kind.NO_REPLY)
        client.force_login(operator)
        page = client.get(reverse("category-detail", args=[category.pk])).content.decode()
    # the 普通 shop needs attention, but it is not a slipping top seller, and stays 普通
    assert f'data-shop="{shops[3].jd_shop_id}" data-tier="normal" data-grade="attention">' in page
    assert 'data-figure="slipping"' not in page
    assert "key watch" not in page
