"""Scoping that fails closed (spec 9): every read of a model a merchant or a consumer can reach
says whose view it is, or it does not run.

The default manager of such a model hands out a `ScopedQuerySet` that knows its scope. It
starts with none; evaluating it (iterating, `get`, `count`, `exists`, `update`, ...) raises
`UnscopedQuery` until one of these has been applied:

- `for_merchant(user, roles=...)`: the objects of the shops `user` works for;
- `for_consumer(user)`: the objects that belong to consumer `user`;
- `for_arbitrator(user)`: everything, for a platform arbitrator (nothing for anyone else);
- `for_system()`: everything, for code acting as the system (jobs, services working on an
  object their caller already scoped, commands, tests), never for a page's own reads;
- `for_prefetch()`: the children of parents that were themselves scoped (a `Prefetch`).

A related manager (`request.disputes`, `ticket.replies`) is scoped by its parent: whoever holds
the parent was allowed to see it. Missing and forbidden objects look alike (a 404) because both
are simply not in the scoped queryset. This is NetBox's `RestrictedQuerySet` made strict.
"""

from __future__ import annotations

from typing import Any, Self

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.db.models import F, Lookup, Subquery

User = AbstractBaseUser | AnonymousUser

MERCHANT, CONSUMER, ARBITRATOR = "merchant", "consumer", "arbitrator"
SYSTEM, PREFETCH, RELATED, EMPTY = "system", "prefetch", "related", "empty"


class UnscopedQuery(RuntimeError):
    """A query of a scoped model was evaluated without saying whose view it is."""


class AnyOfSubquery(Lookup):
    """`lhs = ANY(ARRAY(subquery))` on PostgreSQL, `lhs IN (subquery)` elsewhere.

    The merchant scope's shape (issue 14). With `shop_id IN (SELECT shop_id FROM membership
    ...)` the planner makes a semi-join whose size rests on the membership table's statistics
    (issue 14 saw it expect 416,682 rows of one shop's 5,086 and count them with a parallel
    sequential scan). `ANY(ARRAY(...))` runs the subquery first, once (an InitPlan over the
    membership's unique index), and the outer query becomes an index condition on `shop_id`
    estimated like a short list of shops whatever the statistics: index scans at any size
    (`tests/test_scale.py` EXPLAINs it)."""

    lookup_name = "any_of_subquery"
    prepare_rhs = False

    def _sides(self, compiler: Any, connection: Any) -> tuple[str, str, list]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if not rhs.startswith("("):
            rhs = f"({rhs})"
        return lhs, rhs, [*lhs_params, *rhs_params]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list]:
        lhs, rhs, params = self._sides(compiler, connection)
        return f"{lhs} IN {rhs}", params

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, list]:
        lhs, rhs, params = self._sides(compiler, connection)
        return f"{lhs} = ANY(ARRAY{rhs})", params


class ScopedQuerySet(models.QuerySet):
    """A queryset that refuses to run until it is scoped (see the module docstring).

    Subclasses say where the shop and the consumer are: `shop_path` and `consumer_path` are
    lookups to the shop and to the consumer user (None: that side never sees the model).
    """

    shop_path: str | None = "shop"
    consumer_path: str | None = "consumer"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._scope: str | None = None

    def _clone(self) -> Self:
        clone = super()._clone()  # every chained call clones: the scope goes along
        clone._scope = self._scope
        return clone

    @classmethod
    def as_manager(cls) -> models.Manager:
        manager = ScopedManager.from_queryset(cls)()
        manager._built_with_as_manager = True
        return manager

    as_manager.queryset_only = True  # type: ignore[attr-defined]

    # --- scopes -----------------------------------------------------------------------------

    def _with_scope(self, scope: str) -> Self:
        clone = self._chain()
        clone._scope = scope
        return clone

    @property
    def scope(self) -> str | None:
        return self._scope

    def for_merchant(self, user: User, *, roles: tuple[str, ...] | None = None) -> Self:
        """Objects of the shops `user` works for (optionally only with one of `roles`)."""
        if self.shop_path is None or not user.is_authenticated:
            return self.none()
        from .models import ShopMembership

        memberships = ShopMembership.objects.for_system().filter(user=user)
        if roles:
            memberships = memberships.filter(role__in=roles)
        shop_ids = Subquery(memberships.values("shop_id"))
        return self.filter(AnyOfSubquery(F(self.shop_path), shop_ids))._with_scope(MERCHANT)

    def for_consumer(self, user: User) -> Self:
        """Objects that belong to consumer `user`."""
        if self.consumer_path is None or not user.is_authenticated:
            return self.none()
        return self.filter(**{self.consumer_path: user})._with_scope(CONSUMER)

    def for_arbitrator(self, user: User) -> Self:
        """Everything, for a platform arbitrator; nothing for anyone else."""
        from .roles import is_arbitrator

        return self._with_scope(ARBITRATOR) if is_arbitrator(user) else self.none()

    def for_system(self) -> Self:
        """Everything, for code acting as the system, not on behalf of a page's user."""
        return self._with_scope(SYSTEM)

    def for_prefetch(self) -> Self:
        """For `Prefetch(queryset=...)`: the rows are filtered by parents already scoped."""
        return self._with_scope(PREFETCH)

    def none(self) -> Self:
        return super().none()._with_scope(EMPTY)

    # --- evaluation: refused while unscoped --------------------------------------------------

    def _require_scope(self) -> None:
        if self._scope is None:
            raise UnscopedQuery(
                f"{self.model.__name__} was read without a scope: use for_merchant(user), "
                "for_consumer(user), for_arbitrator(user) or, for system code, for_system()."
            )

    def _fetch_all(self) -> None:
        if self._result_cache is None:
            self._require_scope()
        super()._fetch_all()

    def iterator(self, *args: Any, **kwargs: Any):
        self._require_scope()
        return super().iterator(*args, **kwargs)

    def count(self) -> int:
        if self._result_cache is None:
            self._require_scope()
        return super().count()

    def exists(self) -> bool:
        if self._result_cache is None:
            self._require_scope()
        return super().exists()

    def aggregate(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._require_scope()
        return super().aggregate(*args, **kwargs)

    def update(self, **kwargs: Any) -> int:
        self._require_scope()
        return super().update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        self._require_scope()
        return super().delete()

    def explain(self, *args: Any, **kwargs: Any) -> str:
        self._require_scope()
        return super().explain(*args, **kwargs)

    # A union (or intersection) of two scoped querysets is scoped; with an unscoped one it is not.
    def _combined(self, other: Any, combined: Self) -> Self:
        both = self._scope is not None and getattr(other, "_scope", None) is not None
        combined = combined._chain()  # Django may hand back one of the operands itself
        combined._scope = self._scope if both else None
        return combined

    def __or__(self, other: Any) -> Self:
        return self._combined(other, super().__or__(other))

    def __and__(self, other: Any) -> Self:
        return self._combined(other, super().__and__(other))


class ScopedManager(models.Manager):
    """The default manager of a scoped model. As a related manager (`ticket.replies`) its
    queryset is scoped by the parent object; otherwise it starts unscoped."""

    def get_queryset(self) -> ScopedQuerySet:
        queryset = super().get_queryset()
        if getattr(self, "instance", None) is not None:
            queryset._scope = RELATED
        return queryset
