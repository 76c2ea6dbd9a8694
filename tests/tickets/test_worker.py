"""The scheduled tasks run by a real Celery worker, through the real broker, against the test
database: what eager mode would hide (task names, serialization, transactions) shows here.

PostgreSQL and Redis only; without Redis these tests fail, they do not skip.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from kombu import Connection

from core.models import JobRun, OutboxMessage, ShopMembership
from jdpop.celery import app
from tests.factories import InvoiceRequestFactory, ShopFactory, merchant_of
from tests.processes import BIN, ROOT, process_env
from tickets.models import UrgeTicket

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]


@dataclass
class Worker:
    queue: str
    process: subprocess.Popen
    log: Path

    def send(self, task: str) -> None:
        app.send_task(task, queue=self.queue)

    def wait_for(self, condition: Callable[[], object], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited ({self.process.returncode}):\n{self.output()}")
            time.sleep(0.2)
        pytest.fail(f"nothing happened within {timeout} s; the worker said:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Worker]:
    """A worker process on a queue of its own, on the broker and the test database."""
    broker = settings.CELERY_BROKER_URL
    assert broker.startswith("redis://"), f"CELERY_BROKER_URL must be Redis, not {broker!r}"
    with Connection(broker, connect_timeout=2) as conn:  # no Redis: fail here, clearly
        conn.ensure_connection(max_retries=1, timeout=2)

    queue = f"jdpop-test-{uuid.uuid4().hex[:12]}"
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    with django_db_blocker.unblock():
        env = process_env(broker)
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                str(BIN / "celery"),
                *("-A", "jdpop", "worker", "-P", "solo", "-c", "1", "-Q", queue),
                *("--without-heartbeat", "--without-gossip", "--without-mingle"),
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Worker(queue=queue, process=process, log=log)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        with Connection(broker, connect_timeout=2) as conn:
            conn.default_channel.queue_delete(queue)


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
