"""Categories in the admin: arbitrators (and superusers) set up the categories, their shops and
operators; the month plans are read-only here (the operators make them on their pages)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin_mixins import ArbitratorScoped, ReadOnly, ReadOnlyInline
from core.models import Shop

from .models import Category, CategoryOperator, CategoryShop, MonthPlan, ShopTarget


class CategoryShopInline(ArbitratorScoped, admin.TabularInline):
    model = CategoryShop
    extra = 0

    def formfield_for_foreignkey(self, db_field, request, **kwargs):  # noqa: ANN001, ANN201
        if db_field.name == "shop":  # the shops this arbitrator may see (core.scoping)
            kwargs["queryset"] = Shop.objects.for_arbitrator(request.user).order_by("jd_shop_id")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CategoryOperatorInline(ArbitratorScoped, admin.TabularInline):
    model = CategoryOperator
    extra = 0
    raw_id_fields = ["user"]


class MonthPlanInline(ReadOnlyInline):
    model = MonthPlan
    fields = ["month", "growth", "updated_at", "updated_by"]


@admin.register(Category)
class CategoryAdmin(ArbitratorScoped, admin.ModelAdmin):
    list_display = ["code", "name", "created_at"]
    search_fields = ["code", "name"]
    inlines = [CategoryShopInline, CategoryOperatorInline, MonthPlanInline]


class ShopTargetInline(ReadOnlyInline):
    model = ShopTarget
    fields = ["shop", "amount"]


@admin.register(MonthPlan)
class MonthPlanAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["category", "month", "growth", "updated_at", "updated_by"]
    search_fields = ["=category__code"]
    search_help_text = _("The category code, exactly.")
    inlines = [ShopTargetInline]
