"""Reads of disputes for the consumer's and the merchant's pages (spec 5, 9).

Every read goes through the role querysets (`for_consumer` / `for_merchant`), so another
consumer's or another shop's dispute is simply not found: `Dispute.DoesNotExist`, which the
pages turn into a 404, the same as a dispute that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from core.clock import in_china
from invoices.models import InvoiceRequest

from .models import Dispute, Evidence
from .services.opening import dispute_opening_problem

User = AbstractBaseUser | AnonymousUser
_RELATED = ("request__order", "shop", "consumer")


def disputes_for_consumer(*, user: User) -> QuerySet[Dispute]:
    """The consumer's own disputes, newest first."""
    return Dispute.objects.for_consumer(user).select_related(*_RELATED).order_by("-opened_at")


def disputes_for_merchant(*, user: User, open_only: bool = False) -> QuerySet[Dispute]:
    """The disputes of the shops `user` works for: open ones by their deadline (most urgent
    first), then the closed ones."""
    qs = Dispute.objects.for_merchant(user).select_related(*_RELATED)
    if open_only:
        qs = qs.open()
    return qs.with_queue_order()


def dispute_get_for_consumer(*, user: User, pk: int) -> Dispute:
    """One of the consumer's own disputes; `Dispute.DoesNotExist` for anyone else's."""
    return disputes_for_consumer(user=user).get(pk=pk)


def dispute_get_for_merchant(*, user: User, pk: int) -> Dispute:
    """A dispute of one of `user`'s shops; `Dispute.DoesNotExist` for another shop's."""
    return Dispute.objects.for_merchant(user).select_related(*_RELATED).get(pk=pk)


def dispute_get(side: str, *, user: User, pk: int) -> Dispute:
    """A dispute as `side` ("consumer" or "merchant") may see it; DoesNotExist otherwise."""
    if side == Evidence.Party.CONSUMER:
        return dispute_get_for_consumer(user=user, pk=pk)
    return dispute_get_for_merchant(user=user, pk=pk)


def evidence_for(side: str, *, user: User, dispute: Dispute) -> QuerySet[Evidence]:
    """The dispute's evidence that `side` may see (see the two functions below)."""
    if side == Evidence.Party.CONSUMER:
        return evidence_for_consumer(user=user, dispute=dispute)
    return evidence_for_merchant(user=user, dispute=dispute)


def evidence_submitted_at(dispute: Dispute, side: str) -> datetime | None:
    """When `side` submitted its evidence, or None while it may still add some."""
    if side == Evidence.Party.CONSUMER:
        return dispute.consumer_evidence_submitted_at
    return dispute.merchant_evidence_submitted_at


def evidence_for_consumer(*, user: User, dispute: Dispute) -> QuerySet[Evidence]:
    """What the consumer may see of a dispute's evidence: their own drafts and everything
    submitted by either side."""
    return Evidence.objects.for_consumer(user).filter(dispute=dispute).select_related("author")


def evidence_for_merchant(*, user: User, dispute: Dispute) -> QuerySet[Evidence]:
    """What the shop's staff may see: the shop's drafts and everything submitted."""
    return Evidence.objects.for_merchant(user).filter(dispute=dispute).select_related("author")


def dispute_kinds_open_to(
    *, user: User, request: InvoiceRequest, now: datetime | None = None
) -> list[str]:
    """The kinds of dispute the consumer may open on their request now (the dispute button
    shows only when this is not empty)."""
    if not user.is_authenticated or request.consumer_id != user.pk:
        return []
    return [
        kind
        for kind in Dispute.Kind.values
        if dispute_opening_problem(request=request, kind=kind, now=now) is None
    ]


@dataclass(frozen=True)
class Progress:
    """What both sides see of a dispute (spec 5): its state, whose move, the deadline in force
    (China time) and, once judged, the verdict and the written reason."""

    state: str
    state_label: str
    whose_move: str
    whose_move_label: str
    deadline: datetime | None
    verdict_label: str
    reason_code_label: str
    reason: str


def dispute_progress(dispute: Dispute) -> Progress:
    """The dispute's progress as both sides see it (deadline in China time)."""
    deadline = dispute.deadline
    return Progress(
        state=dispute.state,
        state_label=str(dispute.get_state_display()),
        whose_move=dispute.whose_move,
        whose_move_label=str(Dispute.Whose(dispute.whose_move).label),
        deadline=in_china(deadline) if deadline else None,
        verdict_label=str(dispute.get_verdict_display()) if dispute.verdict else "",
        reason_code_label=str(dispute.get_reason_code_display()) if dispute.reason_code else "",
        reason=dispute.reason,
    )
