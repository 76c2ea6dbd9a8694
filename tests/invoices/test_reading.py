"""Issue 10, item 1: the invoice is read back from what the file carries. A PDF from its text
layer and its QR code (the QR code wins where they differ), an OFD from its custom tags, a 数电票
XML from its elements; a scan gives nothing (None); a corrupt file is refused before that."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from core.uploads import OFD, PDF, PNG, XML, detect_upload
from invoices.models import InvoiceRequest
from invoices.reading import InvoiceReading, parse_qr, read_invoice
from tests.factories import InvoiceRequestFactory, merchant_of
from tests.invoices import fakes

FIELDS = fakes.Fields(
    number="26112000000012345678",
    issued_on=date(2026, 3, 2),
    buyer_name="北京示例科技有限公司",
    buyer_tax_id="91620105L015101280",
    seller_name="测试旗舰店",
    seller_tax_id="91110108MA01C2XJ7Q",
    total=Decimal("1234.50"),
    remarks="订单号：300000000123",
)
OLDER = fakes.Fields(
    code="044001900111", number="12345678", total=Decimal("226.00"), issued_on=date(2026, 3, 2)
)


def read(content: bytes):
    """What an upload of `content` reads as, once its type is detected like any upload's."""
    return read_invoice(content, detect_upload(SimpleUploadedFile("invoice", content)))


def everything(sources: tuple[str, ...], fields: fakes.Fields = FIELDS) -> InvoiceReading:
    return InvoiceReading(
        number=fields.number,
        code=fields.code,
        issued_on=fields.issued_on,
        buyer_name=fields.buyer_name,
        buyer_tax_id=fields.buyer_tax_id,
        seller_name=fields.seller_name,
        seller_tax_id=fields.seller_tax_id,
        total=fields.total,
        remarks=fields.remarks,
        sources=sources,
    )


def test_a_pdf_is_read_from_its_text_and_its_qr_code():
    assert read(fakes.invoice_pdf(FIELDS)) == everything(("text", "qr"))


def test_a_pdf_with_only_a_qr_code_gives_number_date_and_total():
    reading = read(fakes.invoice_pdf(FIELDS, text=False))
    assert reading == InvoiceReading(
        number=FIELDS.number, issued_on=FIELDS.issued_on, total=FIELDS.total, sources=("qr",)
    )


def test_a_pdf_with_only_text_is_read_from_its_labels():
    assert read(fakes.invoice_pdf(FIELDS, qr=False)) == everything(("text",))


def test_an_older_e_invoice_has_a_code_and_its_total_comes_from_the_text():
    """Its QR code carries the amount without tax: only the text's 价税合计 is the total."""
    assert read(fakes.invoice_pdf(OLDER)) == everything(("text", "qr"), OLDER)
    qr_only = read(fakes.invoice_pdf(OLDER, text=False))
    assert (qr_only.code, qr_only.number, qr_only.total) == ("044001900111", "12345678", None)


def test_where_text_and_qr_code_differ_the_qr_code_is_taken():
    """A PDF whose printed number, date and total were edited: the QR code still says the
    truth (the page is what anyone can retype)."""
    from dataclasses import replace

    printed = replace(
        FIELDS, number="26112000000099999999", total=Decimal("1.00"), issued_on=date(2026, 1, 1)
    )
    reading = read(fakes.invoice_pdf(printed, qr=FIELDS))
    assert (reading.number, reading.total, reading.issued_on) == (
        FIELDS.number,
        FIELDS.total,
        FIELDS.issued_on,
    )
    assert reading.buyer_name == FIELDS.buyer_name


def test_an_ofd_is_read_from_its_custom_tags():
    assert read(fakes.invoice_ofd(FIELDS)) == everything(("ofd",))
    assert read(fakes.invoice_ofd(OLDER)) == everything(("ofd",), OLDER)


def test_an_ofd_without_custom_tags_is_read_from_its_custom_datas_and_text():
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(fakes.invoice_ofd(FIELDS))) as z:
        files = {n: z.read(n) for n in z.namelist() if "Tag" not in n}
    files["Doc_0/Document.xml"] = files["Doc_0/Document.xml"].replace(
        b"<ofd:CustomTags>CustomTags.xml</ofd:CustomTags>", b""
    )
    assert read(fakes.zip_of(files)) == everything(("ofd",))


def test_a_digital_invoice_xml_is_read_from_its_elements():
    assert read(fakes.invoice_xml(FIELDS)) == everything(("xml",))
    assert detect_upload(SimpleUploadedFile("x.xml", fakes.invoice_xml())) == XML


@pytest.mark.parametrize(
    "content",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><EInvoice>&a;</EInvoice>',
        b'<?xml version="1.0"?><!DOCTYPE EInvoice SYSTEM "http://example.com/x.dtd"><EInvoice/>',
    ],
)
def test_an_xml_with_a_dtd_or_entities_is_refused(content):
    with pytest.raises(ValidationError) as e:
        detect_upload(SimpleUploadedFile("x.xml", content))
    assert e.value.code == "file_content"


@pytest.mark.parametrize(
    "content", [b"<html><body>an invoice</body></html>", b"<EInvoice><unclosed></EInvoice>"]
)
def test_an_xml_that_is_not_an_invoice_is_refused(content):
    with pytest.raises(ValidationError) as e:
        detect_upload(SimpleUploadedFile("x.xml", content))
    assert e.value.code == "file_type"


def test_a_large_xml_is_refused():
    content = fakes.invoice_xml().replace(b"<Drawer>", b"<Drawer>" + b" " * 1024 * 1024)
    with pytest.raises(ValidationError) as e:
        detect_upload(SimpleUploadedFile("x.xml", content))
    assert e.value.code == "file_too_large"


def test_a_scan_gives_nothing_machine_readable():
    assert detect_upload(SimpleUploadedFile("s.pdf", fakes.scanned_pdf(FIELDS))) == PDF
    assert read(fakes.scanned_pdf(FIELDS)) is None
    assert read(fakes.scanned_png(FIELDS)) is None


def test_a_photo_with_a_sharp_qr_code_gives_its_fields():
    import io

    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(fakes.invoice_pdf(FIELDS))
    out = io.BytesIO()
    document[0].render(scale=2).to_pil().save(out, "PNG")
    document.close()
    reading = read_invoice(out.getvalue(), PNG)
    assert (reading.number, reading.total, reading.sources) == (
        FIELDS.number,
        FIELDS.total,
        ("qr",),
    )


def test_a_pdf_of_an_unknown_layout_gives_nothing():
    from tests.factories import PDF_BYTES

    assert read(PDF_BYTES) is None


def test_a_page_of_absurd_size_is_not_rendered_huge():
    import io

    from pypdf import PdfWriter

    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=14400, height=14400)
    writer.write(out)
    started = time.perf_counter()
    assert read(out.getvalue()) is None
    assert time.perf_counter() - started < 5


def test_qr_codes_of_something_else_are_ignored():
    assert parse_qr("https://example.com/") is None
    assert parse_qr("01,32,,notanumber,1.00,20260101,,ABCD") is None
    assert parse_qr(FIELDS.qr_text()).number == FIELDS.number


def test_an_ofd_read_is_bounded_and_stays_inside_the_package():
    """An OFD whose Document points outside the package, or at a huge member, reads as
    nothing rather than failing."""
    files = {
        "OFD.xml": (
            b'<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody>'
            b"<ofd:DocRoot>../../etc/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
        ),
        "Doc_0/Document.xml": b"<x/>",
    }
    assert read_invoice(fakes.zip_of(files), OFD) is None
    assert read_invoice(b"PK\x03\x04 not a zip", OFD) is None


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["page", "api"])
def test_a_corrupt_pdf_is_refused_with_a_4xx(client, where):
    r = InvoiceRequestFactory()
    client.force_login(merchant_of(r.shop))
    upload = {
        "invoice_number": fakes.new_number(),
        "file": SimpleUploadedFile("x.pdf", fakes.corrupt_pdf()),
    }
    if where == "page":
        response = client.post(f"/merchant/requests/{r.pk}/issue", upload)
    else:
        response = client.post(f"/api/v1/merchant/invoice-requests/{r.pk}/issue/", upload)
    assert response.status_code == 400
    assert InvoiceRequest.objects.for_system().get(pk=r.pk).state == "pending"


def test_reading_a_pdf_is_quick():
    """A bulk upload of 1,000 files must finish within a minute, issuing included: a typical
    PDF is read (text and QR code) in well under 40 ms; allow for a busy test machine."""
    pdfs = [fakes.invoice_pdf(fakes.Fields()) for _ in range(20)]
    read(pdfs[0])
    started = time.perf_counter()
    for pdf in pdfs:
        assert read_invoice(pdf, PDF).sources == ("text", "qr")
    assert (time.perf_counter() - started) / len(pdfs) < 0.1
