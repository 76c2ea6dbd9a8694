"""Admin for the invoice side. History is read-only; arbitrator-only access is set up with the
disputes work."""

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import rollout
from .models import HistoryEntry, InvoiceRequest, Order, Shop, ShopFlowChange, ShopMembership


class MembershipInline(admin.TabularInline):
    model = ShopMembership
    raw_id_fields = ["user"]
    extra = 0


class RolloutForm(forms.Form):
    percent = forms.IntegerField(
        label=gettext_lazy("share of shops (%)"), min_value=0, max_value=100
    )


class FlowChangeInline(admin.TabularInline):
    model = ShopFlowChange
    fields = ["at", "on", "actor", "requests_rescheduled", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    """Shops, and the gray release of the new flow (spec 7)."""

    list_display = ["jd_shop_id", "name", "new_flow_since", "rollout_bucket"]
    list_filter = [("new_flow_since", admin.EmptyFieldListFilter)]
    search_fields = ["=jd_shop_id", "name"]
    readonly_fields = ["new_flow_since"]
    inlines = [MembershipInline, FlowChangeInline]
    actions = ["turn_on_new_flow", "turn_off_new_flow"]
    change_list_template = "admin/invoices/shop/change_list.html"

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
            return redirect("admin:invoices_shop_changelist")
        return TemplateResponse(
            request,
            "admin/invoices/shop/rollout.html",
            {
                **self.admin_site.each_context(request),
                "form": form,
                "opts": self.model._meta,
                "title": _("Roll out the new flow to a share of shops"),
                "on": Shop.objects.filter(new_flow_since__isnull=False).count(),
                "total": Shop.objects.count(),
            },
        )


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "shop", "consumer", "amount", "state", "completed_at"]
    list_filter = ["state"]
    search_fields = ["=number"]
    raw_id_fields = ["shop", "consumer"]
    list_select_related = ["shop", "consumer"]
    show_full_result_count = False


class HistoryInline(admin.TabularInline):
    model = HistoryEntry
    fields = ["at", "subject", "subject_id", "action", "state_from", "state_to", "actor", "data"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(InvoiceRequest)
class InvoiceRequestAdmin(admin.ModelAdmin):
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
    list_filter = ["state", "kind", "invoice_kind"]
    search_fields = ["=order__number", "title", "=tax_id"]
    list_select_related = ["order", "shop", "consumer"]
    raw_id_fields = ["order", "shop", "consumer", "reissue_of"]
    show_full_result_count = False
    inlines = [HistoryInline]

    def get_readonly_fields(self, request, obj=None):
        # State changes go through the services (with their history), never a raw edit.
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(HistoryEntry)
class HistoryEntryAdmin(admin.ModelAdmin):
    list_display = [
        "at",
        "request",
        "subject",
        "subject_id",
        "action",
        "state_from",
        "state_to",
        "actor",
    ]
    list_filter = ["subject", "action"]
    raw_id_fields = ["request", "actor"]
    list_select_related = ["actor"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
