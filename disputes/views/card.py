"""What one dispute shows to one side, and how each side's pages find a dispute."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404, HttpRequest
from django.utils import timezone

from .. import selectors
from ..models import Dispute, Evidence
from ..rules import may_reopen

CONSUMER, MERCHANT = Evidence.Party.CONSUMER, Evidence.Party.MERCHANT


def dispute_card(
    dispute: Dispute,
    *,
    user: AbstractBaseUser,
    side: str,
    now: datetime | None = None,
    with_evidence: bool = True,
) -> dict:
    """What one dispute shows to one side: progress, evidence visible to that side, and which
    of that side's actions are open now (the services check again when they are used)."""
    if not with_evidence:
        evidence, submitted_at = [], None
    else:
        evidence = list(selectors.evidence_for(side, user=user, dispute=dispute))
        submitted_at = selectors.evidence_submitted_at(dispute, side)
    own_drafts = [e for e in evidence if e.party == side and e.is_draft]
    return {
        "d": dispute,
        "side": side,
        "progress": selectors.dispute_progress(dispute),
        "evidence": evidence,
        "own_drafts": own_drafts,
        "evidence_open": dispute.is_open and submitted_at is None,
        "evidence_submitted_at": submitted_at,
        "can_decide": side == CONSUMER and dispute.state == Dispute.State.AWAITING_CONSUMER,
        "can_reopen": side == CONSUMER and may_reopen(dispute),
        "can_answer": side == MERCHANT
        and dispute.state == Dispute.State.AWAITING_MERCHANT
        and dispute.kind == Dispute.Kind.REFUSED,
        "now": now or timezone.now(),
    }


def get_dispute(request: HttpRequest, pk: int, side: str) -> Dispute:
    """The dispute `pk` as `side` may see it, or a 404 (another party's looks like a missing
    one)."""
    try:
        return selectors.dispute_get(side, user=request.user, pk=pk)
    except Dispute.DoesNotExist:
        raise Http404 from None
