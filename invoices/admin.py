"""Admin for shops (with the gray release, spec 7), orders and invoice requests: read-only but
for turning the new flow on and off. Shop staff change only by the shop's owner, through
`core.staff`; orders only through the platform."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin_mixins import ArbitratorScoped, ReadOnly, ReadOnlyInline, history_table
from core.changelist import FastChangeListMixin
from core.models import Shop, ShopMembership

from . import rollout
from .models import InvoiceRequest, Order, ShopFlowChange


class MembershipInline(ReadOnlyInline):
    model = ShopMembership
    fields = ["user", "role"]


class FlowChangeInline(ReadOnlyInline):
    model = ShopFlowChange
    fields = ["at", "on", "actor", "requests_rescheduled", "note"]


class RolloutForm(forms.Form):
    percent = forms.IntegerField(
        label=gettext_lazy("share of shops (%)"), min_value=0, max_value=100
    )


@admin.register(Shop)
class ShopAdmin(ArbitratorScoped, admin.ModelAdmin):
    """Shops, and the gray release of the new flow (spec 7)."""

    list_display = ["jd_shop_id", "name", "new_flow_since", "rollout_bucket"]
    list_filter = [("new_flow_since", admin.EmptyFieldListFilter)]
    search_fields = ["=jd_shop_id", "name"]
    fields = ["jd_shop_id", "name", "new_flow_since", "created_at"]
    readonly_fields = fields
    inlines = [MembershipInline, FlowChangeInline]
    actions = ["turn_on_new_flow", "turn_off_new_flow"]
    change_list_template = "admin/invoices/shop/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=gettext_lazy("rollout bucket"))
    def rollout_bucket(self, shop: Shop) -> int:
        return rollout.rollout_bucket(shop.jd_shop_id)

    @admin.action(description=gettext_lazy("Turn the new flow on for the selected shops"))
    def turn_on_new_flow(self, request: HttpRequest, queryset) -> None:
        n = rollout.shops_set_new_flow(shops=queryset, on=True, by=request.user)
        self.message_user(request, _("The new flow is now on for %(n)d shop(s).") % {"n": n})

    @admin.action(description=gettext_lazy("Turn the new flow off for the selected shops"))
    def turn_off_new_flow(self, request: HttpRequest, queryset) -> None:
        n = rollout.shops_set_new_flow(shops=queryset, on=False, by=request.user)
        self.message_user(request, _("The old flow is back for %(n)d shop(s).") % {"n": n})

    def get_urls(self):
        return [
            path(
                "rollout/",
                self.admin_site.admin_view(self.rollout_view),
                name="invoices_shop_rollout",
            ),
            *super().get_urls(),
        ]

    def rollout_view(self, request: HttpRequest) -> HttpResponse:
        """Put a share of all shops on the new flow, by stable bucket."""
        if not self.has_change_permission(request):
            return redirect("admin:index")
        form = RolloutForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            n = rollout.shops_roll_out_share(percent=form.cleaned_data["percent"], by=request.user)
            self.message_user(
                request,
                _("The new flow is now on for %(n)d more shop(s).") % {"n": n},
                messages.SUCCESS,
            )
            return redirect("admin:core_shop_changelist")
        shops = self.get_queryset(request)
        return TemplateResponse(
            request,
            "admin/invoices/shop/rollout.html",
            {
                **self.admin_site.each_context(request),
                "form": form,
                "opts": self.model._meta,
                "title": _("Roll out the new flow to a share of shops"),
                "on": shops.filter(new_flow_since__isnull=False).count(),
                "total": shops.count(),
            },
        )


@admin.register(Order)
class OrderAdmin(ReadOnly, FastChangeListMixin, admin.ModelAdmin):
    """Orders come from the platform; arbitrators read them, nobody edits them here."""

    list_display = ["number", "shop", "consumer", "amount", "state", "completed_at"]
    ordering = ["-id"]  # newest first by the primary key: no sort of millions of rows
    list_filter = ["state"]
    search_fields = ["=number"]
    search_help_text = gettext_lazy("Order number (exact).")
    list_select_related = ["shop", "consumer"]


@admin.register(InvoiceRequest)
class InvoiceRequestAdmin(ReadOnly, FastChangeListMixin, admin.ModelAdmin):
    """Requests change only through the services (with their history), never a raw edit."""

    list_display = [
        "id",
        "order",
        "shop",
        "consumer",
        "kind",
        "state",
        "requested_at",
        "overdue_at",
    ]
    ordering = ["-id"]  # newest first by the primary key: no sort of millions of rows
    list_filter = ["state", "kind", "invoice_kind"]
    # Exact matches on indexed columns only (`core.changelist.indexed_search`): a substring of
    # the title would read every row.
    search_fields = ["=order__number", "=id", "=tax_id"]
    search_help_text = gettext_lazy("Order number, request number or tax id (exact).")
    list_select_related = ["order", "shop", "consumer"]
    exclude = ["invoice_file"]
    readonly_fields = ["history_display"]

    @admin.display(description=gettext_lazy("history"))
    def history_display(self, obj: InvoiceRequest) -> str:
        return history_table(obj.pk, shop_name=obj.shop.name)
