"""Categories, their shops and operators, and orders completed at a given China time."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from categories.models import Category, CategoryOperator, CategoryShop
from core.clock import CHINA
from invoices.models import Order
from tests.factories import OrderFactory, ShopFactory, UserFactory


def category_with(n_shops: int = 0, *, code: str = "C1", operator=None):
    """A category with `n_shops` new shops and, when given, its operator (a user or True)."""
    category = Category.objects.create(code=code, name=f"类目 {code}")
    shops = [ShopFactory() for _ in range(n_shops)]
    for shop in shops:
        CategoryShop.objects.create(category=category, shop=shop)
    if operator is True:
        operator = UserFactory()
    if operator is not None:
        CategoryOperator.objects.create(category=category, user=operator)
    return category, shops, operator


def sold(shop, amount: str | Decimal, at: datetime, *, returned: str = "0", state=None):
    """An order of `shop` completed at `at` (China wall-clock time when naive)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=CHINA)
    return OrderFactory(
        shop=shop,
        amount=Decimal(amount),
        returned_amount=Decimal(returned),
        completed_at=at,
        state=state or Order.State.COMPLETED,
    )
