"""Fixtures for the ticket rules: a clock in China time and a request whose age we choose."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from invoices.models import InvoiceRequest
from tests.factories import PDF_BYTES, InvoiceRequestFactory, ShopFactory, merchant_of
from tickets.jobs import open_overdue_tickets
from tickets.models import UrgeTicket

CHINA = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 1, 9, 30, tzinfo=CHINA)  # when the request was made
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
OPENED = T0 + settings.JDPOP_OVERDUE_AFTER + SECOND  # the request is overdue: its ticket opens
DUE = OPENED + settings.JDPOP_REPLY_WINDOW  # the ticket's reply deadline


@pytest.fixture
def shop():
    return ShopFactory(new_flow_since=T0 - 30 * DAY)


@pytest.fixture
def merchant(shop):
    return merchant_of(shop)


@pytest.fixture
def request_at_t0(shop) -> InvoiceRequest:
    return InvoiceRequestFactory(order__shop=shop, requested_at=T0)


@pytest.fixture
def ticket(request_at_t0) -> UrgeTicket:
    """The request's urge ticket, opened by the job as soon as the request is overdue."""
    open_overdue_tickets(now=OPENED)
    return UrgeTicket.objects.for_system().select_related("request").get()


def pdf():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("invoice.pdf", PDF_BYTES, content_type="application/pdf")


def upload_invoice(invoice_request: InvoiceRequest, by) -> None:
    """The merchant uploads the request's invoice (which answers its ticket as issued)."""
    from invoices.services import invoice_request_issue

    invoice_request_issue(
        invoice_request=invoice_request, by=by, file=pdf(), invoice_number="12345678901234567890"
    )
