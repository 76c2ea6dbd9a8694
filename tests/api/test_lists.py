"""Every list of the API (issue 12, item 5): a cursor over a unique, indexed order; filters;
and a pinned number of queries, the same for a few rows or twice as many."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.tokens import token_create
from disputes import services as disputes
from invoices.models import InvoiceRequest
from notifications.delivery import drain_outbox
from tests.disputes.factories import DisputeFactory
from tests.factories import InvoiceRequestFactory, ShopFactory, UserFactory, merchant_of
from tickets.services import ticket_urge

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """A shop with its owner and a consumer; `add(n)` gives them n more of everything."""
    now = timezone.now()
    shop = ShopFactory(new_flow_since=now - timedelta(days=365))
    owner, consumer = merchant_of(shop), UserFactory()
    state = {"dispute": None}

    def add(n: int) -> None:
        for _ in range(n):
            request = InvoiceRequestFactory(
                order__shop=shop, order__consumer=consumer, requested_at=now - timedelta(days=11)
            )
            ticket_urge(invoice_request=request, by=consumer)
            dispute = DisputeFactory(request__order__shop=shop, request__order__consumer=consumer)
            state["dispute"] = state["dispute"] or dispute
            disputes.dispute_evidence_add(dispute=state["dispute"], by=consumer, text="截图")
            token_create(user=consumer, name="cli")
        drain_outbox(now=now)

    return {"shop": shop, "owner": owner, "consumer": consumer, "add": add, "state": state}


LISTS: list[tuple[str, str, Callable[[dict], str]]] = [
    ("merchant invoice requests", "owner", lambda w: "/api/v1/merchant/invoice-requests/"),
    ("consumer invoice requests", "consumer", lambda w: "/api/v1/consumer/invoice-requests/"),
    ("merchant tickets", "owner", lambda w: "/api/v1/merchant/tickets/"),
    ("consumer tickets", "consumer", lambda w: "/api/v1/consumer/tickets/"),
    ("merchant disputes", "owner", lambda w: "/api/v1/merchant/disputes/"),
    ("consumer disputes", "consumer", lambda w: "/api/v1/consumer/disputes/"),
    (
        "dispute evidence",
        "consumer",
        lambda w: f"/api/v1/consumer/disputes/{w['state']['dispute'].pk}/evidence/",
    ),
    ("notifications", "owner", lambda w: "/api/v1/notifications/"),
    ("tokens", "consumer", lambda w: "/api/v1/auth/token/"),
]
# The queries of each list: the session, its user, then the list's own.
QUERIES = {
    "merchant invoice requests": 3,
    "consumer invoice requests": 3,
    "merchant tickets": 3,
    "consumer tickets": 3,
    "merchant disputes": 3,
    "consumer disputes": 3,
    "dispute evidence": 4,
    "notifications": 3,
    "tokens": 3,
}


@pytest.mark.parametrize(("name", "who", "url"), LISTS, ids=[n for n, _w, _u in LISTS])
def test_each_list_costs_a_pinned_number_of_queries(
    client, world, django_assert_num_queries, name, who, url
):
    client.force_login(world[who])
    counts = []
    for n in (2, 4):
        world["add"](n)
        with django_assert_num_queries(QUERIES[name]):
            response = client.get(url(world))
        assert response.status_code == 200
        counts.append(len(response.json()["results"]))
    assert counts[1] > counts[0] > 0  # more rows, the same queries


def test_a_cursor_walks_a_list_without_repeats_or_gaps(client, world):
    world["add"](5)
    client.force_login(world["consumer"])
    seen, url = [], "/api/v1/consumer/invoice-requests/?page_size=2"
    while url:
        page = client.get(url).json()
        assert set(page) == {"next", "previous", "results"}
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    mine = InvoiceRequest.objects.for_consumer(world["consumer"]).count()
    assert len(seen) == len(set(seen)) == mine == 10  # 5 pending, 5 refused with a dispute
    assert client.get("/api/v1/consumer/invoice-requests/?cursor=bm9wZQ").status_code == 404


def test_lists_filter_by_state_dates_and_shop(client, world):
    world["add"](2)
    old = InvoiceRequestFactory(
        order__shop=world["shop"],
        order__consumer=world["consumer"],
        requested_at=timezone.now() - timedelta(days=40),
    )
    client.force_login(world["owner"])
    base = "/api/v1/merchant/invoice-requests/"
    cutoff = (timezone.now() - timedelta(days=30)).isoformat()
    before = client.get(base, {"requested_before": cutoff}).json()["results"]
    assert [r["id"] for r in before] == [old.pk]
    after = client.get(base, {"requested_after": cutoff, "state": "pending"}).json()["results"]
    assert len(after) == 2
    assert client.get(base, {"shop": world["shop"].pk + 1000}).json()["results"] == []
    assert client.get(base, {"state": "nope"}).status_code == 400
    # an offset PostgreSQL would refuse is taken as the instant it means; one out of range: 400
    far = client.get(base, {"requested_after": "0465-05-18T05:45:00-22:54"})
    assert far.status_code == 200 and len(far.json()["results"]) == 5
    early = client.get(base, {"requested_before": "0001-01-01T00:00:00+23:00"})
    assert early.status_code == 400 and "requested_before" in early.json()["fields"]
    opened = client.get("/api/v1/merchant/disputes/", {"open": "true", "kind": "refused"})
    assert len(opened.json()["results"]) == 2
    assert client.get("/api/v1/merchant/disputes/", {"open": "false"}).json()["results"] == []


@pytest.mark.parametrize(
    "path", ["/api/v1/merchant/tickets/", "/api/v1/merchant/invoice-requests/"]
)
def test_next_then_previous_comes_back_to_the_same_page_when_many_share_a_deadline(
    client, world, path
):
    # the job opens a batch of tickets at one instant: they share their reply deadline
    with time_machine.travel(timezone.now(), tick=False):
        world["add"](7)
    client.force_login(world["owner"])
    first = client.get(path, {"page_size": 3}).json()
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()
    ids = [row["id"] for row in first["results"]]
    assert len(ids) == 3 and [row["id"] for row in back["results"]] == ids
    seen = ids + [row["id"] for row in second["results"]]
    assert len(set(seen)) == 6


@pytest.mark.parametrize("position", ["2026-11-30|x", "not a time|7", "no separator", "|"])
def test_a_forged_cursor_is_a_404_not_a_server_error(client, world, position):
    from base64 import b64encode
    from urllib.parse import urlencode

    world["add"](1)
    client.force_login(world["owner"])
    cursor = b64encode(urlencode({"p": position}).encode()).decode()
    response = client.get("/api/v1/merchant/tickets/", {"cursor": cursor})
    assert response.status_code == 404
    assert response.json()["code"]
