"""The pages and the API: each role sees only its own objects; others answer 404 (spec 9)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.models import ShopMembership
from invoices import services
from invoices.models import InvoiceRequest
from tests.factories import (
    PDF_BYTES,
    VALID_USCC,
    InvoiceRequestFactory,
    OrderFactory,
    ShopFactory,
    merchant_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued() -> InvoiceRequest:
    r = InvoiceRequestFactory()
    services.invoice_request_issue(
        invoice_request=r,
        by=merchant_of(r.shop),
        file=SimpleUploadedFile("x.pdf", PDF_BYTES),
        invoice_number="12345678901234567890",
    )
    r.refresh_from_db()
    return r


def test_merchant_sees_own_shop_only(client):
    mine, theirs = InvoiceRequestFactory(), InvoiceRequestFactory()
    client.force_login(merchant_of(mine.shop))
    page = client.get("/merchant/requests/")
    assert mine.order.number in page.text and theirs.order.number not in page.text
    assert client.get(f"/merchant/requests/{mine.pk}/").status_code == 200
    assert client.get(f"/merchant/requests/{theirs.pk}/").status_code == 404
    assert client.post(f"/merchant/requests/{theirs.pk}/refuse", {"reason": "x"}).status_code == 404
    assert InvoiceRequest.objects.for_system().get(pk=theirs.pk).state == "pending"


def test_consumer_sees_own_requests_only(client):
    mine, theirs = InvoiceRequestFactory(), InvoiceRequestFactory()
    client.force_login(mine.consumer)
    assert client.get(f"/my/invoices/{mine.pk}/").status_code == 200
    assert client.get(f"/my/invoices/{theirs.pk}/").status_code == 404
    assert client.post(f"/my/invoices/{theirs.pk}/cancel").status_code == 404
    assert client.get(f"/my/orders/{theirs.order_id}/request").status_code == 404
    assert InvoiceRequest.objects.for_system().get(pk=theirs.pk).state == "pending"


def test_the_invoice_file_is_for_its_consumer_and_its_shop_only(client, issued):
    for user, status in [
        (issued.consumer, 200),
        (merchant_of(issued.shop), 200),
        (OrderFactory().consumer, 404),
        (merchant_of(ShopFactory()), 404),
    ]:
        client.force_login(user)
        response = client.get(f"/invoices/{issued.pk}/file")
        assert response.status_code == status, user
        if status == 200:
            assert b"".join(response.streaming_content) == PDF_BYTES
            assert response["Content-Type"] == "application/pdf"


def test_consumer_requests_through_the_page_and_sees_errors_in_chinese(client):
    order = OrderFactory()
    client.force_login(order.consumer)
    bad = client.post(
        f"/my/orders/{order.pk}/request",
        {
            "title_type": "organisation",
            "title": "上海云帆",
            "tax_id": "91620105L015101281",
            "invoice_kind": "paper_ordinary",
        },
    )
    assert bad.status_code == 400 and "校验" in bad.text
    assert not InvoiceRequest.objects.for_system().exists()
    good = client.post(
        f"/my/orders/{order.pk}/request",
        {
            "title_type": "organisation",
            "title": "上海云帆",
            "tax_id": VALID_USCC,
            "invoice_kind": "paper_ordinary",
        },
    )
    created = InvoiceRequest.objects.for_system().get()
    assert good.status_code == 302 and good["Location"] == f"/my/invoices/{created.pk}/"


def test_merchant_uploads_through_the_page(client):
    r = InvoiceRequestFactory()
    client.force_login(merchant_of(r.shop, role=ShopMembership.Role.OPERATOR))
    response = client.post(
        f"/merchant/requests/{r.pk}/issue",
        {
            "invoice_code": "",
            "invoice_number": "12345678901234567890",
            "file": SimpleUploadedFile("scan.pdf", PDF_BYTES),
        },
    )
    assert response.status_code == 302
    assert InvoiceRequest.objects.for_system().get(pk=r.pk).state == "issued"


def test_a_viewer_cannot_refuse_through_the_page(client):
    r = InvoiceRequestFactory()
    client.force_login(merchant_of(r.shop, role=ShopMembership.Role.VIEWER))
    assert client.post(f"/merchant/requests/{r.pk}/refuse", {"reason": "x"}).status_code == 403
    assert InvoiceRequest.objects.for_system().get(pk=r.pk).state == "pending"


def test_merchant_list_query_count_does_not_grow_with_rows(client, django_assert_max_num_queries):
    shop = ShopFactory()
    user = merchant_of(shop)
    client.force_login(user)
    InvoiceRequestFactory.create_batch(3, order__shop=shop)
    with django_assert_max_num_queries(8) as few:
        client.get("/merchant/requests/")
    InvoiceRequestFactory.create_batch(30, order__shop=shop)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/merchant/requests/")


# --- API -------------------------------------------------------------------------------------


def test_api_scopes_like_the_pages(client):
    mine, theirs = InvoiceRequestFactory(), InvoiceRequestFactory()
    client.force_login(merchant_of(mine.shop))
    listed = client.get("/api/v1/merchant/invoice-requests/").json()
    assert [x["id"] for x in listed["results"]] == [mine.pk]
    assert client.get(f"/api/v1/merchant/invoice-requests/{theirs.pk}/").status_code == 404
    assert (
        client.post(
            f"/api/v1/merchant/invoice-requests/{theirs.pk}/refuse/",
            {"reason": "x"},
            content_type="application/json",
        ).status_code
        == 404
    )
    client.force_login(mine.consumer)
    assert client.get(f"/api/v1/consumer/invoice-requests/{theirs.pk}/").status_code == 404
    assert client.get(f"/api/v1/consumer/invoice-requests/{mine.pk}/").status_code == 200


def test_api_request_then_conflict_then_cancel(client):
    order = OrderFactory()
    client.force_login(order.consumer)
    body = {
        "order": order.pk,
        "title_type": "organisation",
        "title": "上海云帆",
        "tax_id": VALID_USCC,
        "invoice_kind": "e_ordinary",
        "email": "a@example.com",
    }
    created = client.post(
        "/api/v1/consumer/invoice-requests/", body, content_type="application/json"
    )
    assert created.status_code == 201, created.json()
    again = client.post("/api/v1/consumer/invoice-requests/", body, content_type="application/json")
    assert again.status_code == 409 and again.json()["code"] == "already_requested"
    pk = created.json()["id"]
    assert (
        client.post(f"/api/v1/consumer/invoice-requests/{pk}/cancel/").json()["state"]
        == "cancelled"
    )
    history = client.get(f"/api/v1/consumer/invoice-requests/{pk}/history/").json()
    assert [h["action"] for h in history] == ["requested", "cancelled"]


def test_api_history_reads_in_words_and_hides_the_staff_login_from_the_consumer(client):
    r = InvoiceRequestFactory()
    staff = merchant_of(r.shop, user__username="clerk-li")
    services.invoice_request_refuse(invoice_request=r, by=staff, reason="抬头不全")

    client.force_login(r.consumer)
    mine = client.get(
        f"/api/v1/consumer/invoice-requests/{r.pk}/history/", HTTP_ACCEPT_LANGUAGE="en"
    ).json()
    refused = next(h for h in mine if h["action"] == "refused")
    assert refused["actor"] is None  # the consumer reads the shop, never a staff login
    assert r.shop.name in refused["sentence"] and "clerk-li" not in refused["sentence"]
    assert "refused" in refused["sentence"].lower()

    client.force_login(staff)
    theirs = client.get(f"/api/v1/merchant/invoice-requests/{r.pk}/history/").json()
    assert next(h for h in theirs if h["action"] == "refused")["actor"] == "clerk-li"


def test_api_bad_tax_id_is_a_400_with_the_field(client):
    order = OrderFactory()
    client.force_login(order.consumer)
    response = client.post(
        "/api/v1/consumer/invoice-requests/",
        {
            "order": order.pk,
            "title_type": "organisation",
            "title": "上海云帆",
            "tax_id": "12345",
            "invoice_kind": "paper_ordinary",
        },
        content_type="application/json",
    )
    assert response.status_code == 400 and "tax_id" in response.json()["fields"]


def test_anonymous_users_are_sent_to_log_in(client):
    assert client.get("/merchant/requests/").status_code == 302
    assert client.get("/api/v1/merchant/invoice-requests/").status_code in (401, 403)


def test_pages_speak_chinese_first_and_english_on_request(client):
    r = InvoiceRequestFactory()
    client.force_login(r.consumer)
    assert "发票详情" in client.get(f"/my/invoices/{r.pk}/").text
    english = client.get(f"/my/invoices/{r.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Invoice details" in english.text and "发票详情" not in english.text
