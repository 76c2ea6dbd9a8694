"""Invoice disputes (纠纷, spec 5): the dispute, its state machine, plans and evidence.

A dispute hangs off one invoice request. An urge dispute reaches its urge ticket through the
request (`request.urge_ticket`), so this app needs no foreign key into `tickets`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import HistoryIsAppendOnly

from .plans import Plan
from .querysets import DisputeQuerySet, EvidenceQuerySet

User = settings.AUTH_USER_MODEL
# The reverse name of the tickets app's UrgeTicket.request one-to-one.
URGE_TICKET_RELATED_NAME = "urge_ticket"


class Dispute(models.Model):
    """A consumer's complaint about an invoice request (纠纷单) that the platform may judge.

    State machine (transitions are data, see TRANSITIONS):

    awaiting_merchant --settlement plan--> awaiting_consumer --accept / lapse--> closed
            |                                     |
            +--evidence plan / lapse--+   reject--+
                                      v           v
                               awaiting_platform --judgment--> closed

    Urge disputes and old-flow disputes open straight in awaiting_platform. A settled plan
    with a date (另行约定开票日期) is a promise (`rules.py`): broken, the consumer may reopen the
    closed dispute to the platform, once.
    """

    class Kind(models.TextChoices):
        REFUSED = "refused", _("refused-invoice dispute (拒绝开票纠纷)")
        URGE = "urge", _("urge dispute (催开票纠纷)")

    class State(models.TextChoices):
        AWAITING_MERCHANT = "awaiting_merchant", _("awaiting the merchant's answer")
        AWAITING_CONSUMER = "awaiting_consumer", _("awaiting the consumer's decision")
        AWAITING_PLATFORM = "awaiting_platform", _("awaiting the platform's judgment")
        CLOSED = "closed", _("closed")

    TERMINAL_STATE = State.CLOSED
    OPEN_STATES = (State.AWAITING_MERCHANT, State.AWAITING_CONSUMER, State.AWAITING_PLATFORM)

    # action -> (states it may start from, state it leads to). Written once; services and the
    # admin read it, tests walk it.
    TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
        "settlement_proposed": ((State.AWAITING_MERCHANT,), State.AWAITING_CONSUMER),
        "sent_to_platform": ((State.AWAITING_MERCHANT,), State.AWAITING_PLATFORM),
        "merchant_timed_out": ((State.AWAITING_MERCHANT,), State.AWAITING_PLATFORM),
        "settlement_accepted": ((State.AWAITING_CONSUMER,), State.CLOSED),
        "settlement_deemed_accepted": ((State.AWAITING_CONSUMER,), State.CLOSED),
        "settlement_rejected": ((State.AWAITING_CONSUMER,), State.AWAITING_PLATFORM),
        "judged": ((State.AWAITING_PLATFORM,), State.CLOSED),
        "withdrawn": (OPEN_STATES, State.CLOSED),
        # The one way out of closed: a settled plan's promised date passed without an invoice
        # (promise_state broken) and the consumer sends the dispute to the platform.
        "reopened": ((State.CLOSED,), State.AWAITING_PLATFORM),
    }

    class Outcome(models.TextChoices):
        SETTLED = "settled", _("settled: the consumer accepted the plan")
        SETTLED_BY_LAPSE = "settled_by_lapse", _("settled: the consumer did not answer in time")
        JUDGED = "judged", _("judged by the platform")
        WITHDRAWN = "withdrawn", _("withdrawn by the consumer")

    class Verdict(models.TextChoices):
        LIABLE = "liable", _("merchant liable")
        NOT_LIABLE = "not_liable", _("merchant not liable")
        NEEDS_PERSON = "needs_person", _("needs an arbitrator's judgment")

    JUDGMENT_VERDICTS = (Verdict.LIABLE, Verdict.NOT_LIABLE)

    class ReasonCode(models.TextChoices):
        NO_REPLY = "no_reply", _("the merchant did not answer within the window")
        LATE_REPLY = "late_reply", _("the merchant answered after the window")
        BROKEN_PROMISE = "broken_promise", _("the agreed issue date passed without an invoice")
        ISSUED_IN_TIME = "issued_in_time", _("the invoice was uploaded within the window")
        UNVERIFIED_INVOICE = (
            "unverified_invoice",
            _("the invoice was uploaded within the window, but not machine-checked"),
        )
        FALSE_REPLY = "false_reply", _("the merchant's answer was not true")
        REFUSAL_UNJUSTIFIED = "refusal_unjustified", _("the refusal had no valid ground")
        REFUSAL_JUSTIFIED = "refusal_justified", _("the refusal had a valid ground")
        CONSUMER_AGREED = "consumer_agreed", _("the evidence shows the consumer agreed")
        CONTESTED = "contested", _("the merchant's answer is contested")
        OTHER = "other", _("other (see the written reason)")

    class PromiseState(models.TextChoices):
        """The promise of an accepted 另行约定开票日期 plan (as an urge ticket's, spec 4.5)."""

        NONE = "", _("no promise")
        PENDING = "pending", _("promised")
        KEPT = "kept", _("kept")
        BROKEN = "broken", _("broken (承诺不履约)")

    class Whose(models.TextChoices):
        MERCHANT = "merchant", _("merchant")
        CONSUMER = "consumer", _("consumer")
        PLATFORM = "platform", _("platform")
        NONE = "none", _("nobody (closed)")

    request = models.ForeignKey(
        "invoices.InvoiceRequest",
        on_delete=models.PROTECT,
        related_name="disputes",
        verbose_name=_("invoice request"),
    )
    # shop and consumer repeat the request's so that scoping and the queue need no join.
    shop = models.ForeignKey(
        "core.Shop", on_delete=models.PROTECT, related_name="disputes", verbose_name=_("shop")
    )
    consumer = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="disputes", verbose_name=_("consumer")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=24, choices=State.choices)
    old_flow = models.BooleanField(
        _("old flow"), default=False, help_text=_("opened while the shop was on the old flow")
    )
    complaint = models.TextField(_("complaint"))
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)

    merchant_due_at = models.DateTimeField(_("merchant's deadline"), null=True, blank=True)
    plan = models.CharField(_("plan"), max_length=24, choices=Plan.choices, blank=True)
    plan_date = models.DateField(_("agreed issue date"), null=True, blank=True)
    plan_note = models.TextField(_("merchant's note"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("answered by"),
    )

    # The end of plan_date in China time (set with the plan): the promise is broken from here.
    promise_due_at = models.DateTimeField(_("promise due at"), null=True, blank=True)
    # Pending once the consumer accepts the plan (or lets the window lapse), then kept or broken.
    promise_state = models.CharField(
        _("promise"), max_length=8, choices=PromiseState.choices, default="", blank=True
    )
    promise_broken_at = models.DateTimeField(_("promise broken at"), null=True, blank=True)
    reopened_at = models.DateTimeField(_("reopened at"), null=True, blank=True)

    consumer_due_at = models.DateTimeField(_("consumer's deadline"), null=True, blank=True)
    consumer_note = models.TextField(_("consumer's note"), blank=True)
    consumer_decided_at = models.DateTimeField(_("consumer decided at"), null=True, blank=True)

    platform_since = models.DateTimeField(_("with the platform since"), null=True, blank=True)
    proposed_verdict = models.CharField(
        _("proposed verdict"), max_length=16, choices=Verdict.choices, blank=True
    )
    proposed_reason_code = models.CharField(
        _("proposed reason"), max_length=24, choices=ReasonCode.choices, blank=True
    )
    verdict = models.CharField(_("verdict"), max_length=16, choices=Verdict.choices, blank=True)
    reason_code = models.CharField(
        _("reason code"), max_length=24, choices=ReasonCode.choices, blank=True
    )
    reason = models.TextField(_("written reason"), blank=True)
    judged_at = models.DateTimeField(_("judged at"), null=True, blank=True)
    judged_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("judged by"),
        help_text=_("empty when the system judged a clear case"),
    )

    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    merchant_evidence_submitted_at = models.DateTimeField(
        _("merchant's evidence submitted at"), null=True, blank=True
    )
    consumer_evidence_submitted_at = models.DateTimeField(
        _("consumer's evidence submitted at"), null=True, blank=True
    )

    objects = DisputeQuerySet.as_manager()

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(
                fields=["merchant_due_at"],
                name="dispute_merchant_due_idx",
                condition=Q(state="awaiting_merchant"),
            ),
            models.Index(
                fields=["consumer_due_at"],
                name="dispute_consumer_due_idx",
                condition=Q(state="awaiting_consumer"),
            ),
            models.Index(fields=["state", "platform_since"], name="dispute_queue_idx"),
            # the deadline job: accepted promises still pending, by their end.
            models.Index(
                fields=["promise_due_at"],
                name="dispute_promise_due_idx",
                condition=Q(promise_state="pending"),
            ),
            models.Index(fields=["shop", "state"], name="dispute_shop_state_idx"),
            models.Index(fields=["consumer", "-opened_at"], name="dispute_consumer_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    state__in=[
                        "awaiting_merchant",
                        "awaiting_consumer",
                        "awaiting_platform",
                        "closed",
                    ]
                ),
                name="dispute_state_valid",
            ),
            models.CheckConstraint(condition=Q(kind__in=["refused", "urge"]), name="dispute_kind"),
            # Spec 5: at most one open dispute per request and kind, whatever races.
            models.UniqueConstraint(
                fields=["request", "kind"],
                condition=~Q(state="closed"),
                name="dispute_one_open_per_request_kind",
            ),
            models.CheckConstraint(
                condition=~Q(state="awaiting_merchant") | Q(merchant_due_at__isnull=False),
                name="dispute_merchant_has_deadline",
            ),
            models.CheckConstraint(
                condition=~Q(state="awaiting_consumer")
                | (Q(consumer_due_at__isnull=False) & Q(plan__in=Plan.settlement_values())),
                name="dispute_consumer_has_deadline_and_plan",
            ),
            models.CheckConstraint(
                condition=(Q(state="closed") & Q(closed_at__isnull=False) & ~Q(outcome=""))
                | (~Q(state="closed") & Q(closed_at__isnull=True) & Q(outcome="")),
                name="dispute_closed_iff_outcome",
            ),
            models.CheckConstraint(
                condition=~Q(outcome="judged")
                | (Q(verdict__in=["liable", "not_liable"]) & ~Q(reason_code="") & ~Q(reason="")),
                name="dispute_judged_has_verdict_and_reason",
            ),
            models.CheckConstraint(
                condition=Q(verdict__in=["", "liable", "not_liable"]),
                name="dispute_verdict_valid",
            ),
            models.CheckConstraint(
                condition=~Q(plan="another_date") | Q(plan_date__isnull=False),
                name="dispute_another_date_has_date",
            ),
            models.CheckConstraint(
                condition=Q(kind="refused") | Q(plan=""), name="dispute_urge_has_no_plan"
            ),
            models.CheckConstraint(
                condition=Q(promise_state__in=["", "pending", "kept", "broken"]),
                name="dispute_promise_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(promise_state="")
                | (Q(plan="another_date") & Q(promise_due_at__isnull=False)),
                name="dispute_promise_has_date",
            ),
        ]

    def __str__(self) -> str:
        return _("Dispute #%(id)s, %(kind)s, %(state)s") % {
            "id": self.pk,
            "kind": self.get_kind_display(),
            "state": self.get_state_display(),
        }

    @property
    def is_open(self) -> bool:
        return self.state != self.TERMINAL_STATE

    @property
    def whose_move(self) -> str:
        """Who must act next (spec 5: every dispute shows whose move it is)."""
        return {
            self.State.AWAITING_MERCHANT: self.Whose.MERCHANT,
            self.State.AWAITING_CONSUMER: self.Whose.CONSUMER,
            self.State.AWAITING_PLATFORM: self.Whose.PLATFORM,
        }.get(self.state, self.Whose.NONE)

    @property
    def deadline(self) -> datetime | None:
        """The deadline in force: the merchant's or the consumer's; the platform has none."""
        if self.state == self.State.AWAITING_MERCHANT:
            return self.merchant_due_at
        if self.state == self.State.AWAITING_CONSUMER:
            return self.consumer_due_at
        return None

    @property
    def ticket(self):
        """The urge ticket of the disputed request, if it has one."""
        return urge_ticket_of(self.request)


def urge_ticket_of(request) -> Any | None:
    """A request's urge ticket (the tickets app's one-to-one), or None if it has none."""
    return getattr(request, URGE_TICKET_RELATED_NAME, None)


class Evidence(models.Model):
    """One piece of evidence (text and/or a file) from one side of a dispute.

    Staged as a draft (submitted_at empty), which its side may add or remove, then submitted
    once together with the side's other drafts; submitted evidence is never changed.
    """

    class Party(models.TextChoices):
        MERCHANT = "merchant", _("merchant")
        CONSUMER = "consumer", _("consumer")

    dispute = models.ForeignKey(
        Dispute, on_delete=models.PROTECT, related_name="evidence", verbose_name=_("dispute")
    )
    party = models.CharField(_("side"), max_length=16, choices=Party.choices)
    author = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    text = models.TextField(_("text"), blank=True)
    file = models.FileField(_("file"), upload_to="disputes/%Y/%m/", blank=True)
    file_name = models.CharField(_("file name"), max_length=200, blank=True)
    content_type = models.CharField(_("file type"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("added at"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)

    objects = EvidenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["dispute", "party"], name="evidence_dispute_party_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(party__in=["merchant", "consumer"]), name="evidence_party_valid"
            ),
            models.CheckConstraint(
                condition=~Q(text="") | ~Q(file=""), name="evidence_has_text_or_file"
            ),
        ]

    def __str__(self) -> str:
        return _("Evidence #%(id)s of the %(party)s, dispute #%(dispute)s") % {
            "id": self.pk,
            "party": self.get_party_display(),
            "dispute": self.dispute_id,
        }

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:  # drafts are submitted by a queryset update, never saved
            raise HistoryIsAppendOnly
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.submitted_at is not None:
            raise HistoryIsAppendOnly
        return super().delete(*args, **kwargs)

    @property
    def is_draft(self) -> bool:
        return self.submitted_at is None
