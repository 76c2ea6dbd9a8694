"""Issue 8, item 7: the outbox drains until it is empty within one run, a batch at a time, to a
real SMTP server (aiosmtpd); a server that is down keeps the messages queued, with their
error, until it is back."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
from django.utils import timezone

from core.models import OutboxMessage
from notifications.delivery import drain_outbox
from tests.factories import InvoiceRequestFactory, ShopFactory, UserFactory, merchant_of
from tickets.services import tickets_open

pytestmark = pytest.mark.django_db


class Inbox(Sink):
    """An SMTP server that keeps what it receives."""

    def __init__(self) -> None:
        self.received: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.received.append(envelope)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield inbox
    controller.stop()


def overdue_tickets(n: int) -> None:
    shop = ShopFactory()
    merchant_of(shop, user=UserFactory(email="owner@shop.example"))
    past = timezone.now() - timedelta(days=11)
    requests = [InvoiceRequestFactory(order__shop=shop, requested_at=past) for _ in range(n)]
    tickets_open(request_ids=[r.pk for r in requests], now=timezone.now(), via="job")


def test_one_run_drains_far_more_than_one_batch(smtp):
    overdue_tickets(230)
    counts = drain_outbox(now=timezone.now(), batch_size=50)
    assert counts == {"sent": 230, "skipped": 0, "failed": 0, "emails": 230}
    assert len(smtp.received) == 230
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
    # nothing twice: a second run finds nothing to send
    assert drain_outbox(now=timezone.now())["sent"] == 0 and len(smtp.received) == 230


def test_a_server_that_is_down_keeps_the_messages_until_it_is_back(settings):
    overdue_tickets(3)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    counts = drain_outbox(now=timezone.now())
    assert counts["failed"] == 3 and counts["sent"] == 0
    queued = OutboxMessage.objects.filter(sent_at__isnull=True)
    assert queued.count() == 3 and all("Connection" in m.last_error for m in queued)
    # the server comes back
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=settings.EMAIL_PORT)
    controller.start()
    try:
        assert drain_outbox(now=timezone.now())["sent"] == 3 and len(inbox.received) == 3
    finally:
        controller.stop()
