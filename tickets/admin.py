"""Admin for urge tickets: read-only, for arbitrators to look. Tickets change only through the
services (the merchant's reply, the jobs). The penalties app adds its own actions to this
page (a false reply, 乱填); the jobs' schedule is under "Periodic tasks"."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin_mixins import ReadOnly, ReadOnlyInline
from core.changelist import FastChangeListMixin, ShopInputFilter, recent_filter

from .models import TicketReply, UrgeTicket


class TicketReplyInline(ReadOnlyInline):
    model = TicketReply
    fields = ["at", "by", "resolution", "note", "promised_date", "attachment", "late"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")


@admin.register(UrgeTicket)
class UrgeTicketAdmin(ReadOnly, FastChangeListMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "order_number",
        "shop",
        "state",
        "opened_at",
        "opened_via",
        "reply_due_at",
        "sla",
        "resolution",
        "promise_state",
        "urge_count",
    ]
    ordering = ["-id"]  # newest first by the primary key: no sort of half a million rows
    list_filter = [
        "state",
        "sla",
        "promise_state",
        "opened_via",
        "resolution",
        ShopInputFilter,
        recent_filter("opened_at", _("opened at")),
    ]
    list_select_related = ["shop", "request__order"]
    # Exact matches by index (`core.changelist.indexed_search`); the shop's name (a small
    # table) by substring.
    search_fields = [
        "=request__order__number",
        "=request_id",
        "=id",
        "=shop__jd_shop_id",
        "shop__name",
    ]
    search_help_text = _(
        "Order number, request number, ticket number or JD shop id (exact), or part of the "
        "shop's name."
    )
    inlines = [TicketReplyInline]
    list_per_page = 50  # a row costs ~1 ms of rendering (its checkbox widget above all)

    @admin.display(description=_("order number"), ordering="request__order__number")
    def order_number(self, ticket: UrgeTicket) -> str:
        return ticket.request.order.number
