"""Penalties in the arbitrators' admin (spec 8): the list, confirm and waive; and this app's
additions to the pages of the apps below it: a false reply (乱填) recorded from a ticket, a
dispute's penalties on the dispute. Every change goes through `penalties.services`."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin_mixins import (
    ReadOnly,
    ReadOnlyInline,
    act_on_each,
    ask_then_act,
)
from core.changelist import FastChangeListMixin, ShopInputFilter
from core.roles import is_arbitrator
from disputes.admin import DisputeAdmin
from disputes.models import Dispute
from tickets.admin import UrgeTicketAdmin
from tickets.models import UrgeTicket

from . import services
from .models import Penalty

NOTE = {"widget": forms.Textarea(attrs={"rows": 4, "cols": 80}), "max_length": 2000}


class WaiveForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("why the penalties are waived"),
        help_text=gettext_lazy("Recorded on each penalty and in its request's history."),
        **NOTE,
    )


class FalseReplyForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("what in the reply was false"),
        help_text=gettext_lazy(
            "Recorded on the penalty and in the request's history; the shop can read it."
        ),
        **NOTE,
    )


def may_decide(request: HttpRequest) -> bool:
    """Arbitrators (with the penalty's change permission) confirm, waive and record."""
    return is_arbitrator(request.user) and request.user.has_perm("penalties.change_penalty")


@admin.register(Penalty)
class PenaltyAdmin(ReadOnly, FastChangeListMixin, admin.ModelAdmin):
    """Penalties (spec 8), whatever recorded them: an arbitrator confirms or waives them."""

    list_display = [
        "id",
        "at",
        "shop",
        "kind",
        "state",
        "source",
        "decided_at",
        "decided_by",
        "decision_note",
    ]
    ordering = ["-id"]  # newest first by the primary key
    list_filter = ["state", "kind", ShopInputFilter]
    list_select_related = ["shop", "decided_by"]
    search_fields = ["=shop__jd_shop_id", "shop__name"]
    search_help_text = gettext_lazy("JD shop id (exact) or part of the shop's name.")
    list_per_page = 100
    actions = ["confirm_penalties", "waive_penalties"]
    fields = [
        "shop",
        "kind",
        "state",
        "at",
        "source",
        "evidence_display",
        "decided_at",
        "decided_by",
        "decision_note",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("shop", "decided_by")

    def has_decide_permission(self, request: HttpRequest, obj=None) -> bool:
        return may_decide(request)

    @admin.display(description=gettext_lazy("recorded by"))
    def source(self, p: Penalty) -> str:
        """The dispute or ticket that recorded it, linked (ids only: no join per row)."""
        if p.dispute_id:
            url = reverse("admin:disputes_dispute_change", args=[p.dispute_id])
            return format_html('<a href="{}">{} #{}</a>', url, _("dispute"), p.dispute_id)
        if p.ticket_id:
            url = reverse("admin:tickets_urgeticket_change", args=[p.ticket_id])
            return format_html('<a href="{}">{} #{}</a>', url, _("ticket"), p.ticket_id)
        return "—"

    @admin.display(description=gettext_lazy("evidence"))
    def evidence_display(self, p: Penalty) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(p.evidence, ensure_ascii=False, indent=2, default=str)
        )

    @admin.action(
        description=gettext_lazy("Confirm the selected penalties"), permissions=["decide"]
    )
    def confirm_penalties(self, request: HttpRequest, queryset: QuerySet) -> None:
        act_on_each(
            self,
            request,
            queryset,
            lambda p: services.penalty_confirm(penalty=p, by=request.user),
            _("%(n)d penalty(ies) confirmed."),
        )

    @admin.action(
        description=gettext_lazy("Waive the selected penalties (with a note)"),
        permissions=["decide"],
    )
    def waive_penalties(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """First a page asking why; then each selected penalty is waived with that note."""
        return ask_then_act(
            self,
            request,
            queryset,
            form_class=WaiveForm,
            act=lambda p, data: services.penalty_waive(
                penalty=p, by=request.user, note=data["note"]
            ),
            done_message=_("%(n)d penalty(ies) waived."),
            action="waive_penalties",
            title=_("Waive penalties"),
            intro=_("These penalties will be waived, if they are still proposed:"),
            items=(
                (p.pk, f"{p.shop} · {p.get_kind_display()} · {p.get_state_display()}")
                for p in queryset.select_related("shop")
            ),
            submit_label=_("Waive"),
        )


# --- on the pages of the apps below -----------------------------------------------------------


admin.site.unregister(UrgeTicket)


@admin.register(UrgeTicket)
class UrgeTicketPenaltyAdmin(UrgeTicketAdmin):
    """The ticket page, with the action to record a false reply (乱填)."""

    actions = ["record_false_reply"]

    def has_record_permission(self, request: HttpRequest) -> bool:
        return may_decide(request)

    @admin.action(
        description=gettext_lazy("Record a false reply (乱填) penalty for the selected tickets"),
        permissions=["record"],
    )
    def record_false_reply(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """First a page asking what was false; then one confirmed penalty per ticket."""
        return ask_then_act(
            self,
            request,
            queryset,
            form_class=FalseReplyForm,
            act=lambda t, data: services.penalty_record_false_reply(
                ticket=t, by=request.user, note=data["note"]
            ),
            done_message=_("%(n)d false-reply penalty(ies) recorded."),
            action="record_false_reply",
            title=_("Record a false reply (乱填)"),
            intro=_(
                "A confirmed false-reply penalty will be recorded against the shop of each of "
                "these tickets:"
            ),
            items=(
                (
                    t.pk,
                    f"{t.request.order.number} · {t.get_resolution_display()} · "
                    f"{t.resolution_note[:80]}",
                )
                for t in queryset.select_related("request__order")
            ),
            submit_label=_("Record"),
        )


class DisputePenaltyInline(ReadOnlyInline):
    """The penalties this dispute recorded (decided in the penalty list)."""

    model = Penalty
    fk_name = "dispute"
    fields = ["kind", "state", "at", "decided_at", "decided_by", "decision_note"]
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("decided_by")


admin.site.unregister(Dispute)


@admin.register(Dispute)
class DisputePenaltyAdmin(DisputeAdmin):
    """The dispute page, with the penalties the dispute recorded."""

    inlines = [*DisputeAdmin.inlines, DisputePenaltyInline]
