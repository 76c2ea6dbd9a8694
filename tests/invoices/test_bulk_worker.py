"""Spec 11, bulk upload end to end: the page stores the zip and, once committed, sends the task
through the real broker to a real Celery worker, which reads, matches and issues against the
test database; what eager mode would hide (the task's name, its arguments, the commit before
the send, the storage shared by web and worker) shows here.

PostgreSQL and Redis only; without Redis these tests fail, they do not skip.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from core.models import HistoryEntry
from invoices.bulk import TASK, bulk_upload_create, resume_bulk_uploads
from invoices.models import BulkUpload, InvoiceRequest
from jdpop.celery import app
from tests.factories import InvoiceRequestFactory, ShopFactory, merchant_of
from tests.invoices import fakes
from tests.processes import Worker, celery_worker

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Worker]:
    """A worker on a queue of its own, the broker and the test database, sharing the media
    folder with the test (as web and worker share storage in production)."""
    with celery_worker(
        django_db_blocker, tmp_path_factory, prefix="jdpop-bulk-test", media=True
    ) as started:
        started.timeout = 60
        yield started


@pytest.fixture
def on_worker(worker, settings) -> Worker:
    """The test stores where the worker reads, and sends to the worker's queue."""
    settings.MEDIA_ROOT = worker.media
    settings.JDPOP_BULK_UPLOAD_QUEUE = worker.queue
    return worker


def finished(bulk: BulkUpload) -> Callable[[], bool]:
    return lambda: BulkUpload.objects.for_system().get(pk=bulk.pk).state in ("done", "failed")


def zip_upload(files: dict[str, bytes]) -> SimpleUploadedFile:
    return SimpleUploadedFile("fapiao.zip", fakes.zip_of(files), content_type="application/zip")


def test_the_page_queues_the_zip_and_the_worker_issues_each_match(client, on_worker):
    shop = ShopFactory(tax_id=fakes.DEFAULT_SELLER_TAX_ID)
    owner = merchant_of(shop)
    good, named, wrong = (InvoiceRequestFactory(order__shop=shop) for _ in range(3))
    files = {
        "good.pdf": fakes.invoice_pdf(fakes.fields_for(good)),
        f"{named.order.number}.ofd": fakes.invoice_ofd(fakes.fields_for(named, remarks="")),
        "wrong.pdf": fakes.invoice_pdf(fakes.fields_for(wrong, total=wrong.order.amount + 1)),
        "broken.pdf": fakes.corrupt_pdf(),
    }
    client.force_login(owner)
    response = client.post(reverse("merchant-bulk"), {"shop": shop.pk, "files": zip_upload(files)})
    assert response.status_code == 302
    bulk = BulkUpload.objects.for_system().get()

    on_worker.wait_for(finished(bulk))
    bulk.refresh_from_db()
    assert bulk.state == "done", bulk.error
    assert {line["name"]: line["outcome"] for line in bulk.report} == {
        "good.pdf": "issued",
        f"{named.order.number}.ofd": "issued",
        "wrong.pdf": "mismatch",
        "broken.pdf": "bad_file",
    }
    assert bulk.done == bulk.total == 4 and bulk.counts["issued"] == 2
    states = dict(
        InvoiceRequest.objects.for_system()
        .filter(pk__in=[good.pk, named.pk, wrong.pk])
        .values_list("pk", "state")
    )
    assert states == {good.pk: "issued", named.pk: "issued", wrong.pk: "pending"}
    # the worker stored each invoice where the web serves it from
    good.refresh_from_db()
    assert (on_worker.media / good.invoice_file.name).is_file()
    page = client.get(reverse("merchant-bulk-detail", args=[bulk.pk])).content.decode()
    assert "wrong.pdf" in page and "hx-get" not in page


def test_a_task_sent_twice_and_the_same_zip_uploaded_twice_issue_nothing_twice(on_worker):
    shop = ShopFactory(tax_id=fakes.DEFAULT_SELLER_TAX_ID)
    owner = merchant_of(shop)
    requests = [InvoiceRequestFactory(order__shop=shop) for _ in range(3)]
    files = {f"{i}.pdf": fakes.invoice_pdf(fakes.fields_for(r)) for i, r in enumerate(requests)}

    first = bulk_upload_create(shop=shop, by=owner, files=[zip_upload(files)])
    app.send_task(TASK, args=[first.pk], queue=on_worker.queue)  # a redelivery
    second = bulk_upload_create(shop=shop, by=owner, files=[zip_upload(files)])
    on_worker.wait_for(finished(first))
    on_worker.wait_for(finished(second))
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.counts["issued"] == 3 and len(first.report) == 3
    assert second.counts["issued"] == 0 and second.counts["already_issued"] == 3
    issued = HistoryEntry.objects.for_system().filter(
        action="issued", request_id__in=[r.pk for r in requests]
    )
    assert issued.count() == 3


def stored_upload(shop, owner, files: dict[str, bytes], **fields) -> BulkUpload:
    """A bulk upload stored as the page stores it, but whose task was never sent."""
    name = default_storage.save(f"bulk/{shop.pk}/{uuid.uuid4().hex}.zip", zip_upload(files))
    return BulkUpload.objects.create(
        shop=shop, by=owner, archive=name, name="fapiao.zip", total=len(files), **fields
    )


def test_the_job_sends_again_a_lost_task_and_resumes_a_dead_workers_run(on_worker):
    shop = ShopFactory(tax_id=fakes.DEFAULT_SELLER_TAX_ID)
    owner = merchant_of(shop)
    r1, r2, r3 = (InvoiceRequestFactory(order__shop=shop) for _ in range(3))
    now = timezone.now()
    # Queued three minutes ago, its task lost with the broker: nobody will run it...
    lost = stored_upload(
        shop,
        owner,
        {"3.pdf": fakes.invoice_pdf(fakes.fields_for(r3))},
        created_at=now - timedelta(minutes=3),
    )
    # ...and one a killed worker left running after its first file, past its lease.
    dead = stored_upload(
        shop,
        owner,
        {
            "1.pdf": fakes.invoice_pdf(fakes.fields_for(r1)),
            "2.pdf": fakes.invoice_pdf(fakes.fields_for(r2)),
        },
        state="running",
        started_at=now - settings.JDPOP_JOB_TIME_LIMIT - timedelta(seconds=5),
        done=1,
        report=[{"name": "1.pdf", "outcome": "mismatch"}],
    )

    assert resume_bulk_uploads(now=now) == {"requeued": 1, "resumed": 1}
    on_worker.wait_for(finished(lost))
    on_worker.wait_for(finished(dead))
    lost.refresh_from_db()
    dead.refresh_from_db()
    assert lost.counts["issued"] == 1
    # The dead run went on from where its report ended: the first file was not read again.
    assert [line["outcome"] for line in dead.report] == ["mismatch", "issued"]
    states = InvoiceRequest.objects.for_system().filter(pk__in=[r1.pk, r2.pk, r3.pk])
    assert dict(states.values_list("pk", "state")) == {
        r1.pk: "pending",
        r2.pk: "issued",
        r3.pk: "issued",
    }
