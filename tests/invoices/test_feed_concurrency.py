"""The order feed racing itself and the consumer on PostgreSQL: no deadlock, no lost change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from invoices import services
from invoices.feed import orders_feed
from invoices.models import InvoiceRequest, Order
from tests.concurrency import race
from tests.factories import VALID_USCC, ShopFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
T0 = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
D = timedelta(days=1)


def messages(numbers, state, at):
    return [
        {
            "number": n,
            "state": state,
            "amount": "10.00",
            "consumer": "jd_race",
            "shop": "20000001",
            "changed_at": at.isoformat(),
            **({"completed_at": at.isoformat()} if state == "completed" else {}),
        }
        for n in numbers
    ]


def test_two_batches_of_the_same_orders_at_once_the_newer_wins_everywhere():
    ShopFactory(jd_shop_id="20000001")
    numbers = [f"{500000000000 + i}" for i in range(300)]
    orders_feed(data=messages(numbers, "placed", T0))
    older = messages(numbers, "paid", T0 + D)
    newer = messages(list(reversed(numbers)), "shipped", T0 + 2 * D)
    for _ in range(3):
        results = race(lambda: orders_feed(data=older), lambda: orders_feed(data=newer))
        assert not any(isinstance(r, Exception) for r in results), results
    states = set(
        Order.objects.for_system().filter(number__in=numbers).values_list("state", flat=True)
    )
    assert states == {"shipped"}


def test_a_request_made_while_its_order_completes_gets_its_overdue_instant():
    ShopFactory(jd_shop_id="20000001", new_flow_since=T0 - 100 * D)
    orders_feed(data=messages(["600000000001"], "shipped", T0))
    order = Order.objects.for_system().get(number="600000000001")
    data = {
        "title_type": "organisation",
        "title": "北京示例科技有限公司",
        "tax_id": VALID_USCC,
        "invoice_kind": "paper_ordinary",
    }
    completed = T0 + 12 * D
    results = race(
        lambda: services.invoice_request_create(consumer=order.consumer, order=order, data=data),
        lambda: orders_feed(data=messages(["600000000001"], "completed", completed)),
    )
    assert not any(isinstance(r, Exception) for r in results), results
    r = InvoiceRequest.objects.for_system().get(order=order)
    assert r.overdue_at is not None
    assert r.overdue_at == max(r.requested_at + 10 * D, completed)
