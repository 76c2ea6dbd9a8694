"""Spec 1: only platform arbitrators (and superusers) get into the admin."""

import pytest
from django.contrib.auth.models import Group

from core.roles import ARBITRATOR_GROUP
from tests.factories import ShopFactory, UserFactory, merchant_of

pytestmark = pytest.mark.django_db


def arbitrator():
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=ARBITRATOR_GROUP))
    return user


@pytest.mark.parametrize(
    ("make_user", "allowed"),
    [
        (arbitrator, True),
        (lambda: UserFactory(is_staff=True, is_superuser=True), True),
        (lambda: UserFactory(is_staff=True), False),  # staff, but not an arbitrator
        (lambda: merchant_of(ShopFactory()), False),
        (lambda: UserFactory(), False),
    ],
)
def test_only_arbitrators_reach_the_admin(client, make_user, allowed):
    client.force_login(make_user())
    response = client.get("/admin/invoices/invoicerequest/")
    assert (response.status_code == 200) is allowed, response.status_code
    if not allowed:
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_an_inactive_arbitrator_is_out(client):
    user = arbitrator()
    user.is_active = False
    user.save()
    client.force_login(user)
    assert client.get("/admin/").status_code == 302
