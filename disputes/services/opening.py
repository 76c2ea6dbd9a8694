"""Opening a dispute (spec 5): who may open which kind, and when.

Preconditions, checked by `dispute_opening_problem` (which the pages use to show or hide the
dispute button) and enforced again by `dispute_open`:

- Only the request's consumer opens a dispute, with a complaint saying what is wrong.
- A **refused-invoice dispute** (拒绝开票纠纷) needs the request to be refused by the merchant.
- An **urge dispute** (催开票纠纷) needs the request's urge ticket to have an outcome: breached
  (no answer in the window, or the window already past though the job has not flagged it yet)
  or answered (in time or late, with any resolution, its promise kept, pending or broken). A
  ticket still inside its window has none yet: the consumer waits for the merchant's answer.
  Even an invoice uploaded in time may be disputed (the consumer says it never arrived or is
  wrong); the proposal is then "not liable", which an arbitrator confirms quickly.
- At most one open dispute per request and kind: the database's partial unique constraint
  decides races; a closed dispute does not block a new one.

Where it goes: an urge dispute straight to the platform, with the system's proposed verdict
(and, with JDPOP_AUTO_JUDGE_CLEAR_CASES, a clear case is judged at once). A refused-invoice
dispute waits for the merchant's plan, within JDPOP_DISPUTE_MERCHANT_WINDOW; on a shop still on
the old flow (spec 7) it goes straight to the platform, without the plans. The `dispute_opened`
signal goes out in the opening's transaction (before an automatic judgment's `dispute_judged`),
so the shop hears of the dispute, and of its deadline, exactly once.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, DomainError
from core.text import text_field
from invoices.models import InvoiceRequest
from tickets.models import UrgeTicket
from tickets.rules import window_passed

from ..models import Dispute, urge_ticket_of
from ..signals import dispute_opened
from ..verdicts import propose_verdict
from ._common import dispute_history
from .judgment import judge_in_transaction

Kind = Dispute.Kind
State = Dispute.State


def ticket_is_disputable(ticket: UrgeTicket, *, now: datetime | None = None) -> bool:
    """An urge ticket with an outcome (breached or answered): see the module docstring."""
    if ticket.state != UrgeTicket.State.AWAITING_REPLY or ticket.sla == UrgeTicket.Sla.MISSED:
        return True
    return window_passed(ticket, now or timezone.now())


def dispute_opening_problem(
    *, request: InvoiceRequest, kind: str, now: datetime | None = None
) -> DomainError | None:
    """Why a dispute of `kind` may not be opened on `request` now, or None if it may (the pages
    show the dispute button only when this is None)."""
    if kind == Kind.REFUSED:
        if request.state != InvoiceRequest.State.REFUSED:
            return Conflict(
                "not_refused", _("A dispute about a refusal needs the request to be refused.")
            )
    elif kind == Kind.URGE:
        ticket = urge_ticket_of(request)
        if ticket is None:
            return Conflict("no_ticket", _("This request has no urge ticket to dispute."))
        if not ticket_is_disputable(ticket, now=now):
            return Conflict(
                "ticket_open",
                _("The merchant may still answer the urge ticket; wait for its answer."),
            )
    else:
        return DomainError("bad_kind", _("Unknown kind of dispute."))
    if Dispute.objects.for_system().open().filter(request=request, kind=kind).exists():
        return Conflict("dispute_open", _("A dispute of this kind is already open."))
    return None


def dispute_open(
    *, request: InvoiceRequest, by: AbstractBaseUser, kind: str, complaint: str
) -> Dispute:
    """The consumer opens a dispute of `kind` on their request (see the module docstring)."""
    if not by.is_authenticated or request.consumer_id != by.pk:
        raise PermissionDenied(_("Only the consumer of the request can open a dispute."))
    errors: dict[str, list] = {}
    complaint = text_field(
        {"complaint": complaint},
        "complaint",
        errors,
        required=True,
        required_message=_("Say what is wrong."),
    )
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    problem = dispute_opening_problem(request=request, kind=kind, now=now)
    if problem is not None:
        raise problem
    fields = {
        "request": request,
        "shop_id": request.shop_id,
        "consumer_id": request.consumer_id,
        "kind": kind,
        "complaint": complaint,
        "opened_at": now,
        "old_flow": request.shop.new_flow_since is None,
    }
    proposal = None
    if kind == Kind.URGE:
        proposal = propose_verdict(urge_ticket_of(request), now=now)
        fields.update(
            state=State.AWAITING_PLATFORM,
            platform_since=now,
            proposed_verdict=proposal.verdict,
            proposed_reason_code=proposal.reason_code,
        )
    elif fields["old_flow"]:
        fields.update(
            state=State.AWAITING_PLATFORM,
            platform_since=now,
            proposed_verdict=Dispute.Verdict.NEEDS_PERSON,
            proposed_reason_code=Dispute.ReasonCode.CONTESTED,
        )
    else:
        fields.update(
            state=State.AWAITING_MERCHANT,
            merchant_due_at=now + settings.JDPOP_DISPUTE_MERCHANT_WINDOW,
        )
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(**fields)
            dispute_history(
                dispute,
                by=by,
                action="opened",
                state_to=dispute.state,
                at=now,
                data={
                    "kind": kind,
                    "complaint": complaint,
                    "old_flow": fields["old_flow"],
                    "merchant_due_at": dispute.merchant_due_at,
                    "proposal": [dispute.proposed_verdict, dispute.proposed_reason_code],
                },
            )
            dispute_opened.send(sender=Dispute, dispute=dispute, at=now)
            if proposal is not None and proposal.is_clear and settings.JDPOP_AUTO_JUDGE_CLEAR_CASES:
                judge_in_transaction(
                    dispute,
                    by=None,
                    verdict=proposal.verdict,
                    reason_code=proposal.reason_code,
                    reason="",
                    at=now,
                )
    except IntegrityError as e:
        # The partial unique constraint: another open dispute won the race.
        if Dispute.objects.for_system().open().filter(request=request, kind=kind).exists():
            raise Conflict("dispute_open", _("A dispute of this kind is already open.")) from e
        raise
    return dispute
