"""Dispute evidence and withdrawal on the API (issue 12, item 5), with the same services and
rules as the pages; and a shop's scorecard for its staff and arbitrators, a 404 for others."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile

from core.models import ShopMembership
from core.roles import ARBITRATOR_GROUP
from disputes.models import Dispute, Evidence
from tests.disputes.factories import DisputeFactory
from tests.factories import PDF_BYTES, ShopFactory, UserFactory, merchant_of

pytestmark = pytest.mark.django_db
CONSUMER, MERCHANT = "/api/v1/consumer/disputes/", "/api/v1/merchant/disputes/"


def test_the_consumer_keeps_drafts_submits_once_and_withdraws(client):
    dispute = DisputeFactory()
    client.force_login(dispute.consumer)
    url = f"{CONSUMER}{dispute.pk}/evidence/"
    pdf = SimpleUploadedFile("chat.pdf", PDF_BYTES, content_type="application/pdf")
    with_file = client.post(url, {"text": "聊天记录", "file": pdf})
    assert with_file.status_code == 201, with_file.json()
    assert (
        with_file.json()["file_url"].endswith("/file") and with_file.json()["party"] == "consumer"
    )
    note = client.post(url, {"text": "补充"}, content_type="application/json")
    empty = client.post(url, {"text": ""}, content_type="application/json")
    assert empty.status_code == 400 and "text" in empty.json()["fields"]
    listed = client.get(url).json()["results"]
    assert [e["text"] for e in listed] == ["聊天记录", "补充"]
    assert client.delete(f"{url}{note.json()['id']}/").status_code == 204
    submitted = client.post(f"{CONSUMER}{dispute.pk}/submit-evidence/")
    assert submitted.status_code == 200 and submitted.json() == {"submitted": 1}
    assert client.post(f"{CONSUMER}{dispute.pk}/submit-evidence/").status_code == 409
    late = client.post(url, {"text": "再补充"}, content_type="application/json")
    assert late.status_code == 409 and late.json()["code"] == "evidence_closed"
    withdrawn = client.post(f"{CONSUMER}{dispute.pk}/withdraw/", {"note": "商家已开票"})
    assert withdrawn.status_code == 200 and withdrawn.json()["outcome"] == "withdrawn"
    assert client.post(f"{CONSUMER}{dispute.pk}/withdraw/").status_code == 409


def test_the_merchant_adds_evidence_a_viewer_cannot_and_each_sees_its_own_drafts(client):
    dispute = DisputeFactory()
    client.force_login(merchant_of(dispute.shop))
    url = f"{MERCHANT}{dispute.pk}/evidence/"
    added = client.post(url, {"text": "发货记录"}, content_type="application/json")
    assert added.status_code == 201 and added.json()["party"] == "merchant"
    client.force_login(merchant_of(dispute.shop, ShopMembership.Role.VIEWER))
    assert client.get(url).status_code == 200
    refused = client.post(url, {"text": "x"}, content_type="application/json")
    assert refused.status_code == 403
    assert client.delete(f"{url}{added.json()['id']}/").status_code == 403
    # the consumer does not see the merchant's draft, nor can remove it
    client.force_login(dispute.consumer)
    assert client.get(f"{CONSUMER}{dispute.pk}/evidence/").json()["results"] == []
    gone = client.delete(f"{CONSUMER}{dispute.pk}/evidence/{added.json()['id']}/")
    assert gone.status_code == 404
    assert Evidence.objects.for_system().count() == 1
    assert Dispute.objects.for_system().get().state == Dispute.State.AWAITING_MERCHANT


def test_a_shops_scorecard_for_its_staff_and_arbitrators_only(client):
    dispute = DisputeFactory()
    shop = dispute.shop
    url = f"/api/v1/shops/{shop.pk}/scorecard/"
    client.force_login(merchant_of(shop, ShopMembership.Role.VIEWER))
    month = dispute.opened_at.astimezone().strftime("%Y-%m")
    card = client.get(url, {"month": month})
    assert card.status_code == 200, card.json()
    body = card.json()
    assert body["shop"] == shop.pk and body["month"] == month and body["disputes_opened"] == 1
    empty = client.get(url, {"month": "2001-01"}).json()
    assert empty["disputes_opened"] == 0 and empty["grade"] == "unrated"
    bad = client.get(url, {"month": "2026-13"})
    assert bad.status_code == 400 and "month" in bad.json()["fields"]
    arbitrator = UserFactory(is_staff=True)
    arbitrator.groups.add(Group.objects.get(name=ARBITRATOR_GROUP))
    client.force_login(arbitrator)
    assert client.get(url).status_code == 200
    for other in (merchant_of(ShopFactory()), dispute.consumer):
        client.force_login(other)
        assert client.get(url).status_code == 404
