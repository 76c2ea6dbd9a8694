"""Admin for urge tickets, the outbox and the job runs: read-only, for arbitrators to look.

Tickets change only through the services (the merchant's reply, the jobs); penalties have
their own admin. The jobs' schedule is edited under "Periodic tasks" (django-celery-beat).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from invoices.roles import is_arbitrator
from jdpop.errors import DomainError

from .models import JobRun, OutboxMessage, TicketReply, UrgeTicket


class FalseReplyForm(forms.Form):
    note = forms.CharField(
        label=_("what in the reply was false"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        max_length=2000,
        help_text=_("Recorded on the penalty and in the request's history; the shop can read it."),
    )


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
    actions = ["record_false_reply"]

    def has_record_permission(self, request: HttpRequest) -> bool:
        return is_arbitrator(request.user) and request.user.has_perm("tickets.change_penalty")

    @admin.action(
        description=_("Record a false reply (乱填) penalty for the selected tickets"),
        permissions=["record"],
    )
    def record_false_reply(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """First a page asking what was false; then one confirmed penalty per ticket."""
        from disputes.services import penalty_record_false_reply

        form = FalseReplyForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done = 0
            for ticket in queryset:
                try:
                    penalty_record_false_reply(
                        ticket=ticket, by=request.user, note=form.cleaned_data["note"]
                    )
                except (DomainError, ValidationError, PermissionDenied) as e:
                    text = getattr(e, "message", None) or "; ".join(getattr(e, "messages", []))
                    self.message_user(request, f"#{ticket.pk}: {text}", messages.ERROR)
                else:
                    done += 1
            if done:
                self.message_user(
                    request,
                    gettext("%(n)d false-reply penalty(ies) recorded.") % {"n": done},
                    messages.SUCCESS,
                )
            return None
        return TemplateResponse(
            request,
            "admin/tickets/urgeticket/false_reply.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": gettext("Record a false reply (乱填)"),
                "form": form,
                "tickets": queryset.select_related("request__order"),
                "action": "record_false_reply",
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

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
