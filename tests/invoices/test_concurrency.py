"""Two transitions racing on PostgreSQL: the conditional update lets exactly one win."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.errors import Conflict
from core.models import HistoryEntry
from invoices import services
from invoices.models import InvoiceRequest
from tests.concurrency import race
from tests.factories import PDF_BYTES, VALID_USCC, InvoiceRequestFactory, OrderFactory, merchant_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_issue_and_refuse_at_once_one_wins():
    r = InvoiceRequestFactory()
    owner = merchant_of(r.shop)
    results = race(
        lambda: services.invoice_request_issue(
            invoice_request=InvoiceRequest.objects.for_system().get(pk=r.pk),
            by=owner,
            file=SimpleUploadedFile("a.pdf", PDF_BYTES),
            invoice_number="12345678901234567890",
        ),
        lambda: services.invoice_request_refuse(
            invoice_request=InvoiceRequest.objects.for_system().get(pk=r.pk),
            by=owner,
            reason="重复申请",
        ),
    )
    assert sum(isinstance(x, Conflict) for x in results) == 1, results
    assert sum(isinstance(x, InvoiceRequest) for x in results) == 1, results
    final = InvoiceRequest.objects.for_system().get(pk=r.pk).state
    assert final in ("issued", "refused")
    assert list(
        HistoryEntry.objects.for_system().filter(request_id=r.pk).values_list("state_to", flat=True)
    ) == [final]


def test_two_cancels_at_once_write_one_history_entry():
    r = InvoiceRequestFactory()
    results = race(
        *[
            lambda: services.invoice_request_cancel(
                invoice_request=InvoiceRequest.objects.for_system().get(pk=r.pk), by=r.consumer
            )
        ]
        * 2
    )
    assert sorted(type(x).__name__ for x in results) == ["Conflict", "InvoiceRequest"]
    assert HistoryEntry.objects.for_system().filter(request_id=r.pk).count() == 1


def test_two_requests_for_one_order_at_once_the_database_keeps_one():
    order = OrderFactory()
    data = {
        "title_type": "organisation",
        "title": "北京示例科技有限公司",
        "tax_id": VALID_USCC,
        "invoice_kind": "paper_ordinary",
    }
    results = race(
        *[lambda: services.invoice_request_create(consumer=order.consumer, order=order, data=data)]
        * 2
    )
    assert sorted(type(x).__name__ for x in results) == ["Conflict", "InvoiceRequest"], results
    assert InvoiceRequest.objects.for_system().filter(order=order).count() == 1
