"""Reads, scoped by role: the one chokepoint every page, API view and export goes through.

A merchant user sees only the objects of the shops they are a member of; a consumer only their
own. Missing and forbidden objects look the same (a 404) because both are simply not in the
scoped queryset.
"""

from __future__ import annotations

from django.db import models


class ScopedQuerySet(models.QuerySet):
    """Adds `for_merchant` / `for_consumer`, given the paths to the shop and consumer ids."""

    shop_path = "shop"
    consumer_path = "consumer"

    def for_merchant(self, user, *, roles: tuple[str, ...] | None = None):
        """Objects of the shops `user` works for (optionally only with one of `roles`)."""
        if not user.is_authenticated:
            return self.none()
        from .models import ShopMembership

        memberships = ShopMembership.objects.filter(user=user)
        if roles:
            memberships = memberships.filter(role__in=roles)
        return self.filter(**{f"{self.shop_path}__in": memberships.values("shop_id")})

    def for_consumer(self, user):
        """Objects that belong to consumer `user`."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(**{self.consumer_path: user})


class ShopQuerySet(ScopedQuerySet):
    shop_path = "pk"

    def for_consumer(self, user):  # pragma: no cover - consumers see shops only through orders
        return self.none()


class OrderQuerySet(ScopedQuerySet):
    pass


class InvoiceRequestQuerySet(ScopedQuerySet):
    def overdue(self, now):
        """Pending requests strictly past their overdue instant (spec 4.1)."""
        return self.filter(state="pending", overdue_at__lt=now)


class HistoryQuerySet(models.QuerySet):
    """History is append-only: no bulk update or delete through the ORM either."""

    def update(self, **kwargs):
        from .models import HistoryIsAppendOnly

        raise HistoryIsAppendOnly

    def delete(self):
        from .models import HistoryIsAppendOnly

        raise HistoryIsAppendOnly

    def for_merchant(self, user):
        from .models import InvoiceRequest

        return self.filter(request__in=InvoiceRequest.objects.for_merchant(user).values("pk"))

    def for_consumer(self, user):
        return self.filter(request__consumer=user)
