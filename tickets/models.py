"""Urge-invoice tickets (催开票工单, spec 4) and the merchant's replies to them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import AppendOnlyModel, AppendOnlyQuerySet, Shop
from core.scoping import ScopedQuerySet
from invoices.models import InvoiceRequest


class TicketQuerySet(ScopedQuerySet):
    consumer_path = "request__consumer"


class ReplyQuerySet(AppendOnlyQuerySet):
    """Replies are evidence: append-only (and so in SQL: a trigger)."""

    shop_path = "ticket__shop"
    consumer_path = "ticket__request__consumer"


class UrgeTicket(models.Model):
    """At most one per invoice request, ever (a re-issue is a new request with its own).

    Its deadlines are stored columns so the jobs find what is due by index, not by arithmetic.
    """

    class State(models.TextChoices):
        AWAITING_REPLY = "awaiting_reply", _("awaiting reply")
        ANSWERED = "answered", _("answered")
        BREACHED = "breached", _("breached")
        # The order was cancelled or returned, so its request was cancelled: nothing is owed.
        CLOSED = "closed", _("closed (order cancelled or returned)")

    class Sla(models.TextChoices):
        NONE = "", _("not yet known")
        MET = "met", _("answered in time")
        LATE = "late", _("answered late")
        MISSED = "missed", _("no answer in time")

    class Resolution(models.TextChoices):
        ISSUED = "issued", _("已开发票 invoice issued")
        NO_INVOICE_NEEDED = "no_invoice_needed", _("已协商无需开票 agreed no invoice is needed")
        CANNOT_ISSUE = "cannot_issue", _("已协商无法开票 agreed it cannot be issued")
        DATE_AGREED = "date_agreed", _("已协商开票时间 agreed an issue date")

    class PromiseState(models.TextChoices):
        NONE = "", _("no promise")
        PENDING = "pending", _("promised")
        KEPT = "kept", _("kept")
        BROKEN = "broken", _("broken (承诺不履约)")

    class OpenedVia(models.TextChoices):
        JOB = "job", _("overdue job")
        CONSUMER = "consumer", _("consumer's urge")

    request = models.OneToOneField(
        InvoiceRequest,
        on_delete=models.PROTECT,
        related_name="urge_ticket",
        verbose_name=_("invoice request"),
    )
    # Denormalised from the request so the merchant's workbench and the jobs scan one table.
    # Indexed by the (shop, ...) indexes below; a plain foreign-key index would be one more
    # index to write per ticket for nothing.
    shop = models.ForeignKey(
        Shop,
        on_delete=models.PROTECT,
        related_name="urge_tickets",
        verbose_name=_("shop"),
        db_index=False,
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.AWAITING_REPLY
    )
    opened_at = models.DateTimeField(_("opened at"))
    opened_via = models.CharField(_("opened by"), max_length=16, choices=OpenedVia.choices)
    reply_due_at = models.DateTimeField(_("reply due at"))
    urge_count = models.PositiveIntegerField(_("urges"), default=0)
    last_urged_at = models.DateTimeField(_("last urged at"), null=True, blank=True)
    # Recorded once, by a conditional update on sla="", and never cleared.
    sla = models.CharField(_("SLA"), max_length=8, choices=Sla.choices, default="", blank=True)
    sla_at = models.DateTimeField(_("SLA recorded at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    # The resolution of the latest reply (each reply is also kept as a TicketReply).
    resolution = models.CharField(
        _("resolution"), max_length=20, choices=Resolution.choices, blank=True
    )
    resolution_note = models.TextField(_("note"), blank=True)
    promised_date = models.DateField(_("promised issue date"), null=True, blank=True)
    # The end of the promised date in China time: the promise is broken when this passes.
    promise_due_at = models.DateTimeField(_("promise due at"), null=True, blank=True)
    promise_state = models.CharField(
        _("promise"), max_length=8, choices=PromiseState.choices, default="", blank=True
    )
    promise_broken_at = models.DateTimeField(_("promise broken at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        verbose_name = _("urge ticket")
        verbose_name_plural = _("urge tickets")
        ordering = ["reply_due_at", "id"]
        indexes = [
            # flag_missed_replies and the workbench: open tickets by deadline.
            models.Index(
                fields=["reply_due_at"],
                name="ticket_awaiting_due_idx",
                condition=Q(state="awaiting_reply"),
            ),
            models.Index(
                fields=["shop", "reply_due_at"],
                name="ticket_shop_awaiting_idx",
                condition=Q(state="awaiting_reply"),
            ),
            # flag_broken_promises: promises still pending by their end.
            models.Index(
                fields=["promise_due_at"],
                name="ticket_promise_due_idx",
                condition=Q(promise_state="pending"),
            ),
            # A shop's tickets by opening; with the SLA, the dashboard's monthly figures read
            # it index-only (issue 14).
            models.Index(
                fields=["shop", "-opened_at"], include=["sla"], name="ticket_perf_shop_opened_idx"
            ),
            # The admin's list filtered by state, newest first: a rare state (breached) would
            # otherwise walk every ticket by the primary key to find a page (issue 14).
            models.Index(fields=["state", "-id"], name="ticket_perf_state_idx"),
            # The workbench's page keys, index-only (core.pages' deferred join): its order is
            # computed from the state and the deadline (issue 14).
            models.Index(
                fields=["shop", "state", "reply_due_at", "id"], name="ticket_perf_shop_list_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["awaiting_reply", "answered", "breached", "closed"]),
                name="ticket_state_valid",
            ),
            models.CheckConstraint(
                condition=~Q(state="closed") | Q(closed_at__isnull=False),
                name="ticket_closed_has_time",
            ),
            models.CheckConstraint(
                condition=Q(sla__in=["", "met", "late", "missed"]), name="ticket_sla_valid"
            ),
            models.CheckConstraint(
                condition=~Q(state="breached") | Q(sla="missed"), name="ticket_breached_missed"
            ),
            models.CheckConstraint(
                condition=~Q(state="answered") | Q(answered_at__isnull=False),
                name="ticket_answered_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(resolution="date_agreed") | Q(promised_date__isnull=False),
                name="ticket_date_agreed_has_date",
            ),
            models.CheckConstraint(
                condition=Q(promise_state="") | Q(promise_due_at__isnull=False),
                name="ticket_promise_has_due",
            ),
        ]

    def __str__(self) -> str:
        return _("Urge ticket #%(id)s, %(state)s") % {
            "id": self.pk,
            "state": self.get_state_display(),
        }


class TicketReply(AppendOnlyModel):
    """One reply of the merchant: final once sent; a correction is a new, dated reply."""

    ticket = models.ForeignKey(
        UrgeTicket, on_delete=models.PROTECT, related_name="replies", verbose_name=_("ticket")
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("sent at"))
    resolution = models.CharField(
        _("resolution"), max_length=20, choices=UrgeTicket.Resolution.choices
    )
    note = models.TextField(_("note"), blank=True)
    promised_date = models.DateField(_("promised issue date"), null=True, blank=True)
    attachment = models.FileField(_("attachment"), upload_to="tickets/%Y/%m/", blank=True)
    late = models.BooleanField(_("late"), default=False)

    objects = ReplyQuerySet.as_manager()

    class Meta:
        verbose_name = _("ticket reply")
        verbose_name_plural = _("ticket replies")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at"], name="reply_ticket_at_idx")]

    def __str__(self) -> str:
        return _("Reply to urge ticket #%(ticket)s: %(resolution)s") % {
            "ticket": self.ticket_id,
            "resolution": self.get_resolution_display(),
        }
