"""Shop staff (子账号权限, spec 2): the shop's owner adds people, changes their role, removes
them. Arbitrators only read memberships; every change is here, with its history entry."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .errors import Conflict
from .history import history_record
from .models import HistoryEntry, Shop, ShopMembership
from .roles import require_shop_owner
from .text import visible

Role = ShopMembership.Role


def _record(shop: Shop, *, by: AbstractBaseUser, action: str, user, was: str, now: str) -> None:
    history_record(
        request_id=None,
        subject=HistoryEntry.Subject.SHOP,
        subject_id=shop.pk,
        actor=by,
        action=action,
        state_from=was,
        state_to=now,
        data={"user_id": user.pk, "username": user.get_username()},
    )


def _locked_members(shop: Shop):
    """The shop's memberships, the shop row locked: one staff change per shop at a time, so
    two owners cannot demote each other at once and leave the shop without one."""
    Shop.objects.for_system().select_for_update().get(pk=shop.pk)
    return ShopMembership.objects.for_system().filter(shop=shop)


def _keeps_an_owner(members, user) -> None:
    if not members.filter(role=Role.OWNER).exclude(user=user).exists():
        raise Conflict("last_owner", _("A shop always keeps at least one owner."))


def shop_staff_set(*, shop: Shop, by: AbstractBaseUser, username: str, role: str) -> ShopMembership:
    """The owner gives `username` the `role` in the shop: adds them, or changes their role."""
    require_shop_owner(by, shop.pk)
    if role not in Role.values:
        raise ValidationError({"role": [_("Choose owner, operator or viewer.")]})
    user = get_user_model().objects.filter(username=visible(username)).first()
    if user is None:
        raise ValidationError({"username": [_("There is no user with this login.")]})
    with transaction.atomic():
        members = _locked_members(shop)
        membership = members.filter(user=user).first()
        if membership is None:
            membership = ShopMembership.objects.create(shop=shop, user=user, role=role)
            _record(shop, by=by, action="staff_added", user=user, was="", now=role)
            return membership
        if membership.role == role:
            return membership
        if membership.role == Role.OWNER:
            _keeps_an_owner(members, user)
        was = membership.role
        members.filter(pk=membership.pk).update(role=role)
        _record(shop, by=by, action="staff_role_changed", user=user, was=was, now=role)
    membership.role = role
    return membership


def shop_staff_remove(*, shop: Shop, by: AbstractBaseUser, user_id: int) -> None:
    """The owner takes someone off the shop's staff (never its last owner)."""
    require_shop_owner(by, shop.pk)
    with transaction.atomic():
        members = _locked_members(shop)
        membership = members.filter(user_id=user_id).select_related("user").first()
        if membership is None:
            raise Conflict("not_staff", _("This person no longer works for the shop."))
        if membership.role == Role.OWNER:
            _keeps_an_owner(members, membership.user)
        members.filter(pk=membership.pk).delete()
        _record(
            shop, by=by, action="staff_removed", user=membership.user, was=membership.role, now=""
        )
