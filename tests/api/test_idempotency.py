"""`Idempotency-Key` on every API POST (issue 12, item 4): the same key and body replay the
first response; another body is a 422; a key still running is a 409; keys expire after 24 h
(the cleanup job deletes them); two requests racing with one key do the work once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from rest_framework.routers import DefaultRouter

from core.idempotency import IdempotentMixin, prune_idempotency_keys
from core.jobs import JOBS
from core.models import IdempotencyKey
from disputes.models import Evidence
from invoices.models import InvoiceRequest
from jdpop.api import router
from tests.concurrency import race
from tests.disputes.factories import DisputeFactory
from tests.factories import PDF_BYTES, OrderFactory, UserFactory

URL = "/api/v1/consumer/invoice-requests/"


def body(order, title="张三") -> dict:
    return {
        "order": order.pk,
        "title_type": "person",
        "title": title,
        "invoice_kind": "e_ordinary",
        "email": "x@example.com",
    }


def post(client, data, key: str | None = "order-1-invoice", **extra):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(URL, data, content_type="application/json", **headers, **extra)


def test_every_api_view_that_takes_a_post_claims_idempotency_keys():
    without = [
        prefix
        for prefix, viewset, _basename in router.registry
        if not issubclass(viewset, IdempotentMixin)
    ]
    assert isinstance(router, DefaultRouter) and not without


@pytest.mark.django_db
def test_the_same_key_and_body_replay_the_first_response(client):
    consumer = UserFactory()
    order = OrderFactory(consumer=consumer)
    client.force_login(consumer)
    first = post(client, body(order))
    assert first.status_code == 201, first.json()
    again = post(client, body(order))
    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert InvoiceRequest.objects.for_system().count() == 1
    # without the key the same request is refused by the rule itself
    assert post(client, body(order), key=None).status_code == 409


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_a_422_and_changes_nothing(client):
    consumer = UserFactory()
    order = OrderFactory(consumer=consumer)
    client.force_login(consumer)
    assert post(client, body(order)).status_code == 201
    other = post(client, body(order, title="李四"), HTTP_ACCEPT_LANGUAGE="en")
    assert other.status_code == 422
    assert other.json() == {
        "code": "idempotency_key_reused",
        "message": "This Idempotency-Key was already used with another request.",
        "fields": {},
    }
    assert InvoiceRequest.objects.for_system().get().title == "张三"


@pytest.mark.django_db
def test_a_key_still_in_progress_is_a_409(client):
    consumer = UserFactory()
    order = OrderFactory(consumer=consumer)
    client.force_login(consumer)
    assert post(client, body(order)).status_code == 201
    IdempotencyKey.objects.update(state=IdempotencyKey.State.IN_PROGRESS, body=None)
    running = post(client, body(order))
    assert running.status_code == 409 and running.json()["code"] == "idempotency_in_progress"


@pytest.mark.django_db
def test_keys_are_each_users_own(client):
    orders = [OrderFactory(consumer=UserFactory()) for _ in range(2)]
    for order in orders:
        client.force_login(order.consumer)
        assert post(client, body(order)).status_code == 201
    assert InvoiceRequest.objects.for_system().count() == 2


@pytest.mark.django_db
def test_a_refusal_is_replayed_too_and_a_bad_key_is_a_400(client):
    consumer = UserFactory()
    client.force_login(consumer)
    theirs = OrderFactory()  # another consumer's order: a 404, kept for the key
    assert post(client, body(theirs)).status_code == 404
    replay = post(client, body(theirs))
    assert replay.status_code == 404 and replay["Idempotent-Replayed"] == "true"
    for bad in ("x" * 256, "", "钥匙"):
        response = post(client, body(theirs), key=bad)
        assert response.status_code == 400, bad
        assert response.json()["code"] == "invalid_idempotency_key"


@pytest.mark.django_db
def test_a_multipart_upload_with_the_same_key_is_done_once(client):
    dispute = DisputeFactory()
    client.force_login(dispute.consumer)
    url = f"/api/v1/consumer/disputes/{dispute.pk}/evidence/"

    def upload():
        file = SimpleUploadedFile("chat.pdf", PDF_BYTES, content_type="application/pdf")
        return client.post(url, {"text": "聊天", "file": file}, HTTP_IDEMPOTENCY_KEY="ev-1")

    first, again = upload(), upload()
    assert first.status_code == 201, first.json()
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Evidence.objects.for_system().count() == 1


@pytest.mark.django_db
def test_keys_expire_after_24_hours_and_the_job_deletes_them(client, settings):
    consumer = UserFactory()
    order = OrderFactory(consumer=consumer)
    client.force_login(consumer)
    start = timezone.now()
    assert post(client, body(order)).status_code == 201
    # at exactly 24 h the key is still there (a replay); one second later it is gone
    with time_machine.travel(start + settings.JDPOP_IDEMPOTENCY_TTL - timedelta(seconds=1)):
        assert post(client, body(order))["Idempotent-Replayed"] == "true"
        assert prune_idempotency_keys(now=timezone.now()) == {"deleted": 0}
    later = start + settings.JDPOP_IDEMPOTENCY_TTL + timedelta(seconds=1)
    with time_machine.travel(later):
        # the expired key is ignored: the request runs (and is refused by the rule this time)
        fresh = post(client, body(order))
        assert fresh.status_code == 409 and "Idempotent-Replayed" not in fresh
    IdempotencyKey.objects.update(created_at=start)
    assert prune_idempotency_keys(now=later) == {"deleted": 1}
    assert prune_idempotency_keys(now=later) == {"deleted": 0}  # safe to run twice
    assert "prune_idempotency_keys" in JOBS


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_requests_racing_with_one_key_do_the_work_once():
    consumer = UserFactory()
    order = OrderFactory(consumer=consumer)

    def send():
        client = Client()
        client.force_login(consumer)
        response = post(client, body(order), key="race-1")
        return response.status_code, response.get("Idempotent-Replayed")

    results = race(send, send, send)
    assert all(isinstance(r, tuple) for r in results), results
    statuses = sorted(status for status, _replayed in results)
    # one ran (201); each other one either waited for nothing (409 in progress) or was replayed
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}, results
    assert sum(1 for status, replayed in results if status == 201 and not replayed) == 1
    assert InvoiceRequest.objects.for_system().count() == 1
    assert IdempotencyKey.objects.get().state == IdempotencyKey.State.DONE
