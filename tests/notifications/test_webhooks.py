"""Signed webhooks to the merchant's own system (issue 9, item 4; spec 10, 12), against a real
local HTTP receiver: Standard Webhooks signatures checked with the `standardwebhooks`
verifier, the retry schedule with the clock moved, the same webhook-id across retries, order
per object, a failing endpoint disabled with its owners told, a hanging one not holding up the
others, secret rotation with an overlap, and endpoints that may not point inside (SSRF)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from standardwebhooks.webhooks import WebhookVerificationError

from core.models import HistoryEntry, ShopMembership
from notifications import services
from notifications.delivery import drain_outbox
from notifications.models import Notification, WebhookDelivery, WebhookEndpoint
from notifications.webhooks import deliver_webhooks
from tests.factories import InvoiceRequestFactory, ShopFactory, merchant_of
from tickets.models import UrgeTicket
from tickets.services import ticket_reply, tickets_open

from .receivers import start_receiver

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
S = timedelta(seconds=1)
SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000]  # seconds after each failed try


def shop_with_owner(email: str = "owner@shop.example"):
    shop = ShopFactory(new_flow_since=T0 - timedelta(days=365))
    owner = merchant_of(shop, user__email=email)
    return shop, owner


def open_ticket(shop, at: datetime = T0) -> UrgeTicket:
    r = InvoiceRequestFactory(order__shop=shop, requested_at=at - timedelta(days=11))
    tickets_open(request_ids=[r.pk], now=at, via="job")
    return UrgeTicket.objects.for_system().get(request=r)


def deliveries(**filters) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.for_system().filter(**filters).order_by("id"))


def run(at: datetime) -> dict:
    """The drain and the webhook job, at `at`."""
    with time_machine.travel(at, tick=False):
        drain_outbox(now=at)
        return deliver_webhooks(now=at)


# --- one event, signed --------------------------------------------------------------------------


def test_every_event_of_the_shop_is_posted_as_json_signed_the_standard_webhooks_way(receiver):
    shop, owner = shop_with_owner()
    endpoint = services.webhook_register(shop=shop, by=owner, url=receiver.url)
    ticket = open_ticket(shop)

    counts = run(T0)

    assert counts["delivered"] == 1
    [request] = receiver.received
    assert request.path == "/hooks/jdpop"
    assert request.headers["content-type"] == "application/json"
    with time_machine.travel(T0, tick=False):
        payload = request.verify(endpoint.secret)  # the package's own verifier
        with pytest.raises(WebhookVerificationError):
            request.verify(services.webhook_rotate_secret(endpoint=endpoint, by=owner).secret)
    assert payload["type"] == "ticket_opened"
    assert payload["data"]["ticket_id"] == ticket.pk
    assert payload["data"]["order_number"] == ticket.request.order.number
    assert payload["data"]["reply_due_at"] == ticket.reply_due_at.isoformat()
    assert request.headers["webhook-timestamp"] == str(int(T0.timestamp()))
    [delivery] = deliveries()
    assert delivery.state == "delivered" and delivery.attempts == 1
    assert delivery.message_id == request.headers["webhook-id"]
    [attempt] = delivery.attempt_log.all()
    assert attempt.status_code == 200 and attempt.at == T0


def test_a_shop_without_an_endpoint_and_another_shops_endpoint_get_nothing(receiver):
    shop, _owner = shop_with_owner()
    other, other_owner = shop_with_owner("b@shop.example")
    services.webhook_register(shop=other, by=other_owner, url=receiver.url)
    open_ticket(shop)
    run(T0)
    assert receiver.received == [] and deliveries() == []


def test_only_the_owner_manages_endpoints():
    shop, _owner = shop_with_owner()
    operator = merchant_of(shop, ShopMembership.Role.OPERATOR)
    with pytest.raises(PermissionDenied):
        services.webhook_register(shop=shop, by=operator, url="https://hooks.example.com/x")


# --- retries: the schedule, the same id, nothing lost -------------------------------------------


def test_a_failed_try_is_retried_on_the_schedule_with_the_same_webhook_id(receiver):
    shop, owner = shop_with_owner()
    endpoint = services.webhook_register(shop=shop, by=owner, url=receiver.url)
    open_ticket(shop)
    receiver.script = [500, "close", 503]  # then 200

    run(T0)  # try 1: 500
    [d] = deliveries()
    assert (d.state, d.attempts, d.next_attempt_at) == ("pending", 1, T0 + 5 * S)
    assert d.last_status == 500 and d.last_error == "HTTP 500"

    run(T0 + 4 * S)  # not due yet
    assert len(receiver.received) == 1
    run(T0 + 5 * S)  # try 2: the connection is closed without an answer
    [d] = deliveries()
    assert d.attempts == 2 and d.last_status is None and d.last_error
    assert d.next_attempt_at == T0 + 5 * S + 300 * S
    run(T0 + 5 * S + 299 * S)
    assert len(receiver.received) == 2
    run(T0 + 5 * S + 300 * S)  # try 3: 503
    run(T0 + 5 * S + 300 * S + 1800 * S)  # try 4: 200

    [d] = deliveries()
    assert (d.state, d.attempts) == ("delivered", 4)
    assert len(set(receiver.ids())) == 1 and len(receiver.received) == 4  # one id, four tries
    with time_machine.travel(T0 + 2105 * S, tick=False):
        assert receiver.received[-1].verify(endpoint.secret)["type"] == "ticket_opened"
    assert [a.status_code for a in reversed(d.attempt_log.all())] == [500, None, 503, 200]


def test_a_delivery_is_tried_for_more_than_a_day_then_the_endpoint_is_disabled_and_its_owners_told(
    receiver,
):
    shop, owner = shop_with_owner("owner@shop.example")
    merchant_of(shop, ShopMembership.Role.OPERATOR, user__email="ops@shop.example")
    endpoint = services.webhook_register(shop=shop, by=owner, url=receiver.url)
    open_ticket(shop)
    receiver.script = [500] * 8

    at = T0
    run(at)
    for delay in SCHEDULE:
        at += delay * S
        run(at)
    assert at - T0 > timedelta(days=1)
    [d] = deliveries()
    assert (d.state, d.attempts, d.next_attempt_at) == ("failed", 8, None)
    assert len(receiver.received) == 8 and len(set(receiver.ids())) == 1
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_at == at

    # the owners hear of it, in the inbox and by e-mail; the operator does not; no webhook
    mail.outbox.clear()
    run(at)
    told = Notification.objects.for_system().filter(kind="webhook_disabled")
    assert [n.user for n in told] == [owner]
    assert [m.to for m in mail.outbox] == [["owner@shop.example"]]
    assert receiver.url in mail.outbox[0].subject
    assert deliveries(event_type="webhook_disabled") == []


def test_events_wait_for_a_disabled_endpoint_and_go_in_order_when_it_is_enabled(receiver):
    shop, owner = shop_with_owner()
    endpoint = services.webhook_register(shop=shop, by=owner, url=receiver.url)
    services.webhook_set_enabled(endpoint=endpoint, by=owner, enabled=False)
    ticket = open_ticket(shop)
    with time_machine.travel(T0, tick=False):
        ticket_reply(ticket=ticket, by=owner, resolution="cannot_issue", note="赠品")
    run(T0)
    assert receiver.received == []  # nothing goes to a disabled endpoint
    assert [d.state for d in deliveries()] == ["pending", "pending"]  # but nothing is lost

    services.webhook_set_enabled(endpoint=endpoint, by=owner, enabled=True)
    run(T0 + S)
    run(T0 + 2 * S)
    assert [d.state for d in deliveries()] == ["delivered", "delivered"]
    assert ['"ticket_opened"' in r.body for r in receiver.received] == [True, False]
    assert '"ticket_replied"' in receiver.received[1].body
    actions = HistoryEntry.objects.for_system().filter(subject="shop", subject_id=shop.pk)
    assert "webhook_disabled" in actions.values_list("action", flat=True)
    assert "webhook_enabled" in actions.values_list("action", flat=True)


def test_the_deliveries_of_one_object_keep_their_order_when_the_first_fails(receiver):
    shop, owner = shop_with_owner()
    services.webhook_register(shop=shop, by=owner, url=receiver.url)
    ticket = open_ticket(shop)
    with time_machine.travel(T0, tick=False):
        drain_outbox(now=T0)
        ticket_reply(ticket=ticket, by=owner, resolution="cannot_issue", note="赠品")
        drain_outbox(now=T0)
    receiver.script = [500]  # "opened" fails once

    run(T0)
    assert len(receiver.received) == 1  # "replied" waits behind "opened"
    opened, replied = deliveries()
    assert (opened.state, replied.state) == ("pending", "pending") and replied.attempts == 0
    run(T0 + 5 * S)  # "opened" goes; "replied" is next in line
    run(T0 + 6 * S)
    bodies = [r.body for r in receiver.received]
    assert ["ticket_opened" in b for b in bodies] == [True, True, False]
    assert "ticket_replied" in bodies[-1]


def test_the_owner_can_send_a_delivery_again_with_the_same_id(receiver):
    shop, owner = shop_with_owner()
    services.webhook_register(shop=shop, by=owner, url=receiver.url)
    open_ticket(shop)
    run(T0)
    [d] = deliveries()
    with time_machine.travel(T0 + 60 * S, tick=False):
        services.webhook_resend(delivery=d, by=owner)
    run(T0 + 60 * S)
    assert len(receiver.received) == 2 and len(set(receiver.ids())) == 1
    [d] = deliveries()
    assert d.state == "delivered" and d.attempts == 2


# --- nobody holds up the others ------------------------------------------------------------------


def test_a_receiver_that_hangs_does_not_hold_up_the_others(receiver, settings):
    settings.JDPOP_WEBHOOK_CONCURRENCY_PER_ENDPOINT = 1
    hanging = start_receiver()
    hanging.script = ["hang"] * 10
    try:
        slow_shop, slow_owner = shop_with_owner("slow@shop.example")
        fast_shop, fast_owner = shop_with_owner("fast@shop.example")
        services.webhook_register(shop=slow_shop, by=slow_owner, url=hanging.url)
        services.webhook_register(shop=fast_shop, by=fast_owner, url=receiver.url)
        for _ in range(3):
            open_ticket(slow_shop)
            open_ticket(fast_shop)
        counts = run(T0)
        tried_first = len(hanging.received)
        # the next runs, before the retry time of the try that timed out, do not try the
        # hanging endpoint again, not even with a new event (each try would hold their batch
        # up for a timeout)
        open_ticket(fast_shop, at=T0 + 2 * S)
        open_ticket(slow_shop, at=T0 + 2 * S)
        run(T0 + 4 * S)
        assert len(hanging.received) == tried_first
        assert len(receiver.received) == 4
    finally:
        hanging.server.shutdown()
        hanging.server.server_close()
    assert counts["delivered"] == 3  # every fast delivery went in the same run
    slow = deliveries(endpoint__shop=slow_shop)
    # the hanging endpoint got one try, timed out; the others wait, untried, for the next run
    assert len(hanging.received) == 1
    assert sorted(d.attempts for d in slow) == [0, 0, 0, 1]
    assert all(d.state == "pending" for d in slow)
    assert "Timeout" in next(d for d in slow if d.attempts).last_error
    # the untried ones of that run wait as long as the one that timed out
    assert {d.next_attempt_at for d in slow[:3]} == {T0 + SCHEDULE[0] * S}


# --- secrets ----------------------------------------------------------------------------------


def test_a_rotated_secret_signs_alongside_the_old_one_for_the_overlap(receiver, settings):
    settings.JDPOP_WEBHOOK_SECRET_OVERLAP = timedelta(hours=24)
    shop, owner = shop_with_owner()
    endpoint = services.webhook_register(shop=shop, by=owner, url=receiver.url)
    old = endpoint.secret
    with time_machine.travel(T0, tick=False):
        new = services.webhook_rotate_secret(endpoint=endpoint, by=owner).secret
    assert new != old and new.startswith("whsec_")

    open_ticket(shop, at=T0 + 3600 * S)
    run(T0 + 3600 * S)
    first = receiver.received[-1]
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    with time_machine.travel(T0 + 3600 * S, tick=False):
        assert first.verify(old) and first.verify(new)  # the receiver can switch at leisure

    open_ticket(shop, at=T0 + 25 * 3600 * S)
    run(T0 + 25 * 3600 * S)
    later = receiver.received[-1]
    with time_machine.travel(T0 + 25 * 3600 * S, tick=False):
        assert later.verify(new)
        with pytest.raises(WebhookVerificationError):
            later.verify(old)


# --- SSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://hooks.example.com/x", "https://"),
        ("https://127.0.0.1/x", "private, loopback or link-local"),
        ("https://localhost:8443/x", "private, loopback or link-local"),
        ("https://10.1.2.3/x", "private, loopback or link-local"),
        ("https://169.254.169.254/latest/meta-data", "private, loopback or link-local"),
        ("https://[::1]/x", "private, loopback or link-local"),
        ("https://user:pw@hooks.example.com/x", "user name or password"),
        ("ftp://hooks.example.com/x", "https://"),
        ("https://no-such-host.invalid/x", "does not resolve"),
        ("https://[::1/x", "valid URL"),
    ],
)
def test_an_endpoint_must_be_https_on_the_public_internet(url, words):
    shop, owner = shop_with_owner()
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.webhook_register(shop=shop, by=owner, url=url)
    assert words in " ".join(refused.value.messages)
    assert not WebhookEndpoint.objects.for_system().exists()


def test_an_address_that_turns_private_later_is_refused_at_send_time(receiver, settings):
    shop, owner = shop_with_owner()
    services.webhook_register(shop=shop, by=owner, url=receiver.url)  # allowed in tests
    open_ticket(shop)
    settings.JDPOP_WEBHOOK_ALLOW_PRIVATE = False  # production: the same URL is now refused
    with translation.override("en"):
        run(T0)
    assert receiver.received == []
    [d] = deliveries()
    assert d.state == "pending" and d.attempts == 1 and "https://" in d.last_error
