"""Spec 7: gray release, shop by shop, with the clock starting when a shop is turned on."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import Shop
from invoices import rollout
from invoices.models import InvoiceRequest, ShopFlowChange
from invoices.overdue import is_overdue
from tests.factories import InvoiceRequestFactory, OrderFactory, ShopFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_turning_a_shop_on_starts_its_clock_for_old_requests(settings):
    # Given a shop on the old flow with a request made 30 days ago (no overdue clock yet)
    shop = ShopFactory(new_flow_since=None)
    old = InvoiceRequestFactory(
        order=OrderFactory(shop=shop), requested_at=timezone.now() - timedelta(days=30)
    )
    assert old.overdue_at is None
    # When an arbitrator turns the shop on
    now = timezone.now()
    assert rollout.shops_set_new_flow(shops=[shop], on=True, by=UserFactory(), now=now) == 1
    # Then the request becomes overdue ten days from now, not at once
    old.refresh_from_db()
    assert old.overdue_at == now + settings.JDPOP_OVERDUE_AFTER
    assert not is_overdue(old, now + timedelta(days=10))
    assert is_overdue(old, now + timedelta(days=10, seconds=1))
    change = ShopFlowChange.objects.get(shop=shop)
    assert change.on and change.requests_rescheduled == 1


def test_a_request_newer_than_the_switch_keeps_its_own_clock(settings):
    shop = ShopFactory(new_flow_since=None)
    now = timezone.now()
    rollout.shops_set_new_flow(shops=[shop], on=True, by=None, now=now - timedelta(days=5))
    later = InvoiceRequestFactory(
        order=OrderFactory(shop=Shop.objects.for_system().get(pk=shop.pk)), requested_at=now
    )
    assert later.overdue_at == now + settings.JDPOP_OVERDUE_AFTER


def test_turning_on_twice_does_not_restart_the_clock():
    shop = ShopFactory(new_flow_since=None)
    first = timezone.now() - timedelta(days=3)
    rollout.shops_set_new_flow(shops=[shop], on=True, by=None, now=first)
    assert rollout.shops_set_new_flow(shops=[shop], on=True, by=None) == 0
    assert Shop.objects.for_system().get(pk=shop.pk).new_flow_since == first
    assert ShopFlowChange.objects.filter(shop=shop).count() == 1


def test_turning_off_returns_to_the_old_flow():
    r = InvoiceRequestFactory()
    rollout.shops_set_new_flow(shops=[r.shop], on=False, by=None)
    r.refresh_from_db()
    assert r.overdue_at is None and not is_overdue(r, timezone.now())
    assert (
        InvoiceRequest.objects.for_system().overdue(timezone.now() + timedelta(days=99)).count()
        == 0
    )


def test_a_share_turns_on_stable_buckets_and_only_adds():
    shops = ShopFactory.create_batch(40, new_flow_since=None)
    rollout.shops_roll_out_share(percent=30, by=None)
    on_30 = set(
        Shop.objects.for_system().filter(new_flow_since__isnull=False).values_list("pk", flat=True)
    )
    assert on_30 == {s.pk for s in shops if rollout.rollout_bucket(s.jd_shop_id) < 30}
    rollout.shops_roll_out_share(percent=60, by=None)
    on_60 = set(
        Shop.objects.for_system().filter(new_flow_since__isnull=False).values_list("pk", flat=True)
    )
    assert on_30 < on_60 or on_30 == on_60
    assert on_60 == {s.pk for s in shops if rollout.rollout_bucket(s.jd_shop_id) < 60}


def test_the_admin_rolls_out_a_share(admin_client):
    ShopFactory.create_batch(10, new_flow_since=None)
    response = admin_client.post("/admin/core/shop/rollout/", {"percent": 100})
    assert response.status_code == 302
    assert not Shop.objects.for_system().filter(new_flow_since__isnull=True).exists()
    bad = admin_client.post("/admin/core/shop/rollout/", {"percent": 101})
    assert bad.status_code == 200 and bad.context["form"].errors
