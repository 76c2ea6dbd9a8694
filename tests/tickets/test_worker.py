"""The scheduled tasks run by a real Celery worker, through the real broker, against the test
database: what eager mode would hide (task names, serialization, transactions) shows here.

PostgreSQL and Redis only; without Redis these tests fail, they do not skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import JobRun, OutboxMessage, ShopMembership
from tests.factories import InvoiceRequestFactory, ShopFactory, merchant_of
from tests.processes import Worker, celery_worker
from tickets.models import UrgeTicket

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Worker]:
    """A worker process on a queue of its own, on the broker and the test database."""
    with celery_worker(django_db_blocker, tmp_path_factory) as started:
        yield started


def test_the_worker_queues_reminders_and_mails_them(worker):
    shop = ShopFactory()
    merchant_of(shop, role=ShopMembership.Role.OWNER, user__email="owner@shop.example")
    r = InvoiceRequestFactory(order__shop=shop)
    now = timezone.now()
    ticket = UrgeTicket.objects.create(
        request=r,
        shop=shop,
        opened_at=now - timedelta(hours=23),
        opened_via=UrgeTicket.OpenedVia.JOB,
        reply_due_at=now + timedelta(hours=1),
    )
    key = f"ticket:{ticket.pk}:remind:2h"

    worker.send("tickets.send_ticket_reminders")
    worker.wait_for(lambda: OutboxMessage.objects.filter(key=key).exists())

    worker.send("core.drain_outbox")
    worker.wait_for(lambda: OutboxMessage.objects.filter(key=key, sent_at__isnull=False).exists())
    assert "owner@shop.example" in worker.output()  # the console mail backend's output

    runs = JobRun.objects.filter(name__in=["send_ticket_reminders", "drain_outbox"])
    assert sorted(runs.values_list("name", "ok")) == [
        ("drain_outbox", True),
        ("send_ticket_reminders", True),
    ]


def test_the_worker_opens_tickets_for_overdue_requests(worker):
    shop = ShopFactory()
    merchant_of(shop, role=ShopMembership.Role.OWNER, user__email="owner@shop.example")
    overdue = InvoiceRequestFactory(
        order__shop=shop, requested_at=timezone.now() - timedelta(days=11)
    )

    worker.send("tickets.open_overdue_tickets")
    worker.wait_for(lambda: UrgeTicket.objects.for_system().filter(request=overdue).exists())
    ticket = UrgeTicket.objects.for_system().get(request=overdue)
    assert OutboxMessage.objects.filter(key=f"ticket:{ticket.pk}:opened").exists()

    worker.send("core.drain_outbox")
    worker.wait_for(
        lambda: OutboxMessage.objects.filter(
            key=f"ticket:{ticket.pk}:opened", sent_at__isnull=False
        ).exists()
    )
    assert JobRun.objects.filter(name="open_overdue_tickets", ok=True).exists()


@pytest.mark.parametrize("job", ["flag_missed_replies", "flag_broken_promises"])
def test_the_worker_runs_the_flag_jobs_and_records_them(worker, job):
    worker.send(f"tickets.{job}")
    worker.wait_for(lambda: JobRun.objects.filter(name=job, finished_at__isnull=False).exists())
    assert JobRun.objects.get(name=job).ok is True, JobRun.objects.get(name=job).error
