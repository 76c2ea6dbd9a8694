"""Urge-invoice tickets (催开票工单, spec 4), the penalties they record (spec 8), the outbox of
messages that must go out, and the record of every job run."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from invoices.models import InvoiceRequest, Shop


class UrgeTicket(models.Model):
    """At most one per invoice request, ever (a re-issue is a new request with its own).

    Its deadlines are stored columns so the jobs find what is due by index, not by arithmetic.
    """

    class State(models.TextChoices):
        AWAITING_REPLY = "awaiting_reply", _("awaiting reply")
        ANSWERED = "answered", _("answered")
        BREACHED = "breached", _("breached")

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
            models.Index(fields=["shop", "-opened_at"], name="ticket_shop_opened_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["awaiting_reply", "answered", "breached"]),
                name="ticket_state_valid",
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
        return f"#{self.pk} → {self.request_id} {self.state}"


class TicketReply(models.Model):
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

    class Meta:
        verbose_name = _("ticket reply")
        verbose_name_plural = _("ticket replies")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at"], name="reply_ticket_at_idx")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.resolution} {self.at:%Y-%m-%d %H:%M}"


class Penalty(models.Model):
    """A violation record against a shop (spec 8), proposed by the system and then confirmed or
    waived by an arbitrator. At most one per source (ticket or dispute) and kind."""

    class Kind(models.TextChoices):
        NO_REPLY = "no_reply", _("no reply in time")
        LATE_REPLY = "late_reply", _("late reply")
        BROKEN_PROMISE = "broken_promise", _("broken promise (承诺不履约)")
        DISPUTE_NO_ANSWER = "dispute_no_answer", _("dispute not answered in time")
        DISPUTE_LIABLE = "dispute_liable", _("judged liable in a dispute")
        FALSE_REPLY = "false_reply", _("false reply (乱填), found by an arbitrator")

    class State(models.TextChoices):
        PROPOSED = "proposed", _("proposed")
        CONFIRMED = "confirmed", _("confirmed")
        WAIVED = "waived", _("waived")

    shop = models.ForeignKey(  # indexed by penalty_shop_at_idx
        Shop,
        on_delete=models.PROTECT,
        related_name="penalties",
        verbose_name=_("shop"),
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    ticket = models.ForeignKey(
        UrgeTicket,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="penalties",
        verbose_name=_("ticket"),
    )
    dispute = models.ForeignKey(
        "disputes.Dispute",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="penalties",
        verbose_name=_("dispute"),
    )
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.PROPOSED
    )
    at = models.DateTimeField(_("recorded at"), default=timezone.now)
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        verbose_name = _("penalty")
        verbose_name_plural = _("penalties")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["shop", "at"], name="penalty_shop_at_idx"),
            models.Index(fields=["state", "-at"], name="penalty_state_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "kind"],
                condition=Q(ticket__isnull=False),
                name="penalty_once_per_ticket_kind",
            ),
            models.UniqueConstraint(
                fields=["dispute", "kind"],
                condition=Q(dispute__isnull=False),
                name="penalty_once_per_dispute_kind",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["proposed", "confirmed", "waived"]),
                name="penalty_state_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shop_id} {self.kind} {self.state}"


class OutboxMessage(models.Model):
    """A message that must go out, written in the transaction of the change that causes it and
    sent later by `drain_outbox`; `key` makes each message exist at most once."""

    key = models.CharField(_("key"), max_length=120, unique=True)
    kind = models.CharField(_("kind"), max_length=40)
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id"], name="outbox_unsent_idx", condition=Q(sent_at__isnull=True))
        ]

    def __str__(self) -> str:
        return self.key


class JobRun(models.Model):
    """One run of a scheduled job: when, for which "now", what it did, or how it failed."""

    name = models.CharField(_("job"), max_length=60)
    as_of = models.DateTimeField(_("as of"))
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    ok = models.BooleanField(_("succeeded"), null=True)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(
                fields=["name", "-finished_at"], name="jobrun_last_ok_idx", condition=Q(ok=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.started_at:%Y-%m-%d %H:%M:%S}"
