"""The arbitrators' dispute queue and penalty list (spec 1, 5, 8).

Everything on a dispute or a penalty is read-only here: it changes only through the services,
called by the actions ("confirm the proposed verdict", "confirm" / "waive" a penalty) and the
judgment form. Awaiting-platform disputes come first, then the others by their deadline. Both
lists stay fast on big tables (see `disputes.changelist`). The admin site lets only arbitrators
in (jdpop.admin); the actions check it again through the services.
"""

from __future__ import annotations

import json
from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from invoices.models import HistoryEntry
from invoices.roles import is_arbitrator
from jdpop.errors import DomainError
from tickets.models import Penalty

from . import services
from .changelist import FastChangeListMixin, ShopInputFilter
from .models import Dispute, Evidence

# What the arbitrator needs of the ticket (whichever of these the ticket model has).
TICKET_FIELDS = (
    "state",
    "sla",
    "opened_at",
    "reply_due_at",
    "answered_at",
    "resolution",
    "note",
    "promised_date",
    "promise_state",
)


def _local(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M:%S") if dt else "—"


def _admin_link(obj, label: str) -> str:
    try:
        url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return label
    return format_html('<a href="{}">{}</a>', url, label)


class EvidenceInline(admin.TabularInline):
    """The submitted evidence of both sides (drafts are the parties' own until submitted)."""

    model = Evidence
    fields = ["party", "author", "text", "file", "created_at", "submitted_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = gettext_lazy("submitted evidence")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).submitted().select_related("author")

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class DisputePenaltyInline(admin.TabularInline):
    """The penalties this dispute recorded (decided in the penalty list)."""

    model = Penalty
    fk_name = "dispute"
    fields = ["kind", "state", "at", "decided_at", "decided_by", "decision_note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("decided_by")

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class JudgmentForm(forms.Form):
    verdict = forms.ChoiceField(
        label=gettext_lazy("verdict"),
        choices=[(v, Dispute.Verdict(v).label) for v in Dispute.JUDGMENT_VERDICTS],
        widget=forms.RadioSelect,
    )
    reason_code = forms.ChoiceField(
        label=gettext_lazy("reason code"), choices=Dispute.ReasonCode.choices
    )
    reason = forms.CharField(
        label=gettext_lazy("written reason"),
        widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
        required=False,
        help_text=gettext_lazy(
            "Both sides read it. Required when the judgment differs from the proposal."
        ),
    )


@admin.register(Dispute)
class DisputeAdmin(FastChangeListMixin, admin.ModelAdmin):
    """The dispute queue: read-only, judged through the action and the judgment form."""

    list_display = [
        "id",
        "kind",
        "state",
        "whose_move_display",
        "deadline_display",
        "order_number",
        "shop",
        "consumer",
        "proposal_display",
        "opened_at",
    ]
    list_filter = ["state", "kind", "proposed_verdict", "old_flow", ShopInputFilter]
    # Order number, JD shop id and consumer user name match exactly (their indexes); the shop's
    # name by substring.
    search_fields = [
        "=request__order__number",
        "=shop__jd_shop_id",
        "shop__name",
        "=consumer__username",
    ]
    search_help_text = gettext_lazy(
        "Order number, JD shop id or consumer user name (exact), or part of the shop's name."
    )
    list_select_related = ["request__order", "shop", "consumer"]
    raw_id_fields = ["request", "shop", "consumer", "answered_by", "judged_by"]
    list_per_page = 50
    actions = ["confirm_proposal"]
    inlines = [EvidenceInline, DisputePenaltyInline]
    fieldsets = [
        (
            gettext_lazy("Progress"),
            {"fields": ["kind", "state", "whose_move_display", "deadline_display", "judge_link"]},
        ),
        (
            gettext_lazy("The request and its ticket"),
            {"fields": ["request_summary", "ticket_summary", "shop", "consumer", "complaint"]},
        ),
        (
            gettext_lazy("Merchant's plan and consumer's decision"),
            {
                "fields": [
                    "old_flow",
                    "opened_at",
                    "merchant_due_at",
                    "plan",
                    "plan_date",
                    "plan_note",
                    "answered_at",
                    "answered_by",
                    "consumer_due_at",
                    "consumer_note",
                    "consumer_decided_at",
                ]
            },
        ),
        (
            gettext_lazy("Judgment"),
            {
                "fields": [
                    "platform_since",
                    "proposal_display",
                    "verdict",
                    "reason_code",
                    "reason",
                    "judged_at",
                    "judged_by",
                    "outcome",
                    "closed_at",
                ]
            },
        ),
        (gettext_lazy("History of the request"), {"fields": ["history_table"]}),
    ]

    # --- read-only: every change goes through the services ---------------------------------

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [f for _name, opts in self.fieldsets for f in opts["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_judge_permission(self, request: HttpRequest, obj=None) -> bool:
        """Arbitrators (with the model's change permission) judge."""
        return _arbitrator(request) and request.user.has_perm("disputes.change_dispute")

    # --- the queue ---------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Annotate before ordering by the annotation (ModelAdmin.get_queryset orders first).
        return self.model._default_manager.get_queryset().with_queue_order()

    def get_ordering(self, request: HttpRequest) -> list[str]:
        return ["queue_rank", "queue_due"]

    @admin.display(description=gettext_lazy("whose move"))
    def whose_move_display(self, d: Dispute) -> str:
        return Dispute.Whose(d.whose_move).label

    @admin.display(description=gettext_lazy("deadline (China time)"), ordering="queue_due")
    def deadline_display(self, d: Dispute) -> str:
        return _local(d.deadline)

    @admin.display(description=gettext_lazy("order number"), ordering="request__order__number")
    def order_number(self, d: Dispute) -> str:
        return d.request.order.number

    @admin.display(description=gettext_lazy("proposed verdict"))
    def proposal_display(self, d: Dispute) -> str:
        if not d.proposed_verdict:
            return "—"
        return f"{d.get_proposed_verdict_display()} · {d.get_proposed_reason_code_display()}"

    # --- the change page's read-only panels --------------------------------------------------

    @admin.display(description=gettext_lazy("judge"))
    def judge_link(self, d: Dispute) -> str:
        if d.state != Dispute.State.AWAITING_PLATFORM:
            return "—"
        url = reverse("admin:disputes_dispute_judge", args=[d.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Judge this dispute"))

    @admin.display(description=gettext_lazy("invoice request"))
    def request_summary(self, d: Dispute) -> str:
        r = d.request
        rows = [
            (_("request"), _admin_link(r, f"#{r.pk}")),
            (_("order number"), r.order.number),
            (_("state"), r.get_state_display()),
            (_("requested at"), _local(r.requested_at)),
            (_("refusal reason"), r.refuse_reason or "—"),
            (_("invoice number"), r.invoice_number or "—"),
        ]
        return _table(rows)

    @admin.display(description=gettext_lazy("urge ticket"))
    def ticket_summary(self, d: Dispute) -> str:
        ticket = d.ticket
        if ticket is None:
            return "—"
        rows = [(_("ticket"), _admin_link(ticket, f"#{ticket.pk}"))]
        names = {f.name: f for f in ticket._meta.concrete_fields}
        for name in TICKET_FIELDS:
            if name not in names:
                continue
            field, value = names[name], getattr(ticket, names[name].attname)
            if field.choices and value:
                value = dict(field.flatchoices).get(value, value)
            elif isinstance(value, datetime):
                value = _local(value)
            rows.append((field.verbose_name, value if value not in (None, "") else "—"))
        return _table(rows)

    @admin.display(description=gettext_lazy("history"))
    def history_table(self, d: Dispute) -> str:
        entries = HistoryEntry.objects.filter(request_id=d.request_id).select_related("actor")
        columns = [_("at"), _("subject"), _("action"), _("before"), _("after"), _("by"), _("data")]
        header = format_html_join("", "<th>{}</th>", [(c,) for c in columns])
        body = format_html_join(
            "",
            "<tr><td>{}</td><td>{} #{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td><code>{}</code></td></tr>",
            (
                (
                    _local(e.at),
                    e.get_subject_display(),
                    e.subject_id,
                    e.action,
                    e.state_from or "—",
                    e.state_to or "—",
                    e.actor or _("system"),
                    json.dumps(e.data, ensure_ascii=False, default=str)[:500],
                )
                for e in entries
            ),
        )
        return format_html(
            "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", header, body
        )

    # --- the actions -------------------------------------------------------------------------

    @admin.action(description=gettext_lazy("Confirm the proposed verdict"), permissions=["judge"])
    def confirm_proposal(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = 0
        for dispute in queryset.select_related("request"):
            try:
                services.dispute_confirm_proposal(dispute=dispute, by=request.user)
            except (DomainError, ValidationError, PermissionDenied) as e:
                self.message_user(request, f"#{dispute.pk}: {_message(e)}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                _("%(n)d dispute(s) judged as proposed.") % {"n": done},
                messages.SUCCESS,
            )

    def get_urls(self):
        return [
            path(
                "<int:pk>/judge/",
                self.admin_site.admin_view(self.judge_view),
                name="disputes_dispute_judge",
            ),
            *super().get_urls(),
        ]

    def judge_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The judgment form: verdict, reason code and written reason, calling dispute_judge."""
        if not self.has_judge_permission(request):
            raise PermissionDenied
        dispute = get_object_or_404(self.get_queryset(request), pk=pk)
        initial = {"verdict": dispute.proposed_verdict, "reason_code": dispute.proposed_reason_code}
        form = JudgmentForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                services.dispute_judge(dispute=dispute, by=request.user, **form.cleaned_data)
            except ValidationError as e:
                form.add_error(None, e)  # its keys are the form's fields
            except DomainError as e:
                self.message_user(request, e.message, messages.ERROR)
            else:
                self.message_user(request, _("The dispute is judged and closed."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:disputes_dispute_change", args=[pk]))
        return TemplateResponse(
            request,
            "admin/disputes/dispute/judge.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": dispute,
                "form": form,
                "title": _("Judge dispute #%(pk)d") % {"pk": dispute.pk},
                "proposal": self.proposal_display(dispute),
            },
        )


class WaiveForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("why the penalties are waived"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        max_length=2000,
        help_text=gettext_lazy("Recorded on each penalty and in its request's history."),
    )


@admin.register(Penalty)
class PenaltyAdmin(FastChangeListMixin, admin.ModelAdmin):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_decide_permission(self, request: HttpRequest, obj=None) -> bool:
        """Arbitrators (with the model's change permission) confirm and waive."""
        return _arbitrator(request) and request.user.has_perm("tickets.change_penalty")

    @admin.display(description=gettext_lazy("recorded by"))
    def source(self, p: Penalty) -> str:
        """The dispute or ticket that recorded it, linked (ids only: no join per row)."""
        if p.dispute_id:
            url = reverse("admin:disputes_dispute_change", args=[p.dispute_id])
            return format_html('<a href="{}">{} #{}</a>', url, _("dispute"), p.dispute_id)
        if p.ticket_id:
            try:
                url = reverse("admin:tickets_urgeticket_change", args=[p.ticket_id])
            except NoReverseMatch:
                return f"{_('ticket')} #{p.ticket_id}"
            return format_html('<a href="{}">{} #{}</a>', url, _("ticket"), p.ticket_id)
        return "—"

    @admin.display(description=gettext_lazy("evidence"))
    def evidence_display(self, p: Penalty) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(p.evidence, ensure_ascii=False, indent=2, default=str)
        )

    def _decide_each(self, request: HttpRequest, queryset: QuerySet, decide, done_message) -> None:
        done = 0
        for penalty in queryset:
            try:
                decide(penalty)
            except (DomainError, ValidationError, PermissionDenied) as e:
                self.message_user(request, f"#{penalty.pk}: {_message(e)}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, done_message % {"n": done}, messages.SUCCESS)

    @admin.action(
        description=gettext_lazy("Confirm the selected penalties"), permissions=["decide"]
    )
    def confirm_penalties(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._decide_each(
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
        form = WaiveForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            note = form.cleaned_data["note"]
            self._decide_each(
                request,
                queryset,
                lambda p: services.penalty_waive(penalty=p, by=request.user, note=note),
                _("%(n)d penalty(ies) waived."),
            )
            return None
        return TemplateResponse(
            request,
            "admin/disputes/penalty/waive.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Waive penalties"),
                "form": form,
                "penalties": queryset,
                "action": "waive_penalties",
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


def _arbitrator(request: HttpRequest) -> bool:
    """is_arbitrator, asked once per request (the actions ask it for every permission check)."""
    cached = getattr(request, "_jdpop_is_arbitrator", None)
    if cached is None:
        cached = is_arbitrator(request.user)
        request._jdpop_is_arbitrator = cached
    return cached


def _table(rows) -> str:
    return format_html(
        "<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
    )


def _message(e: Exception) -> str:
    if isinstance(e, DomainError):
        return e.message
    if isinstance(e, ValidationError):
        return "; ".join(e.messages)
    return str(e) or _("Not allowed.")
