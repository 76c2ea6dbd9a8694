"""The platform's judgment (spec 5): confirm the system's proposal, or override it with a reason.

A judged dispute is closed with a verdict, a reason code and a written reason both sides read.
The `dispute_judged` signal goes out in the transaction of the awaiting_platform -> closed
transition, which only one caller can win; the penalties app records a merchant-liable
judgment's penalty from it, exactly once (its unique (dispute, kind) key backs that up).

The automatic judge (JDPOP_AUTO_JUDGE_CLEAR_CASES, `by=None`) never clears a case that rests
on an unverified invoice (spec 11): such a case is proposed "needs a person" in the first place
(`verdicts.py`), and `judge_in_transaction` declines it again, whatever proposal it is handed.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict
from core.roles import require_arbitrator
from core.text import text_field

from ..models import Dispute
from ..signals import dispute_judged
from ..verdicts import propose_dispute_verdict, rests_on_unverified_invoice
from ._common import dispute_history, transition

REASON_MAX = 2000


def judge_in_transaction(
    dispute: Dispute,
    *,
    by: AbstractBaseUser | None,
    verdict: str,
    reason_code: str,
    reason: str,
    at: datetime,
    data: dict | None = None,
) -> Dispute:
    """Close an awaiting-platform dispute with a judgment (and its penalty); no permission
    check, so only for callers that did theirs (or the system's auto-judgment, by=None).

    The system (by=None) does not clear the merchant of a dispute that rests on an unverified
    invoice: the dispute is returned as it is, still awaiting a person."""
    if by is None and not may_clear_automatically(dispute, verdict):
        return dispute
    if not reason:
        reason = _("Confirmed the proposed verdict: %(reason)s.") % {
            "reason": Dispute.ReasonCode(reason_code).label
        }
    transition(
        dispute,
        action="judged",
        by=by,
        at=at,
        changes={
            "verdict": verdict,
            "reason_code": reason_code,
            "reason": reason,
            "judged_at": at,
            "judged_by": by if by is not None and by.is_authenticated else None,
            "outcome": Dispute.Outcome.JUDGED,
            "closed_at": at,
        },
        data={
            "verdict": verdict,
            "reason_code": reason_code,
            "reason": reason,
            "proposal": [dispute.proposed_verdict, dispute.proposed_reason_code],
            "automatic": by is None,
            **(data or {}),
        },
    )
    dispute_judged.send(
        sender=Dispute, dispute=dispute, verdict=verdict, reason_code=reason_code, at=at
    )
    return dispute


def may_clear_automatically(dispute: Dispute, verdict: str) -> bool:
    """Whether the system may judge `dispute` with `verdict` on its own: it clears a merchant
    (not liable) only of an urge dispute whose ticket was answered with an invoice that was
    read back and matched its request."""
    if verdict == Dispute.Verdict.LIABLE:
        return True
    ticket = dispute.ticket if dispute.kind == Dispute.Kind.URGE else None
    return ticket is not None and not rests_on_unverified_invoice(ticket)


def dispute_refresh_proposal(*, dispute: Dispute) -> Dispute:
    """Recompute the proposal from the record (the ticket may have moved since it was stored);
    records the change in the history. Only while the dispute awaits the platform."""
    disputes = Dispute.objects.for_system()
    dispute = disputes.select_related("request").get(pk=dispute.pk)  # a fresh record
    proposal = propose_dispute_verdict(dispute, now=timezone.now())
    stored = (dispute.proposed_verdict, dispute.proposed_reason_code)
    if stored == (proposal.verdict, proposal.reason_code):
        return dispute
    with transaction.atomic():
        updated = disputes.filter(
            pk=dispute.pk,
            state=Dispute.State.AWAITING_PLATFORM,
            proposed_verdict=stored[0],
            proposed_reason_code=stored[1],
        ).update(proposed_verdict=proposal.verdict, proposed_reason_code=proposal.reason_code)
        if updated:
            dispute_history(
                dispute,
                by=None,
                action="proposal_updated",
                state_from=dispute.state,
                state_to=dispute.state,
                data={"before": list(stored), "after": [proposal.verdict, proposal.reason_code]},
            )
    dispute.refresh_from_db()
    return dispute


def dispute_confirm_proposal(*, dispute: Dispute, by: AbstractBaseUser) -> Dispute:
    """An arbitrator confirms the system's proposed verdict, in one call. Refused when the
    proposal needs a person, or when the record changed it since the arbitrator saw it."""
    require_arbitrator(by)
    seen = (dispute.proposed_verdict, dispute.proposed_reason_code)
    if dispute.state != Dispute.State.AWAITING_PLATFORM:
        raise Conflict("not_awaiting_platform", _("This dispute is not awaiting a judgment."))
    dispute = dispute_refresh_proposal(dispute=dispute)
    if (dispute.proposed_verdict, dispute.proposed_reason_code) != seen:
        raise Conflict(
            "proposal_changed",
            _("The proposed verdict changed with the record; review it again."),
        )
    if dispute.proposed_verdict not in Dispute.JUDGMENT_VERDICTS:
        raise Conflict(
            "needs_person",
            _("There is no clear verdict to confirm; judge this dispute yourself."),
        )
    with transaction.atomic():
        return judge_in_transaction(
            dispute,
            by=by,
            verdict=dispute.proposed_verdict,
            reason_code=dispute.proposed_reason_code,
            reason="",
            at=timezone.now(),
            data={"confirmed_proposal": True},
        )


def dispute_judge(
    *,
    dispute: Dispute,
    by: AbstractBaseUser,
    verdict: str,
    reason_code: str,
    reason: str = "",
) -> Dispute:
    """An arbitrator judges: merchant liable or not, with a reason code and a written reason.
    The written reason is required when the judgment differs from the proposal (an override);
    agreeing with the proposal, it defaults to the reason code's text."""
    require_arbitrator(by)
    errors: dict[str, list] = {}
    reason = text_field({"reason": reason}, "reason", errors, max_length=REASON_MAX)
    if verdict not in Dispute.JUDGMENT_VERDICTS:
        errors["verdict"] = [_("Choose merchant liable or not liable.")]
    if reason_code not in Dispute.ReasonCode.values:
        errors["reason_code"] = [_("Choose a reason code.")]
    overriding = (verdict, reason_code) != (dispute.proposed_verdict, dispute.proposed_reason_code)
    if overriding and not reason and "reason" not in errors:
        errors["reason"] = [_("Write the reason: this judgment differs from the proposal.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        return judge_in_transaction(
            dispute,
            by=by,
            verdict=verdict,
            reason_code=reason_code,
            reason=reason,
            at=timezone.now(),
            data={"override": overriding},
        )
