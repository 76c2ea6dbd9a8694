"""Issue 10, item 2: the invoice uploaded for a request is read back and matched to it. The
number typed = the number read; buyer = the request's title and tax id; seller tax id = the
shop's; total = the order amount (or up to the tolerance lower); not dated before the request
(China time). A mismatch is refused, each difference named, and nothing changes; a verified or
unreadable invoice is issued, its check and reading stored with it and in the history."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from core.models import HistoryEntry
from invoices import services
from invoices.matching import check
from invoices.models import InvoiceRequest
from invoices.reading import InvoiceReading
from tests.factories import (
    PDF_BYTES,
    InvoiceRequestFactory,
    OrderFactory,
    ShopFactory,
    merchant_of,
)
from tests.invoices import fakes

pytestmark = pytest.mark.django_db

SHOP_TAX_ID = "91110108MA01C2XJ7Q"


@pytest.fixture
def r() -> InvoiceRequest:
    shop = ShopFactory(tax_id=SHOP_TAX_ID)
    return InvoiceRequestFactory(order=OrderFactory(shop=shop, amount=Decimal("199.00")))


def upload(content: bytes, name: str = "invoice.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def issue(r: InvoiceRequest, content: bytes, *, number: str | None = None, code: str = "", **kw):
    """Upload `content` for `r` as its shop's owner, the number typed as given (by default the
    one the fields of a fakes file say is not known: pass it)."""
    return services.invoice_request_issue(
        invoice_request=r,
        by=merchant_of(r.shop),
        file=upload(content),
        invoice_code=code,
        invoice_number=number or "",
        **kw,
    )


def refused_messages(r: InvoiceRequest, content: bytes, **kw) -> list[str]:
    """The messages on the file field of a refused upload, in English; nothing changed."""
    with translation.override("en"), pytest.raises(ValidationError) as e:
        issue(r, content, **kw)
    with translation.override("en"):
        messages = [str(m) for m in e.value.message_dict["file"]]
    assert InvoiceRequest.objects.for_system().get(pk=r.pk).state == "pending"
    assert not HistoryEntry.objects.for_system().filter(request_id=r.pk, action="issued").exists()
    folder = f"invoices/{r.shop_id}/{r.pk}"
    assert not default_storage.exists(folder) or default_storage.listdir(folder) == ([], [])
    return messages


# --- verified, unreadable ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "sources"),
    [
        (fakes.invoice_pdf, ["text", "qr"]),
        (fakes.invoice_ofd, ["ofd"]),
        (fakes.invoice_xml, ["xml"]),
    ],
)
def test_a_matching_invoice_is_verified_and_its_reading_stored_and_in_the_history(r, make, sources):
    fields = fakes.fields_for(r)
    issue(r, make(fields), number=fields.number)
    r.refresh_from_db()
    assert (r.state, r.invoice_check, r.invoice_number) == ("issued", "verified", fields.number)
    assert r.invoice_read == {
        "number": fields.number,
        "code": "",
        "issued_on": fields.issued_on.isoformat(),
        "buyer_name": r.title,
        "buyer_tax_id": r.tax_id,
        "seller_name": r.shop.name,
        "seller_tax_id": SHOP_TAX_ID,
        "total": "199.00",
        "remarks": f"订单号：{r.order.number}",
        "sources": sources,
    }
    entry = HistoryEntry.objects.for_system().get(request_id=r.pk, action="issued")
    assert entry.data["check"] == "verified"
    assert entry.data["read"] == r.invoice_read


def test_an_older_e_invoice_with_its_code_is_verified(r):
    fields = fakes.fields_for(r, code="044001900111", number="12345678")
    issue(r, fakes.invoice_pdf(fields), code="044001900111", number="12345678")
    r.refresh_from_db()
    assert (r.invoice_check, r.invoice_code, r.invoice_number) == (
        "verified",
        "044001900111",
        "12345678",
    )


@pytest.mark.parametrize(
    "content",
    [PDF_BYTES, fakes.scanned_pdf(), fakes.scanned_png()],
    ids=["blank-pdf", "scanned-pdf", "scanned-png"],
)
def test_an_unreadable_invoice_is_accepted_and_marked_not_machine_checked(r, content):
    issue(r, content, number=fakes.new_number())
    r.refresh_from_db()
    assert (r.state, r.invoice_check, r.invoice_read) == ("issued", "unreadable", {})
    entry = HistoryEntry.objects.for_system().get(request_id=r.pk, action="issued")
    assert (entry.data["check"], entry.data["read"]) == ("unreadable", {})


def test_too_little_read_is_unreadable_not_verified(r):
    """A QR code of an older e-invoice gives no total with tax: not enough to call it checked."""
    fields = fakes.fields_for(r, code="044001900111", number="12345678")
    issue(r, fakes.invoice_pdf(fields, text=False), code="044001900111", number="12345678")
    r.refresh_from_db()
    assert r.invoice_check == "unreadable"
    assert r.invoice_read["number"] == "12345678" and r.invoice_read["total"] is None


def test_the_number_left_empty_is_the_number_read(r):
    fields = fakes.fields_for(r)
    issue(r, fakes.invoice_pdf(fields), number="")
    r.refresh_from_db()
    assert (r.state, r.invoice_number, r.invoice_check) == ("issued", fields.number, "verified")


def test_the_number_is_still_required_when_none_can_be_read(r):
    with translation.override("en"), pytest.raises(ValidationError) as e:
        issue(r, PDF_BYTES, number="")
    assert "invoice_number" in e.value.message_dict
    assert InvoiceRequest.objects.for_system().get(pk=r.pk).state == "pending"


def test_a_reading_passed_in_is_used_and_the_file_not_read_again(r):
    """The bulk upload reads each file once and passes what it read."""
    fields = fakes.fields_for(r)
    issue(r, PDF_BYTES, number=fields.number, reading=None)
    r.refresh_from_db()
    assert r.invoice_check == "unreadable"

    other = InvoiceRequestFactory(order=OrderFactory(shop=r.shop))
    wrong = InvoiceReading(number=fields.number, total=Decimal("1.00"), sources=("qr",))
    assert refused_messages(other, PDF_BYTES, number=fields.number, reading=wrong) == [
        "The total with tax is 1.00, not the order amount 199.00."
    ]


# --- each mismatch ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "typed", "message"),
    [
        (
            {},
            "26119999999999999999",
            "The invoice number read is {number}, not 26119999999999999999 as typed.",
        ),
        (
            {"buyer_name": "上海别的公司有限公司"},
            None,
            "The buyer name is 上海别的公司有限公司, not 北京示例科技有限公司 as in the request.",
        ),
        (
            {"buyer_tax_id": "91310000MA1FL0XXXX"},
            None,
            "The buyer's tax id is 91310000MA1FL0XXXX, not 91620105L015101280 as in the request.",
        ),
        (
            {"seller_tax_id": "91440300MA5XXXXXXX"},
            None,
            f"The seller's tax id is 91440300MA5XXXXXXX, not the shop's {SHOP_TAX_ID}.",
        ),
        (
            {"total": Decimal("199.01")},
            None,
            "The total with tax is 199.01, not the order amount 199.00.",
        ),
        (
            {"total": Decimal("189.00")},
            None,
            "The total with tax is 189.00, not the order amount 199.00.",
        ),
    ],
    ids=["number", "buyer-name", "buyer-tax-id", "seller-tax-id", "total-above", "total-below"],
)
def test_each_mismatch_is_refused_and_named(r, change, typed, message):
    fields = fakes.fields_for(r, **change)
    messages = refused_messages(r, fakes.invoice_pdf(fields), number=typed or fields.number)
    assert messages == [message.format(number=fields.number)]


def test_a_mismatching_invoice_code_is_refused(r):
    fields = fakes.fields_for(r, code="044001900111", number="12345678")
    assert refused_messages(
        r, fakes.invoice_pdf(fields), code="044001900222", number="12345678"
    ) == ["The invoice code read is 044001900111, not 044001900222 as typed."]


def test_every_mismatch_is_named_at_once(r):
    fields = fakes.fields_for(r, buyer_name="别人", total=Decimal("1.00"))
    messages = refused_messages(r, fakes.invoice_ofd(fields), number=fields.number)
    assert len(messages) == 2
    assert messages[0].startswith("The buyer name is 别人") and "1.00" in messages[1]


def test_the_buyer_name_matches_whatever_its_spaces_and_brackets(r):
    r.title = "北京示例（集团）科技 有限公司"
    r.save()
    fields = fakes.fields_for(r, buyer_name="北京示例(集团)科技有限公司")
    issue(r, fakes.invoice_pdf(fields), number=fields.number)
    r.refresh_from_db()
    assert r.invoice_check == "verified"


def test_a_person_s_invoice_has_no_buyer_tax_id_to_compare(r):
    r.title_type, r.title, r.tax_id = "person", "张三", ""
    r.save()
    fields = fakes.fields_for(r, buyer_tax_id="110101199003074514")
    issue(r, fakes.invoice_pdf(fields), number=fields.number)
    r.refresh_from_db()
    assert r.invoice_check == "verified"


def test_a_shop_without_a_tax_id_has_no_seller_tax_id_compared():
    r = InvoiceRequestFactory()
    assert r.shop.tax_id == ""
    fields = fakes.fields_for(r, seller_tax_id="91440300MA5XXXXXXX")
    issue(r, fakes.invoice_pdf(fields), number=fields.number)
    r.refresh_from_db()
    assert r.invoice_check == "verified"


# --- the tolerance ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "ok"),
    [
        ("199.00", True),
        ("189.00", True),  # a partial refund of 10 yuan
        ("188.99", False),
        ("199.01", False),  # never above the order amount
    ],
)
def test_the_total_may_be_lower_by_the_tolerance_set(r, settings, total, ok):
    settings.JDPOP_INVOICE_TOTAL_TOLERANCE = Decimal("10.00")
    fields = fakes.fields_for(r, total=Decimal(total))
    if ok:
        issue(r, fakes.invoice_pdf(fields), number=fields.number)
        r.refresh_from_db()
        assert r.invoice_check == "verified"
    else:
        assert refused_messages(r, fakes.invoice_pdf(fields), number=fields.number) == [
            f"The total with tax is {total}, not the order amount 199.00."
        ]


# --- the date ---------------------------------------------------------------------------------


def test_an_invoice_dated_before_the_request_is_refused(r):
    fields = fakes.fields_for(r, issued_on=r.requested_at.date() - timedelta(days=3))
    day = fields.issued_on.isoformat()
    today = (fields.issued_on + timedelta(days=3)).isoformat()
    assert refused_messages(r, fakes.invoice_pdf(fields), number=fields.number) == [
        f"The invoice is dated {day}, before the request was made ({today})."
    ]


@pytest.mark.parametrize(
    ("requested_utc", "dated", "ok"),
    [
        # 23:50 on 1 March in China: an invoice of 1 March is not before the request.
        (datetime(2026, 3, 1, 15, 50, tzinfo=UTC), date(2026, 3, 1), True),
        # 00:10 on 2 March in China (still 1 March in UTC): 1 March is the day before.
        (datetime(2026, 3, 1, 16, 10, tzinfo=UTC), date(2026, 3, 1), False),
        (datetime(2026, 3, 1, 16, 10, tzinfo=UTC), date(2026, 3, 2), True),
    ],
)
def test_the_day_of_the_request_is_the_day_in_china(requested_utc, dated, ok):
    with time_machine.travel(requested_utc, tick=False):
        shop = ShopFactory(tax_id=SHOP_TAX_ID)
        r = InvoiceRequestFactory(order=OrderFactory(shop=shop))
    with time_machine.travel(requested_utc + timedelta(hours=2), tick=False):
        fields = fakes.fields_for(r, issued_on=dated)
        if ok:
            issue(r, fakes.invoice_xml(fields), number=fields.number)
            r.refresh_from_db()
            assert r.invoice_check == "verified"
        else:
            assert refused_messages(r, fakes.invoice_xml(fields), number=fields.number) == [
                "The invoice is dated 2026-03-01, before the request was made (2026-03-02)."
            ]


def test_the_qr_code_decides_where_the_printed_text_was_edited(r):
    """The number and total printed were edited to match; the QR code still says the truth."""
    truth = fakes.fields_for(r, total=Decimal("99.00"))
    edited = replace(truth, total=Decimal("199.00"))
    assert refused_messages(r, fakes.invoice_pdf(edited, qr=truth), number=truth.number) == [
        "The total with tax is 99.00, not the order amount 199.00."
    ]


def test_check_without_a_reading_is_unreadable(r):
    assert check(r, None).outcome == "unreadable"


# --- the merchant's page and API --------------------------------------------------------------


def test_the_page_refuses_a_mismatch_with_400_and_names_it_in_english(client, r):
    client.force_login(merchant_of(r.shop))
    fields = fakes.fields_for(r, buyer_tax_id="91310000MA1FL0XXXX")
    response = client.post(
        f"/merchant/requests/{r.pk}/issue",
        {"invoice_number": fields.number, "file": upload(fakes.invoice_pdf(fields))},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "The buyer&#x27;s tax id is 91310000MA1FL0XXXX, not 91620105L015101280" in (
        response.text
    )
    assert InvoiceRequest.objects.for_system().get(pk=r.pk).state == "pending"


def test_the_chinese_page_refuses_a_mismatch_with_400_on_the_file_field(client, r):
    client.force_login(merchant_of(r.shop))
    fields = fakes.fields_for(r, total=Decimal("1.00"))
    response = client.post(
        f"/merchant/requests/{r.pk}/issue",
        {"invoice_number": fields.number, "file": upload(fakes.invoice_pdf(fields))},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 400
    form = response.context["issue_form"]
    assert list(form.errors) == ["file"]
    assert "1.00" in form.errors["file"][0] and "199.00" in form.errors["file"][0]
    assert "1.00" in response.text


def test_the_api_refuses_a_mismatch_with_400_and_every_message(client, r):
    client.force_login(merchant_of(r.shop))
    fields = fakes.fields_for(r, seller_tax_id="91440300MA5XXXXXXX", total=Decimal("500.00"))
    response = client.post(
        f"/api/v1/merchant/invoice-requests/{r.pk}/issue/",
        {"invoice_number": fields.number, "file": upload(fakes.invoice_pdf(fields))},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert response.json()["fields"]["file"] == [
        f"The seller's tax id is 91440300MA5XXXXXXX, not the shop's {SHOP_TAX_ID}.",
        "The total with tax is 500.00, not the order amount 199.00.",
    ]


def test_the_page_accepts_an_xml_invoice_and_shows_it_verified(client, r):
    client.force_login(merchant_of(r.shop))
    fields = fakes.fields_for(r)
    response = client.post(
        f"/merchant/requests/{r.pk}/issue",
        {"invoice_number": "", "file": upload(fakes.invoice_xml(fields), "fp.xml")},
    )
    assert response.status_code == 302
    page = client.get(f"/merchant/requests/{r.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "verified: read back and matched" in page.text
    r.refresh_from_db()
    assert (r.invoice_number, r.invoice_content_type) == (fields.number, "application/xml")
    download = client.get(f"/invoices/{r.pk}/file")
    assert download["Content-Type"] == "application/xml"
    assert download["Content-Disposition"].startswith("attachment")


def test_the_page_shows_an_unreadable_invoice_as_not_machine_checked(client, r):
    client.force_login(merchant_of(r.shop))
    response = client.post(
        f"/merchant/requests/{r.pk}/issue",
        {"invoice_number": fakes.new_number(), "file": upload(fakes.scanned_pdf())},
    )
    assert response.status_code == 302
    page = client.get(f"/merchant/requests/{r.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "not machine-checked" in page.text
