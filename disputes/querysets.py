"""Dispute and evidence querysets: the role scoping (`core.scoping`, which fails closed) and
the jobs' and the queue's filters."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce

from core.models import HistoryIsAppendOnly
from core.scoping import ScopedQuerySet


class DisputeQuerySet(ScopedQuerySet):
    """Disputes: `for_merchant(user)` (their shops), `for_consumer(user)` (their own)."""

    def open(self) -> DisputeQuerySet:
        return self.exclude(state="closed")

    def merchant_overdue(self, now: datetime) -> DisputeQuerySet:
        """Awaiting the merchant, strictly past the merchant's deadline."""
        return self.filter(state="awaiting_merchant", merchant_due_at__lt=now)

    def consumer_overdue(self, now: datetime) -> DisputeQuerySet:
        """Awaiting the consumer, strictly past the consumer's deadline."""
        return self.filter(state="awaiting_consumer", consumer_due_at__lt=now)

    def promise_overdue(self, now: datetime) -> DisputeQuerySet:
        """An accepted plan's promise still pending, strictly past the end of its date."""
        return self.filter(promise_state="pending", promise_due_at__lt=now)

    def with_queue_order(self) -> DisputeQuerySet:
        """The arbitrators' queue: awaiting the platform first (longest waiting first), then the
        other open disputes by their deadline (most urgent first), closed ones last."""
        return self.annotate(
            queue_rank=Case(
                When(state="awaiting_platform", then=Value(0)),
                When(state="awaiting_merchant", then=Value(1)),
                When(state="awaiting_consumer", then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            ),
            queue_due=Case(
                When(state="awaiting_platform", then=F("platform_since")),
                When(state="awaiting_merchant", then=F("merchant_due_at")),
                When(state="awaiting_consumer", then=F("consumer_due_at")),
                default=Coalesce(F("closed_at"), F("opened_at")),
                output_field=models.DateTimeField(),
            ),
        ).order_by("queue_rank", "queue_due", "pk")


class EvidenceQuerySet(ScopedQuerySet):
    """Evidence, scoped through its dispute; each side sees its own drafts and everything
    submitted, never the other side's drafts."""

    shop_path = "dispute__shop"
    consumer_path = "dispute__consumer"

    def for_merchant(self, user, *, roles: tuple[str, ...] | None = None) -> EvidenceQuerySet:
        return (
            super()
            .for_merchant(user, roles=roles)
            .filter(Q(party="merchant") | Q(submitted_at__isnull=False))
        )

    def for_consumer(self, user) -> EvidenceQuerySet:
        return (
            super().for_consumer(user).filter(Q(party="consumer") | Q(submitted_at__isnull=False))
        )

    def drafts(self) -> EvidenceQuerySet:
        return self.filter(submitted_at__isnull=True)

    def delete(self):
        """Only drafts may go (submitted evidence is append-only; in SQL too: a trigger)."""
        if self.filter(submitted_at__isnull=False).exists():
            raise HistoryIsAppendOnly
        return super().delete()

    def submitted(self) -> EvidenceQuerySet:
        return self.filter(submitted_at__isnull=False)
