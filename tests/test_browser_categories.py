"""The category operator's page in the browser (issue 13, item 4): the operator sees the shops
by tier, with a slipping 重点 shop's penalties by kind beside its tier, sets the growth and a
重点 shop's target, and the rest is split over the others. The
page is saved as docs/categories.png for the README."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from categories.selectors import plan_month, shift
from core.clock import CHINA
from penalties.models import Penalty
from tests.categories.factories import category_with, sold
from tests.factories import UserFactory
from tests.test_browser import browser, log_in  # noqa: F401 (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_operator_plans_the_month(browser, live_server):  # noqa: F811
    # Given a category of six shops with last month's sales, and its operator
    UserFactory(username="leiyun")
    from django.contrib.auth import get_user_model

    operator = get_user_model().objects.get(username="leiyun")
    category, shops, _ = category_with(6, code="3C", operator=operator)
    last = shift(plan_month(), -1)
    when = timezone.datetime(last.year, last.month, 10, 12, tzinfo=CHINA)
    for shop, amount in zip(shops, ["52000", "21000", "9000", "7000", "6000", "5000"], strict=True):
        sold(shop, amount, when)
        for months_ago in range(2, 8):
            m = shift(plan_month(), -months_ago)
            sold(shop, str(int(amount) // months_ago + 900),
                 timezone.datetime(m.year, m.month, 5, tzinfo=CHINA))  # fmt: skip
    sold(shops[0], "8000", timezone.now() - timedelta(minutes=5))
    # and the 重点 shop penalised three times this month (不填 twice, 乱填 once): slipping
    for kind in (Penalty.Kind.NO_REPLY, Penalty.Kind.NO_REPLY, Penalty.Kind.FALSE_REPLY):
        Penalty.objects.create(shop=shops[0], kind=kind, at=timezone.now() - timedelta(minutes=5))
    page = log_in(browser, live_server, "leiyun")
    page.set_viewport_size({"width": 1280, "height": 1000})
    # when they open the category and set +10 % and the 重点 shop's target
    page.goto(f"{live_server.url}{reverse('category-detail', args=[category.pk])}")
    page.fill("input[name=growth_percent]", "10")
    page.fill(f"input[name=target_{shops[0].pk}]", "60000.00")
    page.click("form.plan-form button[type=submit]")
    page.wait_for_selector(".msg")
    # then the category target is 110,000 and the B / 普通 shops share what is left
    assert page.inner_text("[data-figure=target]") == "¥110000.00"
    targets = page.eval_on_selector_all("td[data-target]", "els => els.map(e => e.dataset.target)")
    assert sum(Decimal(t) for t in targets) == Decimal("110000.00")
    assert page.get_attribute(f"tr[data-shop='{shops[0].jd_shop_id}']", "data-tier") == "key"
    # and beside its tier, its compliance needs attention, with its penalties by kind
    key_row = f"tr[data-shop='{shops[0].jd_shop_id}']"
    assert page.get_attribute(key_row, "class") == "slipping"
    assert page.get_attribute(key_row, "data-grade") == "attention"
    assert page.inner_text(f"{key_row} [data-kind=no_reply]").endswith("2")
    assert page.is_visible("[data-figure=slipping]")
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "categories.png"), full_page=True)
