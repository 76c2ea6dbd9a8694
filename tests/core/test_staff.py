"""Shop staff (子账号权限): only the shop's owner changes it, always with a history entry, and a
shop never loses its last owner. Arbitrators read memberships in the admin, never edit them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError

from core.errors import Conflict
from core.models import HistoryEntry, ShopMembership
from core.roles import ARBITRATOR_GROUP
from core.staff import shop_staff_remove, shop_staff_set
from tests.factories import ShopFactory, UserFactory, merchant_of

pytestmark = pytest.mark.django_db
Role = ShopMembership.Role


def roles(shop) -> dict[str, str]:
    members = ShopMembership.objects.for_system().filter(shop=shop).select_related("user")
    return {m.user.username: m.role for m in members}


def staff_history(shop) -> list[tuple[str, str, str]]:
    entries = HistoryEntry.objects.for_system().filter(subject="shop", subject_id=shop.pk)
    return [(e.action, e.state_from, e.state_to) for e in entries]


def test_the_owner_adds_changes_and_removes_staff_each_with_history():
    shop = ShopFactory()
    owner = merchant_of(shop)
    clerk = UserFactory(username="clerk")
    shop_staff_set(shop=shop, by=owner, username="clerk", role=Role.VIEWER)
    shop_staff_set(shop=shop, by=owner, username="clerk", role=Role.OPERATOR)
    assert roles(shop)["clerk"] == Role.OPERATOR
    shop_staff_remove(shop=shop, by=owner, user_id=clerk.pk)
    assert "clerk" not in roles(shop)
    assert staff_history(shop) == [
        ("staff_added", "", "viewer"),
        ("staff_role_changed", "viewer", "operator"),
        ("staff_removed", "operator", ""),
    ]
    assert HistoryEntry.objects.for_system().filter(subject="shop").first().actor == owner


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER])
def test_operators_and_viewers_cannot_change_staff(role):
    shop = ShopFactory()
    member = merchant_of(shop, role)
    UserFactory(username="friend")
    with pytest.raises(PermissionDenied):
        shop_staff_set(shop=shop, by=member, username="friend", role=Role.OWNER)
    with pytest.raises(PermissionDenied):
        shop_staff_remove(shop=shop, by=member, user_id=member.pk)
    assert "friend" not in roles(shop) and staff_history(shop) == []


def test_another_shops_owner_cannot_change_staff():
    shop, other = ShopFactory(), ShopFactory()
    stranger = merchant_of(other)
    with pytest.raises(PermissionDenied):
        shop_staff_set(shop=shop, by=stranger, username=stranger.username, role=Role.OWNER)
    assert roles(shop) == {}


def test_the_last_owner_can_be_neither_demoted_nor_removed():
    shop = ShopFactory()
    owner = merchant_of(shop)
    with pytest.raises(Conflict):
        shop_staff_set(shop=shop, by=owner, username=owner.username, role=Role.VIEWER)
    with pytest.raises(Conflict):
        shop_staff_remove(shop=shop, by=owner, user_id=owner.pk)
    # with a second owner, the first may step down
    second = UserFactory(username="second")
    shop_staff_set(shop=shop, by=owner, username="second", role=Role.OWNER)
    shop_staff_set(shop=shop, by=owner, username=owner.username, role=Role.VIEWER)
    assert roles(shop) == {owner.username: Role.VIEWER, second.username: Role.OWNER}


def test_unknown_logins_and_roles_are_refused_and_change_nothing():
    shop = ShopFactory()
    owner = merchant_of(shop)
    with pytest.raises(ValidationError) as e:
        shop_staff_set(shop=shop, by=owner, username="nobody", role=Role.VIEWER)
    assert "username" in e.value.error_dict
    UserFactory(username="clerk")
    with pytest.raises(ValidationError) as e:
        shop_staff_set(shop=shop, by=owner, username="clerk", role="admin")
    assert "role" in e.value.error_dict
    assert staff_history(shop) == []


def test_the_staff_page_for_owner_staff_and_strangers(client):
    shop = ShopFactory()
    owner, viewer = merchant_of(shop), merchant_of(shop, Role.VIEWER)
    UserFactory(username="clerk")
    url = f"/merchant/shops/{shop.pk}/staff/"
    client.force_login(viewer)
    assert client.get(url).status_code == 200
    assert client.post(url, {"username": "clerk", "role": "owner"}).status_code == 403
    client.force_login(merchant_of(ShopFactory()))
    assert client.get(url).status_code == 404
    client.force_login(owner)
    response = client.post(url, {"username": "clerk", "role": "operator"})
    assert response.status_code == 302 and roles(shop)["clerk"] == Role.OPERATOR
    assert client.post(url, {"username": "ghost", "role": "viewer"}).status_code == 400


def test_arbitrators_see_memberships_read_only_and_cannot_move_orders(client):
    shop = ShopFactory()
    merchant_of(shop)
    arbitrator = UserFactory(is_staff=True)
    arbitrator.groups.add(Group.objects.get(name=ARBITRATOR_GROUP))
    client.force_login(arbitrator)
    page = client.get(f"/admin/core/shop/{shop.pk}/change/").text
    # the membership inline shows the staff but offers no field to change or add one
    assert 'name="memberships-0-role"' not in page and "memberships-__prefix__" not in page
    from tests.factories import OrderFactory

    order = OrderFactory(shop=shop)
    assert client.get(f"/admin/invoices/order/{order.pk}/change/").status_code == 200
    response = client.post(f"/admin/invoices/order/{order.pk}/change/", {"consumer": arbitrator.pk})
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.consumer_id != arbitrator.pk
