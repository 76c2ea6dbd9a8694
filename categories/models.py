"""Categories (类目), their shops and operators, and each month's plan (spec 13).

A shop belongs to at most one category (its main category, 主营类目): its sales count once, so
the category shares add up to 100 %. The link lives here, not on `core.Shop`, because this app
sits above the floors that own shops.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Shop
from core.scoping import ScopedQuerySet

User = settings.AUTH_USER_MODEL


class CategoryQuerySet(ScopedQuerySet):
    """Categories: seen by their operators (`for_operator`), arbitrators and the system; never
    by shop staff or consumers as such."""

    shop_path = None
    consumer_path = None
    operator_path = "operators__user"

    def for_operator(self, user: AbstractBaseUser | AnonymousUser):
        """The categories `user` operates (类目运营): the pages' one scope."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(**{self.operator_path: user})._with_scope("operator")


class CategoryShopQuerySet(CategoryQuerySet):
    operator_path = "category__operators__user"


class ShopTargetQuerySet(CategoryQuerySet):
    operator_path = "plan__category__operators__user"


class Category(models.Model):
    """A category of shops (类目) run by category operators."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = CategoryQuerySet.as_manager()

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class CategoryShop(models.Model):
    """A shop in its category: one category per shop (the unique shop)."""

    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="shops", verbose_name=_("category")
    )
    shop = models.OneToOneField(
        Shop, on_delete=models.CASCADE, related_name="category_link", verbose_name=_("shop")
    )

    objects = CategoryShopQuerySet.as_manager()

    class Meta:
        verbose_name = _("shop of a category")
        verbose_name_plural = _("shops of categories")

    def __str__(self) -> str:
        return f"{self.shop} ∈ {self.category}"


class CategoryOperator(models.Model):
    """A user who runs a category (类目运营): sees its pages and sets its monthly plan."""

    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="operators", verbose_name=_("category")
    )
    user = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        related_name="category_memberships",
        verbose_name=_("user"),
    )

    objects = CategoryShopQuerySet.as_manager()

    class Meta:
        verbose_name = _("category operator")
        verbose_name_plural = _("category operators")
        constraints = [
            models.UniqueConstraint(fields=["category", "user"], name="category_operator_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.category}"


class MonthPlan(models.Model):
    """A category's plan for one China month: the growth over last month's sales, and (in
    `ShopTarget`) the targets the operator set for the 重点 and A shops. Changed only through
    `categories.services.month_plan_save`, with a history entry."""

    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, related_name="plans", verbose_name=_("category")
    )
    month = models.DateField(_("month"))  # its first day
    # 0.10 is +10 %: the category target is last month's sales × (1 + growth).
    growth = models.DecimalField(_("growth"), max_digits=6, decimal_places=4, default=0)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    updated_by = models.ForeignKey(
        User,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("updated by"),
    )

    objects = CategoryShopQuerySet.as_manager()

    class Meta:
        verbose_name = _("month plan")
        verbose_name_plural = _("month plans")
        constraints = [
            models.UniqueConstraint(fields=["category", "month"], name="month_plan_unique"),
            models.CheckConstraint(condition=Q(growth__gt=-1), name="month_plan_growth_above_-1"),
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.month:%Y-%m}"


class ShopTarget(models.Model):
    """The target an operator set for one 重点 or A shop in a month plan (in yuan, to the fen)."""

    plan = models.ForeignKey(
        MonthPlan, on_delete=models.CASCADE, related_name="targets", verbose_name=_("plan")
    )
    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="+", verbose_name=_("shop")
    )
    amount = models.DecimalField(_("target"), max_digits=14, decimal_places=2)

    objects = ShopTargetQuerySet.as_manager()

    class Meta:
        verbose_name = _("shop target")
        verbose_name_plural = _("shop targets")
        constraints = [
            models.UniqueConstraint(fields=["plan", "shop"], name="shop_target_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="shop_target_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.plan} {self.shop}: {self.amount}"


class SalesQuerySet(ScopedQuerySet):
    consumer_path = None


class ShopMonthSales(models.Model):
    """A shop's sales in one closed China month (completed orders less returns), written by the
    job `roll_up_category_sales` so that a category page reads 12 months of 1,000 shops from a
    few thousand rows instead of a million orders. The month being sold is always read live."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(_("month"))  # its first day
    sales = models.DecimalField(_("sales"), max_digits=16, decimal_places=2)

    objects = SalesQuerySet.as_manager()

    class Meta:
        verbose_name = _("shop month sales")
        verbose_name_plural = _("shop month sales")
        constraints = [
            models.UniqueConstraint(fields=["month", "shop"], name="shop_month_sales_unique")
        ]

    def __str__(self) -> str:
        return f"{self.shop_id} {self.month:%Y-%m}: {self.sales}"


class RolledMonth(models.Model):
    """A closed month whose `ShopMonthSales` are complete (when last rolled up): a month not
    listed here is read from the orders."""

    month = models.DateField(_("month"), unique=True)
    rolled_at = models.DateTimeField(_("rolled up at"))

    class Meta:
        verbose_name = _("rolled-up month")
        verbose_name_plural = _("rolled-up months")

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"
