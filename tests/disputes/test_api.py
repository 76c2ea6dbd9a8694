"""The dispute API (spec 5, 9): the same services and scoping as the pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from disputes.models import Dispute
from tests.factories import ShopFactory, UserFactory, merchant_of

from .factories import DisputeFactory, RefusedRequestFactory, dispute_in

pytestmark = pytest.mark.django_db

MY = "/api/v1/consumer/disputes/"
MERCHANT = "/api/v1/merchant/disputes/"


def test_the_consumer_opens_lists_and_accepts_through_the_api(client):
    # given a refused request
    refused = RefusedRequestFactory()
    client.force_login(refused.consumer)
    # when the consumer opens a refused-invoice dispute
    response = client.post(
        MY,
        {"request": refused.pk, "kind": "refused", "complaint": "拒绝理由不成立"},
        content_type="application/json",
    )
    # then it is open, the merchant's move, with its deadline
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "awaiting_merchant" and body["whose_move"] == "merchant"
    assert body["deadline"] and body["deadline"].endswith("+08:00")
    assert [d["id"] for d in client.get(MY).json()["results"]] == [body["id"]]
    # and opening a second one of the same kind is a conflict
    again = client.post(
        MY,
        {"request": refused.pk, "kind": "refused", "complaint": "再来"},
        content_type="application/json",
    )
    assert again.status_code == 409 and again.json()["code"] == "dispute_open"


def test_the_merchant_answers_through_the_api_and_the_consumer_decides(client):
    dispute = DisputeFactory()
    owner = merchant_of(dispute.shop)
    client.force_login(owner)
    url = f"{MERCHANT}{dispute.pk}/answer/"
    # a plan missing its date: a 400 on the field, nothing changes
    response = client.post(url, {"plan": "another_date"}, content_type="application/json")
    assert response.status_code == 400 and "plan_date" in response.json()["fields"]
    assert Dispute.objects.for_system().get(pk=dispute.pk).state == "awaiting_merchant"
    # a correct one
    date = (timezone.localdate() + timedelta(days=2)).isoformat()
    response = client.post(
        url, {"plan": "another_date", "plan_date": date}, content_type="application/json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "awaiting_consumer"
    assert response.json()["plan_date"] == date
    # the consumer rejects without a reason (400), then with one
    client.force_login(dispute.consumer)
    reject = f"{MY}{dispute.pk}/reject/"
    assert client.post(reject, {}, content_type="application/json").status_code == 400
    response = client.post(reject, {"note": "日期太晚"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["state"] == "awaiting_platform"
    assert response.json()["whose_move"] == "platform" and response.json()["deadline"] is None


def test_the_consumer_accepts_a_plan_through_the_api(client):
    dispute = dispute_in(Dispute.State.AWAITING_CONSUMER)
    client.force_login(dispute.consumer)
    response = client.post(f"{MY}{dispute.pk}/accept/")
    assert response.status_code == 200 and response.json()["outcome"] == "settled"
    # accepting twice is a conflict
    assert client.post(f"{MY}{dispute.pk}/accept/").status_code == 409


def test_a_viewer_cannot_answer_through_the_api(client):
    dispute = DisputeFactory()
    client.force_login(merchant_of(dispute.shop, role="viewer"))
    assert client.get(f"{MERCHANT}{dispute.pk}/").status_code == 200
    response = client.post(
        f"{MERCHANT}{dispute.pk}/answer/",
        {"plan": "cannot_issue", "note": "x"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert Dispute.objects.for_system().get(pk=dispute.pk).state == "awaiting_merchant"


def test_the_plans_endpoint_declares_each_plans_requirements(client):
    client.force_login(merchant_of(ShopFactory()))
    rows = {row["plan"]: row for row in client.get(f"{MERCHANT}plans/").json()}
    assert set(rows) == {
        "issued",
        "no_invoice_needed",
        "cannot_issue",
        "another_date",
        "platform_judge",
    }
    assert rows["another_date"]["needs_date"] and rows["platform_judge"]["needs_evidence"]
    assert not rows["platform_judge"]["settlement"]


def test_another_consumers_or_shops_dispute_is_a_404_in_the_api(client):
    dispute = dispute_in(Dispute.State.AWAITING_CONSUMER)
    # another consumer
    client.force_login(UserFactory())
    assert client.get(MY).json()["results"] == []
    assert client.get(f"{MY}{dispute.pk}/").status_code == 404
    assert client.post(f"{MY}{dispute.pk}/accept/").status_code == 404
    assert (
        client.post(
            f"{MY}{dispute.pk}/reject/", {"note": "x"}, content_type="application/json"
        ).status_code
        == 404
    )
    opened = client.post(
        MY,
        {"request": dispute.request_id, "kind": "refused", "complaint": "x"},
        content_type="application/json",
    )
    assert opened.status_code == 404
    # another shop
    client.force_login(merchant_of(ShopFactory()))
    assert client.get(MERCHANT).json()["results"] == []
    assert client.get(f"{MERCHANT}{dispute.pk}/").status_code == 404
    other = DisputeFactory()
    response = client.post(
        f"{MERCHANT}{other.pk}/answer/",
        {"plan": "cannot_issue", "note": "x"},
        content_type="application/json",
    )
    assert response.status_code == 404
    # the consumer is not the merchant
    client.force_login(other.consumer)
    assert client.get(f"{MERCHANT}{other.pk}/").status_code == 404
    dispute.refresh_from_db()
    other.refresh_from_db()
    assert dispute.state == "awaiting_consumer" and other.state == "awaiting_merchant"


def test_the_api_lists_use_a_constant_number_of_queries(client, django_assert_max_num_queries):
    shop = ShopFactory()
    client.force_login(merchant_of(shop))
    for n in (5, 25):
        for _ in range(n):
            DisputeFactory(request=RefusedRequestFactory(order__shop=shop))
        with django_assert_max_num_queries(5):
            assert client.get(MERCHANT).status_code == 200


def test_the_schema_lists_the_dispute_endpoints(admin_client):
    response = admin_client.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/v1/consumer/disputes/" in response.content
    assert b"/api/v1/merchant/disputes/{id}/answer/" in response.content
