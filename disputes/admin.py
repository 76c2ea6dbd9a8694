"""The arbitrators' dispute queue (spec 1, 5).

Everything on a dispute is read-only here: it changes only through the services, called by the
action ("confirm the proposed verdict") and the judgment form. Awaiting-platform disputes come
first, then the others by their deadline. The list stays fast on big tables
(`core.changelist`). The admin site lets only arbitrators in (jdpop.admin); the actions check
it again through the services. (The penalties app adds the dispute's penalties to its page.)
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin_mixins import (
    ReadOnly,
    ReadOnlyInline,
    act_on_each,
    history_table,
)
from core.changelist import FastChangeListMixin, ShopInputFilter
from core.clock import SECONDS, china_time
from core.errors import DomainError
from core.roles import is_arbitrator
from invoices.matching import side_by_side
from invoices.models import InvoiceRequest

from . import services
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
    return china_time(dt, SECONDS)


def _admin_link(obj, label: str) -> str:
    try:
        url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return label
    return format_html('<a href="{}">{}</a>', url, label)


class EvidenceInline(ReadOnlyInline):
    """The submitted evidence of both sides (drafts are the parties' own until submitted)."""

    model = Evidence
    fields = ["party", "author", "text", "file", "created_at", "submitted_at"]
    verbose_name_plural = gettext_lazy("submitted evidence")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).submitted().select_related("author")


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
class DisputeAdmin(ReadOnly, FastChangeListMixin, admin.ModelAdmin):
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
    list_filter = ["state", "kind", "proposed_verdict", "promise_state", "old_flow"]
    list_filter += [ShopInputFilter]
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
    inlines = [EvidenceInline]
    fieldsets = [
        (
            gettext_lazy("Progress"),
            {"fields": ["kind", "state", "whose_move_display", "deadline_display", "judge_link"]},
        ),
        (
            gettext_lazy("The request and its ticket"),
            {
                "fields": [
                    "request_summary",
                    "invoice_check_summary",
                    "ticket_summary",
                    "shop",
                    "consumer",
                    "complaint",
                ]
            },
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
                    "promise_due_at",
                    "promise_state",
                    "promise_broken_at",
                    "reopened_at",
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

    def has_judge_permission(self, request: HttpRequest, obj=None) -> bool:
        """Arbitrators (with the model's change permission) judge."""
        return is_arbitrator(request.user) and request.user.has_perm("disputes.change_dispute")

    # --- the queue ---------------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Annotate before ordering by the annotation (ModelAdmin.get_queryset orders first).
        return Dispute.objects.for_arbitrator(request.user).with_queue_order()

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

    @admin.display(description=gettext_lazy("the invoice read back"))
    def invoice_check_summary(self, d: Dispute) -> str:
        return invoice_check_panel(d.request)

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
        return history_table(d.request_id, shop_name=d.shop.name)

    # --- the actions -------------------------------------------------------------------------

    @admin.action(description=gettext_lazy("Confirm the proposed verdict"), permissions=["judge"])
    def confirm_proposal(self, request: HttpRequest, queryset: QuerySet) -> None:
        act_on_each(
            self,
            request,
            queryset.select_related("request"),
            lambda d: services.dispute_confirm_proposal(dispute=d, by=request.user),
            _("%(n)d dispute(s) judged as proposed."),
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
                "invoice_check": invoice_check_panel(dispute.request),
            },
        )


def _table(rows) -> str:
    return format_html(
        "<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
    )


# The admin has no stylesheet of ours: a mismatching row is tinted in place (and says so).
_MISMATCH_STYLE = format_html(' style="{}"', "background:#fde2e2")


def invoice_check_panel(r: InvoiceRequest) -> str:
    """Whether the request's invoice was read back and matched (spec 11), and what was read
    beside what the request asks, field by field; a difference is marked in words and by its
    row's class (`mismatch`), not by colour alone."""
    if r.state != InvoiceRequest.State.ISSUED:
        return "—"
    if r.invoice_check == InvoiceRequest.Check.VERIFIED:
        verdict = format_html(
            '<p class="invoice-check c-verified"><strong>✓ {}</strong></p>',
            _("verified: read back and matched"),
        )
    else:
        why = (
            _("The file could not be read back: look at the invoice itself.")
            if r.invoice_check == InvoiceRequest.Check.UNREADABLE
            else _("Issued before invoices were read back: look at the invoice itself.")
        )
        verdict = format_html(
            '<p class="invoice-check c-{}"><strong>⚠ {}</strong> {}</p>',
            r.invoice_check or "unchecked",
            _("not machine-checked"),
            why,
        )
    rows = side_by_side(r)
    if not rows:
        return verdict
    marks = {
        True: ("match", "✓ " + _("matches")),
        False: ("mismatch", "✗ " + _("does not match")),
        None: ("not-compared", "— " + _("not compared")),
    }
    body = format_html_join(
        "",
        '<tr class="{}"{}><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>',
        (
            (
                marks[row.ok][0],
                _MISMATCH_STYLE if row.ok is False else "",
                row.label,
                row.read or "—",
                row.expected or "—",
                format_html("<strong>{}</strong>", marks[row.ok][1])
                if row.ok is False
                else marks[row.ok][1],
            )
            for row in rows
        ),
    )
    return format_html(
        '{}<table class="invoice-read"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th>'
        "</tr></thead><tbody>{}</tbody></table>",
        verdict,
        _("field"),
        _("read from the invoice"),
        _("the request asks"),
        _("check"),
        body,
    )
