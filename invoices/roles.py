"""Who the acting user is, for the pages and the API (spec 1: merchant, consumer, arbitrator)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from .models import ARBITRATOR_GROUP, ShopMembership


def is_arbitrator(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Platform arbitrators: active staff in the arbitrator group (or superusers)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.is_staff and user.groups.filter(name=ARBITRATOR_GROUP).exists()


def is_merchant(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Merchant staff: members of at least one shop."""
    return user.is_authenticated and ShopMembership.objects.filter(user=user).exists()


def can_write_for_shop(user: AbstractBaseUser | AnonymousUser, shop_id: int) -> bool:
    """Owners and operators act for a shop; viewers only read."""
    return (
        user.is_authenticated
        and ShopMembership.objects.filter(
            user=user, shop_id=shop_id, role__in=ShopMembership.WRITERS
        ).exists()
    )
