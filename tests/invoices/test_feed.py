"""Spec 3, 4.1 and 12: the platform's order feed (`POST /api/v1/platform/orders/`).

Orders are created or updated by number; a repeated or out-of-order message never moves an order
backwards; a completion sets the overdue instant of the order's pending requests (on day 12: at
once); a cancellation or a full return cancels them and closes their tickets without a penalty;
bad input changes nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse

from core.errors import DomainError
from core.models import HistoryEntry
from core.roles import platform_service_group
from invoices import services
from invoices.feed import MAX_BATCH
from invoices.models import InvoiceRequest, Order
from penalties.models import Penalty
from tests.factories import VALID_USCC, ShopFactory, UserFactory, merchant_of
from tickets.jobs import flag_broken_promises, flag_missed_replies, open_overdue_tickets
from tickets.models import UrgeTicket
from tickets.services import ticket_reply, ticket_urge

pytestmark = pytest.mark.django_db
CHINA = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 9, 30, tzinfo=CHINA)  # the consumer orders and asks for the invoice
D, S = timedelta(days=1), timedelta(seconds=1)
URL = "/api/v1/platform/orders/"
ORG = {
    "title_type": "organisation",
    "title": "上海云帆信息科技有限公司",
    "tax_id": VALID_USCC,
    "invoice_kind": "e_ordinary",
    "email": "finance@example.com",
}


@pytest.fixture
def shop():
    return ShopFactory(jd_shop_id="10000001", new_flow_since=T0 - 100 * D)


@pytest.fixture
def platform(client):
    user = UserFactory(username="jd-order-system")
    user.groups.add(platform_service_group())
    client.force_login(user)
    return client


def message(number="300000000001", state="placed", at=T0, **fields):
    m = {
        "number": number,
        "state": state,
        "amount": "199.00",
        "consumer": "jd_zhangsan",
        "shop": "10000001",
        "changed_at": at.isoformat(),
    }
    if state == "completed":
        m["completed_at"] = at.isoformat()
    return {**m, **fields}


def feed(client, body, at=None):
    with time_machine.travel(at or T0 + 30 * D, tick=False):
        return client.post(URL, body, content_type="application/json")


def order(number="300000000001") -> Order:
    return Order.objects.for_system().get(number=number)


def snapshot() -> tuple:
    return (
        list(Order.objects.for_system().order_by("pk").values()),
        list(
            InvoiceRequest.objects.for_system().order_by("pk").values("pk", "state", "overdue_at")
        ),
        get_user_model().objects.count(),
        HistoryEntry.objects.for_system().count(),
    )


def request_on(o: Order, at=T0) -> InvoiceRequest:
    with time_machine.travel(at, tick=False):
        return services.invoice_request_create(consumer=o.consumer, order=o, data=ORG)


# --- created, updated, ignored ------------------------------------------------------------------


def test_the_route_is_the_routers():
    assert reverse("platform-order-list") == URL


def test_a_new_order_is_created_with_its_consumers_account(platform, shop):
    response = feed(platform, message())
    assert response.status_code == 200, response.content
    body = response.json()
    o = order()
    assert (body["created"], body["updated"], body["ignored"]) == (1, 0, 0)
    assert body["results"] == [{"number": o.number, "outcome": "created", "id": o.pk}]
    assert (o.state, o.amount, o.shop_id, o.consumer.username) == (
        "placed",
        Decimal("199.00"),
        shop.pk,
        "jd_zhangsan",
    )
    assert (o.platform_updated_at, o.created_at, o.completed_at) == (T0, T0, None)
    assert not o.consumer.has_usable_password()


def test_each_newer_state_updates_the_order(platform, shop):
    feed(platform, [message()])
    for i, state in enumerate(["paid", "shipped", "completed"], start=1):
        body = feed(platform, [message(state=state, at=T0 + i * D)]).json()
        assert body["results"][0]["outcome"] == "updated"
        assert order().state == state
    assert order().completed_at == T0 + 3 * D


def test_a_repeated_message_is_ignored_and_changes_nothing(platform, shop):
    feed(platform, [message(state="completed", at=T0 + D)])
    before = snapshot()
    body = feed(platform, [message(state="completed", at=T0 + D)]).json()
    assert body["results"] == [{"number": "300000000001", "outcome": "ignored", "id": None}]
    assert snapshot() == before


def test_an_older_message_arriving_late_never_moves_the_order_back(platform, shop):
    feed(platform, [message(state="completed", at=T0 + 3 * D)])
    body = feed(platform, [message(state="shipped", at=T0 + 2 * D, amount="150.00")]).json()
    assert body["ignored"] == 1
    o = order()
    assert (o.state, o.amount, o.completed_at) == ("completed", Decimal("199.00"), T0 + 3 * D)
    assert o.platform_updated_at == T0 + 3 * D


def test_in_one_batch_the_latest_message_of_an_order_wins_whatever_its_place(platform, shop):
    batch = [
        message(state="completed", at=T0 + 3 * D),
        message(number="300000000002", state="paid"),
        message(state="paid", at=T0 + D),
        message(state="completed", at=T0 + 3 * D),  # a duplicate of the first
    ]
    body = feed(platform, batch).json()
    assert [r["outcome"] for r in body["results"]] == ["created", "created", "ignored", "ignored"]
    assert order().state == "completed"
    assert order("300000000002").state == "paid"


def test_shop_and_consumer_stay_those_of_the_first_message(platform, shop):
    ShopFactory(jd_shop_id="10000002")
    feed(platform, [message()])
    feed(platform, [message(state="paid", at=T0 + D, shop="10000002", consumer="jd_lisi")])
    o = order()
    assert (o.state, o.shop_id, o.consumer.username) == ("paid", shop.pk, "jd_zhangsan")


def test_a_partial_return_keeps_the_order_completed(platform, shop):
    feed(platform, [message(state="completed", at=T0 + D)])
    partial = message(
        state="completed", at=T0 + 2 * D, completed_at=(T0 + D).isoformat(), returned_amount="50"
    )
    feed(platform, [partial])
    feed(platform, [partial])
    o = order()
    assert (o.state, o.returned_amount, o.completed_at) == ("completed", Decimal("50.00"), T0 + D)


def test_a_returned_order_keeps_its_completion_and_is_returned_in_full(platform, shop):
    feed(platform, [message(state="completed", at=T0 + D)])
    feed(platform, [message(state="returned", at=T0 + 2 * D)])
    o = order()
    assert (o.state, o.returned_amount, o.completed_at) == ("returned", o.amount, T0 + D)


# --- requests before completion, and the day-12 completion ----------------------------------------


def test_a_request_at_checkout_is_not_overdue_until_the_order_completes(platform, shop):
    feed(platform, [message(state="paid")])
    r = request_on(order())
    assert r.overdue_at is None
    assert open_overdue_tickets(now=T0 + 99 * D)["opened"] == 0


def test_the_consumer_asks_on_the_page_for_a_shipped_order_not_for_a_cancelled_one(
    client, platform, shop
):
    feed(platform, [message(state="shipped"), message(number="300000000002", state="cancelled")])
    shipped, cancelled = order(), order("300000000002")
    client.force_login(shipped.consumer)
    listed = client.get(reverse("my-invoices")).content.decode()
    assert shipped.number in listed and cancelled.number not in listed
    response = client.post(reverse("my-request-new", args=[shipped.pk]), ORG)
    assert response.status_code == 302, response.content
    r = InvoiceRequest.objects.for_system().get(order=shipped)
    assert (r.state, r.overdue_at) == ("pending", None)
    assert client.get(reverse("my-invoice", args=[r.pk])).status_code == 200
    response = client.post(reverse("my-request-new", args=[cancelled.pk]), ORG)
    assert response.status_code == 400
    assert not InvoiceRequest.objects.for_system().filter(order=cancelled).exists()


@pytest.mark.parametrize(
    ("completed", "overdue_at"),
    [
        (T0 + 10 * D - S, T0 + 10 * D),  # completed before the 10 days end: they decide
        (T0 + 10 * D, T0 + 10 * D),
        (T0 + 10 * D + S, T0 + 10 * D + S),  # after: the completion decides
        (T0 + 12 * D, T0 + 12 * D),  # day 12: overdue at once, the next job run opens it
    ],
)
def test_the_completion_sets_the_overdue_instant_and_the_job_opens_the_ticket(
    platform, shop, completed, overdue_at
):
    feed(platform, [message(state="shipped")], at=T0)
    r = request_on(order(), at=T0)
    body = feed(platform, [message(state="completed", at=completed)], at=completed)
    assert body.json()["updated"] == 1
    r.refresh_from_db()
    assert r.overdue_at == overdue_at
    # strictly after: not at the instant itself, a second later the job opens the ticket
    assert open_overdue_tickets(now=overdue_at)["opened"] == 0
    assert open_overdue_tickets(now=overdue_at + S)["opened"] == 1
    assert UrgeTicket.objects.for_system().get(request=r).opened_at == overdue_at + S


def test_a_later_message_taking_the_completion_back_clears_the_overdue_instant(platform, shop):
    feed(platform, [message(state="completed", at=T0)])
    r = request_on(order(), at=T0 + S)
    assert r.overdue_at == T0 + S + 10 * D
    feed(platform, [message(state="shipped", at=T0 + D)])
    r.refresh_from_db()
    assert r.overdue_at is None


def test_a_shop_on_the_old_flow_gets_no_overdue_instant(platform):
    ShopFactory(jd_shop_id="10000001", new_flow_since=None)
    feed(platform, [message(state="paid")])
    r = request_on(order())
    feed(platform, [message(state="completed", at=T0 + 12 * D)])
    r.refresh_from_db()
    assert r.overdue_at is None


# --- cancellation and return ----------------------------------------------------------------------


@pytest.mark.parametrize("state", ["cancelled", "returned"])
def test_a_cancelled_or_returned_order_cancels_its_request_and_closes_its_ticket(
    platform, shop, state
):
    feed(platform, [message(state="completed", at=T0)])
    r = request_on(order(), at=T0)
    with time_machine.travel(T0 + 11 * D, tick=False):
        ticket = ticket_urge(invoice_request=r, by=r.consumer)
    body = feed(platform, [message(state=state, at=T0 + 11 * D + S)], at=T0 + 11 * D + S)
    assert body.json()["updated"] == 1
    r.refresh_from_db()
    ticket.refresh_from_db()
    assert (r.state, r.cancelled_at) == ("cancelled", T0 + 11 * D + S)  # when the feed took it
    assert (ticket.state, ticket.sla) == ("closed", "")
    history = HistoryEntry.objects.for_system().filter(request_id=r.pk)
    cancelled = history.get(action="cancelled_with_order")
    assert (cancelled.state_from, cancelled.state_to, cancelled.data) == (
        "pending",
        "cancelled",
        {"order_state": state},
    )
    assert history.get(action="ticket_closed").state_to == "closed"
    # the reply window passes: nothing is breached, no penalty, however often the jobs run
    for _ in range(2):
        assert flag_missed_replies(now=T0 + 40 * D)["flagged"] == 0
    assert not Penalty.objects.for_system().exists()
    # and no new request for the ended order
    with pytest.raises(DomainError) as refused:
        request_on(order(), at=T0 + 41 * D)
    assert refused.value.code == "order_closed"


def test_a_promise_of_a_cancelled_order_is_withdrawn_and_never_broken(platform, shop):
    feed(platform, [message(state="completed", at=T0)])
    r = request_on(order(), at=T0)
    with time_machine.travel(T0 + 11 * D, tick=False):
        ticket = ticket_urge(invoice_request=r, by=r.consumer)
        ticket_reply(
            ticket=ticket,
            by=merchant_of(shop),
            resolution="date_agreed",
            note="下周开",
            promised_date=date(2026, 11, 16),
        )
    feed(platform, [message(state="returned", at=T0 + 12 * D)])
    ticket.refresh_from_db()
    assert (ticket.state, ticket.promise_state, ticket.sla) == ("answered", "", "met")
    assert flag_broken_promises(now=T0 + 40 * D)["flagged"] == 0
    assert not Penalty.objects.for_system().exists()


def test_an_issued_request_stays_issued_when_the_order_is_returned(platform, shop):
    feed(platform, [message(state="completed", at=T0)])
    r = request_on(order(), at=T0)
    InvoiceRequest.objects.for_system().filter(pk=r.pk).update(
        state="issued", issued_at=T0, invoice_number="1" * 20, invoice_file="invoices/x.pdf"
    )
    feed(platform, [message(state="returned", at=T0 + D)])
    r.refresh_from_db()
    assert r.state == "issued"


# --- bad input: a 4xx, nothing changed ----------------------------------------------------------


def test_more_than_the_batch_limit_is_refused_and_nothing_changes(platform, shop):
    batch = [message(number=f"{400000000000 + i}") for i in range(MAX_BATCH + 1)]
    before = snapshot()
    response = feed(platform, batch)
    assert response.status_code == 413
    assert response.json()["code"] == "too_many_orders"
    assert snapshot() == before


def test_the_batch_limit_itself_is_taken(platform, shop):
    batch = [message(number=f"{400000000000 + i}") for i in range(MAX_BATCH)]
    assert feed(platform, batch).json()["created"] == MAX_BATCH


BAD = [
    ({"state": "lost"}, "1.state"),
    ({"amount": "-1"}, "1.amount"),
    ({"amount": "1.234"}, "1.amount"),
    ({"amount": "abc"}, "1.amount"),
    ({"amount": True}, "1.amount"),
    ({"returned_amount": "200.00"}, "1.returned_amount"),
    ({"changed_at": "2026-11-02T09:30:00"}, "1.changed_at"),  # no offset
    ({"changed_at": "yesterday"}, "1.changed_at"),
    ({"changed_at": "2099-01-01T00:00:00+08:00"}, "1.changed_at"),  # from the future
    ({"state": "completed"}, "1.completed_at"),  # a completion needs its time
    ({"completed_at": T0.isoformat()}, "1.completed_at"),  # a placed order has none
    ({"number": "300 000"}, "1.number"),
    ({"number": "3" * 33}, "1.number"),
    ({"consumer": ""}, "1.consumer"),
    ({"shop": "99999999"}, "1.shop"),  # no such shop
    ({"shop": "1000 0001"}, "1.shop"),
    ({"consumer": "jd zhang;"}, "1.consumer"),
    ({"placed_at": "0001-01-01T00:00:00+08:00"}, "1.placed_at"),
]


@pytest.mark.parametrize(("change", "field"), BAD)
def test_a_bad_message_refuses_the_whole_batch_naming_the_field(platform, shop, change, field):
    batch = [message(number="300000000009"), {**message(), **change}]
    if change.get("state") == "completed":
        batch[1].pop("completed_at", None)
    before = snapshot()
    response = feed(platform, batch)
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert snapshot() == before


@pytest.mark.parametrize("body", [[], "orders", [1, 2], {"number": None}])
def test_a_body_that_is_not_orders_is_a_400(platform, shop, body):
    before = snapshot()
    response = feed(platform, body)
    assert response.status_code == 400
    assert snapshot() == before


# --- who may call it --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["consumer", "merchant", "arbitrator", "anonymous"])
def test_only_the_platform_service_may_feed_orders(client, shop, who):
    if who == "consumer":
        client.force_login(UserFactory())
    elif who == "merchant":
        client.force_login(merchant_of(shop))
    elif who == "arbitrator":
        client.force_login(UserFactory(is_staff=True, is_superuser=True))
    before = snapshot()
    response = feed(client, [message()])
    assert response.status_code == (403 if who != "anonymous" else 401) or (
        who == "anonymous" and response.status_code == 403
    )
    assert snapshot() == before
