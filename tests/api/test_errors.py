"""One error shape everywhere (issue 12, item 5): `{"code", "message", "fields"}`, the message
in the request's language, for validation, authentication, permission, missing objects, methods,
media types, conflicts and throttling alike."""

from __future__ import annotations

import pytest

from core.models import ShopMembership
from tests.disputes.factories import dispute_in
from tests.factories import UserFactory, merchant_of

pytestmark = pytest.mark.django_db


def shape(response) -> dict:
    body = response.json()
    assert set(body) == {"code", "message", "fields"}, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    return body


def test_validation_names_each_field_in_the_requests_language(client):
    dispute = dispute_in("awaiting_consumer")
    client.force_login(dispute.consumer)
    url = "/api/v1/consumer/disputes/"
    en = client.post(
        url, {"kind": "nope"}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    body = shape(en)
    assert en.status_code == 400 and body["code"] == "invalid"
    assert set(body["fields"]) == {"request", "kind", "complaint"}
    assert body["fields"]["request"] == ["This field is required."]
    zh = client.post(url, {"kind": "nope"}, content_type="application/json")
    assert shape(zh)["fields"]["request"] == ["此项为必填项。"]


def test_auth_permission_missing_method_media_and_conflict(client):
    dispute = dispute_in("awaiting_consumer")
    url = f"/api/v1/consumer/disputes/{dispute.pk}/"
    anonymous = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert anonymous.status_code == 401 and shape(anonymous)["code"] == "not_authenticated"
    # a viewer's answer: 403
    client.force_login(merchant_of(dispute.shop, ShopMembership.Role.VIEWER))
    answer = client.post(
        f"/api/v1/merchant/disputes/{dispute.pk}/answer/",
        {"plan": "cannot_issue", "note": "x"},
        content_type="application/json",
    )
    assert answer.status_code == 403 and shape(answer)["code"] == "permission_denied"
    # someone else's: 404
    client.force_login(UserFactory())
    missing = client.get(url)
    assert missing.status_code == 404 and shape(missing)["code"] == "not_found"
    client.force_login(dispute.consumer)
    method = client.put(url, {}, content_type="application/json")
    assert method.status_code == 405 and shape(method)["code"] == "method_not_allowed"
    media = client.post(f"{url}reject/", "note=x", content_type="text/plain")
    assert media.status_code == 415 and shape(media)["code"] == "unsupported_media_type"
    assert client.post(f"{url}accept/").status_code == 200
    again = client.post(f"{url}accept/")
    assert again.status_code == 409 and shape(again)["code"] == "dispute_state"


def test_throttled_is_the_same_shape(client, settings):
    settings.JDPOP_THROTTLE_RATES = {**settings.JDPOP_THROTTLE_RATES, "user": "1/min"}
    client.force_login(UserFactory())
    client.get("/api/v1/notifications/")
    response = client.get("/api/v1/notifications/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429 and shape(response)["code"] == "throttled"
    assert "Request was throttled" in response.json()["message"]


def test_the_schema_documents_the_one_shape(client):
    client.force_login(UserFactory())
    schema = client.get("/api/schema/?format=json").json()
    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["code", "message", "fields"]
    post = schema["paths"]["/api/v1/consumer/disputes/"]["post"]
    assert {"400", "401", "403", "404", "409", "415", "422", "429"} <= set(post["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])


def test_an_unknown_api_path_is_a_404_in_the_same_shape(client):
    client.force_login(UserFactory())
    response = client.get("/api/v1/no-such-thing/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert shape(response) == {"code": "not_found", "message": "Not found.", "fields": {}}
    assert client.get("/no-such-page/").status_code == 404  # a page keeps Django's own
