"""Every download is an attachment under a name we make, with the extension of the type found
in its content (never the uploader's file name), and the browser may not guess another type."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from disputes import services as disputes
from invoices import services as invoices
from tests.disputes.factories import DisputeFactory
from tests.factories import PDF_BYTES, InvoiceRequestFactory, merchant_of
from tickets.models import UrgeTicket
from tickets.services import ticket_reply

pytestmark = pytest.mark.django_db


def hostile(name: str = "evidence.bat") -> SimpleUploadedFile:
    """A file whose first bytes are a PDF's but whose name says otherwise."""
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/x-msdownload")


def assert_safe_download(response, name: str) -> None:
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_evidence_downloads_under_a_generated_name(client):
    dispute = DisputeFactory()
    owner = merchant_of(dispute.shop)
    evidence = disputes.dispute_evidence_add(dispute=dispute, by=owner, file=hostile())
    assert evidence.file.name.endswith(".pdf") and "evidence.bat" not in evidence.file.name
    client.force_login(owner)
    response = client.get(f"/disputes/evidence/{evidence.pk}/file")
    assert_safe_download(response, f"evidence-{evidence.pk}.pdf")


def test_an_invoice_and_a_reply_attachment_download_the_same_way(client):
    r = InvoiceRequestFactory()
    owner = merchant_of(r.shop)
    invoices.invoice_request_issue(
        invoice_request=r, by=owner, file=hostile("fapiao.exe"), invoice_number="1" * 20
    )
    client.force_login(r.consumer)
    assert_safe_download(client.get(f"/invoices/{r.pk}/file"), f"invoice-{r.order.number}.pdf")

    other = InvoiceRequestFactory(order__shop=r.shop)
    ticket = UrgeTicket.objects.create(
        request=other,
        shop=other.shop,
        opened_at=other.requested_at,
        opened_via="consumer",
        reply_due_at=other.requested_at,
    )
    reply = ticket_reply(
        ticket=ticket,
        by=owner,
        resolution="cannot_issue",
        note="赠品不开票",
        attachment=hostile("chat.html"),
    )
    client.force_login(owner)
    response = client.get(f"/tickets/replies/{reply.pk}/attachment")
    assert_safe_download(response, f"reply-{reply.pk}.pdf")
