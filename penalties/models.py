"""Penalties (处罚, spec 8): violations recorded against a shop, whatever app found them (a
ticket job, a dispute's deadline or judgment, an arbitrator), then confirmed or waived by an
arbitrator. This app stands above tickets and disputes: its foreign keys point down to both."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.scoping import ScopedQuerySet


class PenaltyQuerySet(ScopedQuerySet):
    consumer_path = None  # a matter between the shop and the platform


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
        "core.Shop",
        on_delete=models.PROTECT,
        related_name="penalties",
        verbose_name=_("shop"),
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    ticket = models.ForeignKey(
        "tickets.UrgeTicket",
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
    evidence = models.JSONField(_("evidence"), default=dict, blank=True, encoder=DjangoJSONEncoder)
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

    objects = PenaltyQuerySet.as_manager()

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
        return _("Penalty #%(id)s: %(kind)s, %(state)s") % {
            "id": self.pk,
            "kind": self.get_kind_display(),
            "state": self.get_state_display(),
        }
