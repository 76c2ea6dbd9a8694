"""Writes of the category operations (spec 13): an operator's plan for this month."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.history import history_record

from . import selectors, tiers
from .models import Category, CategoryOperator, MonthPlan, ShopTarget

GROWTH_MIN, GROWTH_MAX = Decimal("-0.99"), Decimal("10")  # −99 % … +1000 %


def require_category_operator(user: AbstractBaseUser, category: Category) -> None:
    """Raise PermissionDenied unless `user` operates `category`."""
    if not (
        user.is_authenticated
        and CategoryOperator.objects.for_system().filter(category=category, user=user).exists()
    ):
        raise PermissionDenied(_("Only the category's operators can do this."))


def _checked(
    overview: selectors.Overview, growth: Decimal, targets: Mapping[int, Decimal]
) -> dict[int, Decimal]:
    errors: dict[str, list[str]] = {}
    if not GROWTH_MIN <= growth <= GROWTH_MAX:
        errors["growth"] = [_("The growth must be between −99 % and +1000 %.")]
    may_set = {line.shop.pk for line in overview.lines if line.operator_sets}
    clean: dict[int, Decimal] = {}
    for shop_id, amount in targets.items():
        if shop_id not in may_set:
            errors.setdefault("targets", []).append(
                _("Only the 重点 and A shops' targets are set by hand; the others share the rest.")
            )
            break
        if amount < 0 or amount != tiers.to_fen(amount):
            errors.setdefault("targets", []).append(
                _("A target is an amount in yuan of at least 0, to the fen.")
            )
            break
        clean[shop_id] = amount
    if errors:
        raise ValidationError(errors)
    target = tiers.category_target(overview.last_month, growth)
    # the 重点 and A shops not sent keep their own target, or their pre-fill for this target
    suggested = tiers.prefill(target, [(x.shop.pk, x.tier, x.last_month) for x in overview.lines])
    kept = sum(
        (
            line.target if line.target_set else suggested.get(line.shop.pk, Decimal(0))
            for line in overview.lines
            if line.operator_sets and line.shop.pk not in clean
        ),
        Decimal(0),
    )
    if sum(clean.values(), Decimal(0)) + kept > target:
        raise ValidationError(
            {
                "targets": _(
                    "The 重点 and A shops' targets add up to more than the category target "
                    "(%(target)s)."
                )
                % {"target": target}
            }
        )
    return clean


def month_plan_save(
    *,
    category: Category,
    by: AbstractBaseUser,
    growth: Decimal,
    targets: Mapping[int, Decimal],
    month: date | None = None,
    now: datetime | None = None,
) -> MonthPlan:
    """Save this month's plan of `category`: the growth and the 重点 and A shops' targets (shop
    id → yuan; a shop left out keeps the target it had, or its pre-fill). Only this China
    month can be planned; the targets must add up to no more than the category target. One
    transaction, one history entry; a second operator saving at once waits for the first."""
    require_category_operator(by, category)
    now = now or timezone.now()
    current = selectors.plan_month(now)
    if month is not None and month != current:
        raise ValidationError(
            {"month": _("Only this month's plan can be changed; past months stay as they were.")}
        )
    with transaction.atomic():
        try:
            with transaction.atomic():
                MonthPlan.objects.for_system().get_or_create(category=category, month=current)
        except IntegrityError:  # another operator created it at the same moment
            pass
        plan = (
            MonthPlan.objects.for_system().select_for_update().get(category=category, month=current)
        )
        clean = _checked(
            selectors.overview(category, current, with_scorecard=False), growth, targets
        )
        mine = ShopTarget.objects.for_system().filter(plan=plan, shop_id__in=list(clean))
        before = {
            "growth": str(plan.growth),
            "targets": {
                str(shop): str(amount) for shop, amount in mine.values_list("shop_id", "amount")
            },
        }
        MonthPlan.objects.for_system().filter(pk=plan.pk).update(
            growth=growth, updated_at=now, updated_by=by
        )
        ShopTarget.objects.bulk_create(
            [ShopTarget(plan=plan, shop_id=shop, amount=amount) for shop, amount in clean.items()],
            update_conflicts=True,
            unique_fields=["plan", "shop"],
            update_fields=["amount"],
        )
        history_record(
            request_id=None,
            subject="category",
            subject_id=category.pk,
            actor=by,
            action="category_plan_saved",
            data={
                "month": f"{current:%Y-%m}",
                "before": before,
                "growth": str(growth),
                "targets": {str(shop): str(amount) for shop, amount in clean.items()},
            },
            at=now,
        )
    plan.refresh_from_db()
    return plan
