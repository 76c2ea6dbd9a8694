"""The inbox (站内信) on the pages and the API, the e-mail settings page, and a shop's webhook
pages (spec 10): an unread count on every page, a list with links to the object, mark read;
each person sees only their own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import ShopMembership
from notifications.delivery import drain_outbox
from notifications.models import Notification, NotificationSettings, WebhookEndpoint
from tests.factories import InvoiceRequestFactory, ShopFactory, UserFactory, merchant_of
from tickets.services import tickets_open

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    shop = ShopFactory(new_flow_since=timezone.now() - timedelta(days=365))
    owner = merchant_of(shop, user__email="owner@a.example")
    viewer = merchant_of(shop, ShopMembership.Role.VIEWER)
    consumer = UserFactory(email="x@consumer.example")
    requests = [
        InvoiceRequestFactory(
            order__shop=shop,
            order__consumer=consumer,
            requested_at=timezone.now() - timedelta(days=11),
        )
        for _ in range(3)
    ]
    tickets_open(request_ids=[r.pk for r in requests], now=timezone.now(), via="job")
    drain_outbox(now=timezone.now())
    return {"shop": shop, "owner": owner, "viewer": viewer, "consumer": consumer}


def test_every_page_shows_the_unread_count_in_the_top_bar(client, world):
    client.force_login(world["owner"])
    for url in [reverse("merchant-requests"), reverse("my-shops"), reverse("inbox")]:
        page = client.get(url).content.decode()
        assert 'data-unread="3"' in page and '<span class="badge"' in page


def test_the_inbox_lists_the_persons_own_notifications_with_links(client, world):
    client.force_login(world["consumer"])
    page = client.get(reverse("inbox")).content.decode()
    assert page.count('class="unread"') == 3
    mine = Notification.objects.for_recipient(world["consumer"]).first()
    assert reverse("inbox-open", args=[mine.pk]) in page
    other = Notification.objects.for_recipient(world["owner"]).first()
    assert reverse("inbox-open", args=[other.pk]) not in page


def test_opening_a_notification_marks_it_read_and_goes_to_its_object(client, world):
    client.force_login(world["consumer"])
    note = Notification.objects.for_recipient(world["consumer"]).first()
    response = client.post(reverse("inbox-open", args=[note.pk]))
    assert response.status_code == 302 and response["Location"] == note.link
    note.refresh_from_db()
    assert note.read_at is not None
    assert 'data-unread="2"' in client.get(reverse("inbox")).content.decode()
    assert client.get(reverse("inbox") + "?unread=1").content.decode().count('class="unread"') == 2


def test_mark_all_read_clears_the_count(client, world):
    client.force_login(world["viewer"])
    client.post(reverse("inbox-read-all"))
    page = client.get(reverse("inbox")).content.decode()
    assert 'data-unread="0"' in page and '<span class="badge"' not in page
    # the owner's stay unread
    assert Notification.objects.for_recipient(world["owner"]).filter(read_at=None).count() == 3


def test_the_api_lists_counts_and_marks_read(client, world):
    client.force_login(world["owner"])
    listed = client.get("/api/v1/notifications/?unread=true").json()
    assert len(listed["results"]) == 3
    first = listed["results"][0]
    assert first["kind"] == "ticket_opened" and first["read"] is False and first["link"]
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 3}
    assert client.post(f"/api/v1/notifications/{first['id']}/read/").json() == {"marked": 1}
    assert client.get("/api/v1/notifications/unread-count/").json() == {"unread": 2}
    assert client.post("/api/v1/notifications/read-all/").json() == {"marked": 2}
    assert client.get("/api/v1/notifications/?unread=true").json()["results"] == []


def test_the_inbox_list_costs_the_same_queries_however_long_it_is(
    client, world, django_assert_max_num_queries
):
    client.force_login(world["owner"])
    with django_assert_max_num_queries(12):
        client.get(reverse("inbox"))
    with django_assert_max_num_queries(12):
        client.get("/api/v1/notifications/")


def test_the_settings_page_saves_what_the_person_wants_by_email(client, world):
    client.force_login(world["viewer"])
    page = client.get(reverse("notification-settings")).content.decode()
    assert "ticket_opened" in page and "penalty_proposed" not in page  # owners only
    response = client.post(
        reverse("notification-settings"), {"language": "en", "email_kinds": ["ticket_reminder"]}
    )
    assert response.status_code == 302
    saved = NotificationSettings.objects.get(user=world["viewer"])
    assert saved.language == "en" and "ticket_opened" in saved.email_muted
    assert "ticket_reminder" not in saved.email_muted
    bad = client.post(reverse("notification-settings"), {"email_kinds": ["penalty_proposed"]})
    assert bad.status_code == 400


def test_the_owner_registers_an_endpoint_on_the_page_and_sees_its_secret(client, world, settings):
    settings.JDPOP_WEBHOOK_ALLOW_PRIVATE = True
    shop = world["shop"]
    client.force_login(world["owner"])
    response = client.post(
        reverse("webhooks", args=[shop.pk]),
        {"url": "http://127.0.0.1:9/hook", "description": "ERP"},
    )
    endpoint = WebhookEndpoint.objects.for_system().get()
    assert response["Location"] == reverse("webhook-detail", args=[shop.pk, endpoint.pk])
    page = client.get(response["Location"]).content.decode()
    assert endpoint.secret in page
    client.force_login(world["viewer"])
    assert client.get(response["Location"]).status_code == 404


def test_a_refused_endpoint_url_says_why_on_the_page(client, world):
    client.force_login(world["owner"])
    response = client.post(
        reverse("webhooks", args=[world["shop"].pk]),
        {"url": "https://127.0.0.1/hook"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "private, loopback or link-local" in response.content.decode()
