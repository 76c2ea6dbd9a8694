"""Who the acting user is (spec 1, 2): merchant staff by role, consumers, platform arbitrators.

The one writer check: `require_shop_writer` (owners and operators act for a shop, viewers only
read). Services call it; pages ask `can_write_for_shop` only to decide what to show.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework.permissions import BasePermission

from .models import ShopMembership

ARBITRATOR_GROUP = "arbitrators"
# The platform's own systems (the order feed, spec 12): service accounts in this group.
PLATFORM_SERVICE_GROUP = "platform-service"
Role = ShopMembership.Role
User = AbstractBaseUser | AnonymousUser


def is_arbitrator(user: User) -> bool:
    """Platform arbitrators: active staff in the arbitrator group (or superusers). Asked once
    per user object (a request's user), however often the admin asks."""
    known = getattr(user, "_jdpop_is_arbitrator", None)
    if known is not None:
        return known
    if not user.is_authenticated or not user.is_active:
        return False
    answer = user.is_superuser or (
        user.is_staff and user.groups.filter(name=ARBITRATOR_GROUP).exists()
    )
    user._jdpop_is_arbitrator = answer
    return answer


def is_merchant(user: User) -> bool:
    """Merchant staff: members of at least one shop."""
    return user.is_authenticated and ShopMembership.objects.for_system().filter(user=user).exists()


def shop_role(user: User, shop_id: int) -> str | None:
    """`user`'s role in the shop, or None when they do not work for it."""
    if not user.is_authenticated:
        return None
    return (
        ShopMembership.objects.for_system()
        .filter(user=user, shop_id=shop_id)
        .values_list("role", flat=True)
        .first()
    )


def can_write_for_shop(user: User, shop_id: int) -> bool:
    """Owners and operators act for a shop; viewers only read."""
    return shop_role(user, shop_id) in ShopMembership.WRITERS


def require_shop_writer(user: User, shop_id: int) -> None:
    """Raise PermissionDenied unless `user` is an owner or operator of the shop."""
    if not can_write_for_shop(user, shop_id):
        raise PermissionDenied(_("Your role in this shop does not allow this action."))


def require_shop_owner(user: User, shop_id: int) -> None:
    """Raise PermissionDenied unless `user` owns the shop (staff changes, penalties)."""
    if shop_role(user, shop_id) != Role.OWNER:
        raise PermissionDenied(_("Only the shop's owner can do this."))


def require_arbitrator(user: User) -> None:
    """Raise PermissionDenied unless `user` is a platform arbitrator (judgments, penalties)."""
    if not is_arbitrator(user):
        raise PermissionDenied(_("Only platform arbitrators can do this."))


def platform_service_group() -> Group:
    """The group of the platform's service accounts, made on first use."""
    group, _created = Group.objects.get_or_create(name=PLATFORM_SERVICE_GROUP)
    return group


def is_platform_service(user: User) -> bool:
    """A platform service account: an active user in the platform-service group (superusers
    too are not: the feed is for the platform's systems alone)."""
    return (
        user.is_authenticated
        and user.is_active
        and user.groups.filter(name=PLATFORM_SERVICE_GROUP).exists()
    )


class IsPlatformService(BasePermission):
    """DRF permission: only platform service accounts (anonymous callers: 401 or 403 as the
    authentication says; everyone else 403)."""

    message = gettext_lazy("Only the platform's service accounts can do this.")

    def has_permission(self, request, view) -> bool:
        return is_platform_service(request.user)
