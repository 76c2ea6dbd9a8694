"""The ticket API: the merchant's tickets and replies, the consumer's tickets and 催开票, with the
same services, scoping and errors as the pages."""

from __future__ import annotations

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from core.models import ShopMembership
from tests.factories import PDF_BYTES, InvoiceRequestFactory, ShopFactory, merchant_of
from tickets.jobs import open_overdue_tickets
from tickets.models import TicketReply, UrgeTicket

from .conftest import DAY, DUE, OPENED, SECOND, T0

pytestmark = pytest.mark.django_db
OVERDUE = T0 + settings.JDPOP_OVERDUE_AFTER
PROMISED = (OPENED + 3 * DAY).date().isoformat()


def reply_url(ticket: UrgeTicket) -> str:
    return f"/api/v1/merchant/tickets/{ticket.pk}/reply/"


def post_json(client, url: str, body: dict | None = None):
    return client.post(url, body or {}, content_type="application/json")


# --- merchant ---------------------------------------------------------------------------------


def test_the_merchant_lists_open_tickets_of_their_shops_most_urgent_first(client, shop, merchant):
    later = InvoiceRequestFactory(order__shop=shop, requested_at=T0 + DAY)
    first = InvoiceRequestFactory(order__shop=shop, requested_at=T0)
    InvoiceRequestFactory(order__shop=ShopFactory(new_flow_since=T0 - 30 * DAY), requested_at=T0)
    open_overdue_tickets(now=OPENED)
    open_overdue_tickets(now=OPENED + DAY)
    client.force_login(merchant)
    with time_machine.travel(OPENED + 2 * SECOND, tick=False):
        listed = client.get("/api/v1/merchant/tickets/").json()
    assert [t["request"] for t in listed["results"]] == [first.pk, later.pk]
    row = listed["results"][0]
    assert row["state"] == "awaiting_reply" and row["order_number"] == first.order.number
    assert row["seconds_left"] == 24 * 3600 - 2


def test_the_merchant_replies_through_the_api(client, ticket, merchant):
    client.force_login(merchant)
    with time_machine.travel(OPENED + SECOND, tick=False):
        response = post_json(
            client,
            reply_url(ticket),
            {"resolution": "date_agreed", "note": "约定三天后开票", "promised_date": PROMISED},
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["state"], body["resolution"], body["promise_state"]) == (
        "answered",
        "date_agreed",
        "pending",
    )
    assert [(r["resolution"], r["note"], r["late"]) for r in body["replies"]] == [
        ("date_agreed", "约定三天后开票", False)
    ]
    # an answered ticket is still found by id, though the list shows open ones by default
    assert client.get(f"/api/v1/merchant/tickets/{ticket.pk}/").status_code == 200
    assert client.get("/api/v1/merchant/tickets/").json()["results"] == []
    assert len(client.get("/api/v1/merchant/tickets/?state=answered").json()["results"]) == 1


def test_a_reply_with_an_attachment_goes_as_multipart(client, ticket, merchant):
    client.force_login(merchant)
    with time_machine.travel(OPENED + SECOND, tick=False):
        response = client.post(
            reply_url(ticket),
            {
                "resolution": "no_invoice_needed",
                "note": "顾客同意无需开票",
                "attachment": SimpleUploadedFile("chat.pdf", PDF_BYTES),
            },
        )
    assert response.status_code == 201, response.json()
    url = response.json()["replies"][0]["attachment_url"]
    assert b"".join(client.get(url).streaming_content) == PDF_BYTES


def test_reply_errors_come_back_by_field_and_nothing_is_sent(client, ticket, merchant):
    client.force_login(merchant)
    url = reply_url(ticket)
    with time_machine.travel(OPENED + SECOND, tick=False):
        no_date = post_json(client, url, {"resolution": "date_agreed", "note": "x"})
        not_uploaded = post_json(client, url, {"resolution": "issued"})
        unknown = post_json(client, url, {"resolution": "whatever", "note": "x"})
    assert no_date.status_code == 400 and "promised_date" in no_date.json()["fields"]
    assert not_uploaded.status_code == 400 and "resolution" in not_uploaded.json()["fields"]
    assert unknown.status_code == 400 and "resolution" in unknown.json()["fields"]
    assert not TicketReply.objects.for_system().exists()


def test_a_viewer_cannot_reply_through_the_api(client, ticket, shop):
    client.force_login(merchant_of(shop, role=ShopMembership.Role.VIEWER))
    with time_machine.travel(OPENED + SECOND, tick=False):
        assert client.get(f"/api/v1/merchant/tickets/{ticket.pk}/").status_code == 200
        response = post_json(client, reply_url(ticket), {"resolution": "cannot_issue", "note": "x"})
    assert response.status_code == 403
    assert not TicketReply.objects.for_system().exists()


def test_another_shops_merchant_gets_404(client, ticket):
    client.force_login(merchant_of(ShopFactory()))
    with time_machine.travel(OPENED + SECOND, tick=False):
        assert client.get(f"/api/v1/merchant/tickets/{ticket.pk}/").status_code == 404
        reply = post_json(client, reply_url(ticket), {"resolution": "cannot_issue", "note": "x"})
        assert reply.status_code == 404
        assert client.get("/api/v1/merchant/tickets/?state=all").json()["results"] == []
    assert not TicketReply.objects.for_system().exists()


def test_the_api_says_what_each_resolution_requires(client, merchant):
    client.force_login(merchant)
    rows = {r["value"]: r for r in client.get("/api/v1/merchant/tickets/requirements/").json()}
    assert set(rows) == set(UrgeTicket.Resolution.values)
    assert rows["date_agreed"]["date"] is True and rows["issued"]["uploaded_invoice"] is True


# --- consumer ---------------------------------------------------------------------------------


def test_the_consumer_urges_through_the_api_and_again_keeps_the_deadline(client, request_at_t0):
    client.force_login(request_at_t0.consumer)
    url = f"/api/v1/consumer/invoice-requests/{request_at_t0.pk}/urge/"
    with time_machine.travel(OPENED, tick=False):
        opened = post_json(client, url)
    assert opened.status_code == 201, opened.json()
    assert (opened.json()["urge_count"], opened.json()["opened_via"]) == (1, "consumer")
    with time_machine.travel(OPENED + 3 * 3600 * SECOND, tick=False):
        again = post_json(client, url)
    assert again.status_code == 200
    assert again.json()["urge_count"] == 2
    assert again.json()["reply_due_at"] == opened.json()["reply_due_at"]
    assert UrgeTicket.objects.for_system().get().reply_due_at == DUE
    tickets = client.get("/api/v1/consumer/tickets/").json()
    assert [t["request"] for t in tickets["results"]] == [request_at_t0.pk]


def test_urging_too_early_is_a_400_with_a_code(client, request_at_t0):
    client.force_login(request_at_t0.consumer)
    with time_machine.travel(OVERDUE, tick=False):
        response = post_json(client, f"/api/v1/consumer/invoice-requests/{request_at_t0.pk}/urge/")
    assert response.status_code == 400 and response.json()["code"] == "not_overdue"
    assert not UrgeTicket.objects.for_system().exists()


def test_a_consumer_cannot_urge_or_read_another_consumers_ticket(client, ticket):
    client.force_login(InvoiceRequestFactory().consumer)
    with time_machine.travel(OPENED, tick=False):
        urge = post_json(client, f"/api/v1/consumer/invoice-requests/{ticket.request_id}/urge/")
        assert urge.status_code == 404
        assert client.get(f"/api/v1/consumer/tickets/{ticket.pk}/").status_code == 404
    ticket.refresh_from_db()
    assert ticket.urge_count == 0


def test_anonymous_users_cannot_use_the_ticket_api(client, ticket):
    assert client.get("/api/v1/merchant/tickets/").status_code in (401, 403)
    assert post_json(
        client, f"/api/v1/consumer/invoice-requests/{ticket.request_id}/urge/"
    ).status_code in (401, 403)


def test_the_openapi_schema_has_the_ticket_endpoints(admin_client):
    response = admin_client.get("/api/schema/")
    assert response.status_code == 200
    for path in (
        b"/api/v1/merchant/tickets/{id}/reply/",
        b"/api/v1/consumer/invoice-requests/{id}/urge/",
        b"/api/v1/consumer/tickets/",
    ):
        assert path in response.content
