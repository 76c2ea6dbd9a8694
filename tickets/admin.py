"""Admin for urge tickets, the outbox and the job runs: read-only, for arbitrators to look.

Tickets change only through the services (the merchant's reply, the jobs); penalties have
their own admin. The jobs' schedule is edited under "Periodic tasks" (django-celery-beat).
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import JobRun, OutboxMessage, TicketReply, UrgeTicket


class ReadOnlyAdminMixin:
    """View, never add, change or delete."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class TicketReplyInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = TicketReply
    fields = ["at", "by", "resolution", "note", "promised_date", "attachment", "late"]
    readonly_fields = fields
    extra = 0


@admin.register(UrgeTicket)
class UrgeTicketAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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
    list_filter = ["state", "sla", "promise_state", "opened_via", "resolution"]
    list_select_related = ["shop", "request__order"]
    search_fields = ["=request__order__number", "=shop__jd_shop_id", "shop__name"]
    date_hierarchy = "opened_at"
    raw_id_fields = ["request", "shop"]
    inlines = [TicketReplyInline]

    @admin.display(description=_("order number"), ordering="request__order__number")
    def order_number(self, ticket: UrgeTicket) -> str:
        return ticket.request.order.number


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "key", "kind", "created_at", "sent_at", "attempts", "last_error"]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["key"]
    date_hierarchy = "created_at"


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "name", "as_of", "started_at", "finished_at", "ok", "counts"]
    list_filter = ["name", "ok"]
    date_hierarchy = "started_at"
