"""Spec 1, 5: the arbitrators' dispute queue in the admin, and who may reach it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from disputes.models import Dispute
from tests.factories import ShopFactory, UserFactory, merchant_of

from .factories import EvidenceFactory, dispute_in

pytestmark = pytest.mark.django_db

QUEUE = "/admin/disputes/dispute/"


@pytest.mark.parametrize(
    "make_user",
    [
        lambda: UserFactory(is_staff=True),  # staff, but not in the "arbitrators" group
        lambda: merchant_of(ShopFactory()),
        lambda: merchant_of(ShopFactory(), user__is_staff=True),  # a merchant someone made staff
    ],
    ids=["plain-staff", "merchant", "staff-merchant"],
)
def test_a_non_arbitrator_cannot_reach_the_queue(client, make_user):
    d = dispute_in("awaiting_platform")
    client.force_login(make_user())
    for url in (QUEUE, f"{QUEUE}{d.pk}/change/", f"{QUEUE}{d.pk}/judge/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url


def test_the_queue_puts_the_platforms_disputes_first_then_by_deadline(
    client, arbitrator, django_assert_max_num_queries
):
    # given disputes in every state
    closed = dispute_in("closed")
    later = dispute_in("awaiting_merchant")
    sooner = dispute_in("awaiting_consumer")  # its 72 h deadline is after `later`'s 24 h one
    platform = dispute_in("awaiting_platform")
    client.force_login(arbitrator)
    # when the arbitrator opens the queue
    with django_assert_max_num_queries(12):
        response = client.get(QUEUE)
    # then the platform's come first, then the others by deadline, closed ones last
    assert response.status_code == 200
    ids = [d.pk for d in response.context["cl"].result_list]
    assert ids == [platform.pk, later.pk, sooner.pk, closed.pk]


def test_the_queue_is_searchable_by_order_number_and_filterable(client, arbitrator):
    d = dispute_in("awaiting_platform")
    other = dispute_in("awaiting_merchant")
    client.force_login(arbitrator)
    found = client.get(QUEUE, {"q": d.request.order.number}).context["cl"].result_list
    assert [x.pk for x in found] == [d.pk]
    found = client.get(QUEUE, {"state": "awaiting_merchant"}).context["cl"].result_list
    assert [x.pk for x in found] == [other.pk]
    found = client.get(QUEUE, {"q": other.shop.jd_shop_id}).context["cl"].result_list
    assert [x.pk for x in found] == [other.pk]


def test_the_change_page_is_read_only_and_shows_evidence_and_history(client, arbitrator):
    from disputes import services

    d = dispute_in("awaiting_merchant")
    owner = merchant_of(d.shop)
    EvidenceFactory(dispute=d, author=owner, text="消费者同意不开票的聊天截图")
    d = services.dispute_answer(dispute=d, by=owner, plan="platform_judge", note="请平台判责")
    client.force_login(arbitrator)
    response = client.get(f"{QUEUE}{d.pk}/change/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "消费者同意不开票的聊天截图" in html  # the submitted evidence
    assert "sent_to_platform" in html and "evidence_submitted" in html  # the history
    assert 'name="_save"' not in html  # nothing to save: changes go through the services
    assert client.post(f"{QUEUE}{d.pk}/change/", {"state": "closed"}).status_code == 403
    assert Dispute.objects.for_system().get(pk=d.pk).state == "awaiting_platform"


def test_the_judgment_form_needs_a_reason_to_override(client, arbitrator):
    # given a dispute whose proposal needs a person
    d = dispute_in("awaiting_platform")
    client.force_login(arbitrator)
    url = reverse("admin:disputes_dispute_judge", args=[d.pk])
    assert client.get(url).status_code == 200
    # when the arbitrator judges without a written reason, then the form says so
    response = client.post(url, {"verdict": "not_liable", "reason_code": "refusal_justified"})
    assert response.status_code == 200 and response.context["form"].errors["reason"]
    assert Dispute.objects.for_system().get(pk=d.pk).state == "awaiting_platform"
    # when with a reason, then the dispute is judged and closed
    response = client.post(
        url,
        {"verdict": "not_liable", "reason_code": "refusal_justified", "reason": "订单已全额退款"},
    )
    assert response.status_code == 302
    d.refresh_from_db()
    assert (d.state, d.verdict, d.reason, d.judged_by) == (
        "closed",
        "not_liable",
        "订单已全额退款",
        arbitrator,
    )


def test_the_confirm_action_reports_a_dispute_that_needs_a_person(client, arbitrator):
    d = dispute_in("awaiting_platform")  # proposal: needs a person
    client.force_login(arbitrator)
    response = client.post(
        QUEUE, {"action": "confirm_proposal", "_selected_action": [d.pk]}, follow=True
    )
    assert response.status_code == 200
    assert any(m.level_tag == "error" for m in response.context["messages"])
    assert Dispute.objects.for_system().get(pk=d.pk).state == "awaiting_platform"


def test_the_queue_filters_by_shop_and_costs_the_same_for_more_rows(
    client, arbitrator, django_assert_max_num_queries
):
    a, b = dispute_in("awaiting_platform"), dispute_in("awaiting_merchant")
    client.force_login(arbitrator)
    response = client.get(QUEUE, {"jd_shop_id": b.shop.jd_shop_id, "state": "awaiting_merchant"})
    assert [d.pk for d in response.context["cl"].result_list] == [b.pk]
    html = response.content.decode()
    assert 'name="jd_shop_id"' in html and 'type="hidden" name="state"' in html
    assert [
        d.pk for d in client.get(QUEUE, {"q": a.consumer.username}).context["cl"].result_list
    ] == [a.pk]
    with django_assert_max_num_queries(12):
        client.get(QUEUE)
    for _ in range(10):
        dispute_in("awaiting_platform")
    with django_assert_max_num_queries(12):
        assert len(client.get(QUEUE).context["cl"].result_list) == 12


def test_the_change_page_shows_the_disputes_penalties(client, arbitrator):
    from penalties.models import Penalty

    d = dispute_in("awaiting_platform")
    Penalty.objects.create(shop=d.shop, kind="dispute_no_answer", dispute=d)
    client.force_login(arbitrator)
    html = client.get(f"{QUEUE}{d.pk}/change/").content.decode()
    from django.utils import translation

    from penalties.models import Penalty

    with translation.override("zh-hans"):
        assert str(Penalty.Kind.DISPUTE_NO_ANSWER.label) in html
