"""The event about the webhooks themselves: an endpoint was disabled after failing for a day
(its owners hear of it; the shop's webhooks do not get it)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy, gettext_noop

from ..events import OWNERS, Event, Notice, event_kind
from ..models import WebhookEndpoint


@event_kind(
    "webhook_disabled",
    label=gettext_lazy("A webhook endpoint was disabled after failing"),
    audiences=(OWNERS,),
)
def render_webhook_disabled(payloads: list[dict]) -> list[Event | None]:
    endpoints = WebhookEndpoint.objects.for_system().in_bulk([p["endpoint_id"] for p in payloads])
    events: list[Event | None] = []
    for payload in payloads:
        e = endpoints.get(payload["endpoint_id"])
        if e is None:
            events.append(None)
            continue
        notice = Notice(
            to=OWNERS,
            subject=gettext_noop("Your webhook endpoint was disabled: %(url)s"),
            body=gettext_noop(
                "No delivery has reached %(url)s for more than a day, so it was disabled. "
                "Events keep being recorded for it: fix the endpoint, then enable it again on "
                "its page and what waited will be sent, in order."
            ),
            link=reverse("webhook-detail", args=[e.shop_id, e.pk]),
            params={"url": e.url},
        )
        events.append(
            Event(
                object=f"webhook:{e.pk}",
                data={"endpoint_id": e.pk, "url": e.url},
                notices=[notice],
                shop_id=e.shop_id,
                webhook=False,
            )
        )
    return events


def connect() -> None:
    """Queued by `notifications.webhooks` itself: no signal to hear."""
