"""The merchant's plan and the consumer's decision on a refused-invoice dispute (spec 5).

Deadlines are enforced here too, not only by the job: a merchant may answer up to and
including the instant of `merchant_due_at`, a consumer decide up to `consumer_due_at`; one
instant later the action is a Conflict and the job moves the dispute on.

Each step tells the other side through a signal sent in the step's transaction (`..signals`):
a settlement plan `plan_proposed` (the consumer's 72 h start), the evidence plan and a rejection
`dispute_escalated`, an acceptance or a withdrawal `dispute_closed`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.clock import china_date
from core.errors import Conflict, DomainError
from core.roles import require_shop_writer
from core.text import clean_text, text_field
from invoices.models import InvoiceRequest
from tickets.rules import latest_promise_date, promise_date_error

from ..models import Dispute, Evidence
from ..plans import PLAN_RULES
from ..rules import accepted_promise, promise_due_at, settling_requests_q
from ..signals import dispute_closed, dispute_escalated, plan_proposed
from ._common import require_consumer, transition
from .evidence import submit_in_transaction

Verdict = Dispute.Verdict
Reason = Dispute.ReasonCode


def _check_note(note: str, *, required: bool, errors: dict[str, list]) -> str:
    return text_field(
        {"note": note},
        "note",
        errors,
        required=required,
        required_message=_("This plan needs a note."),
    )


def _require_in_window(due_at: datetime | None, now: datetime) -> None:
    """The deadline is inclusive: up to and including `due_at`; strictly past it is late."""
    if due_at is not None and now > due_at:
        raise Conflict("window_passed", _("The deadline for this step has passed."))


def plan_problems(
    *, dispute: Dispute, plan: str, plan_date: date | None, note: str
) -> dict[str, list]:
    """The errors of a merchant's answer, per field, from the plan's declared requirements."""
    errors: dict[str, list] = {}
    rule = PLAN_RULES.get(plan)
    if rule is None:
        return {"plan": [_("Choose one of the five plans.")]}
    _check_note(note, required=rule.needs_note, errors=errors)
    if rule.needs_date:
        now = timezone.now()
        if plan_date is None:
            errors["plan_date"] = [_("This plan needs the agreed issue date.")]
        elif plan_date <= china_date(now):
            errors["plan_date"] = [_("The agreed issue date must be in the future.")]
        elif plan_date > latest_promise_date(now):
            errors["plan_date"] = [promise_date_error(plan_date, at=now)]
    if rule.needs_issued_invoice and not (
        InvoiceRequest.objects.for_system()
        .filter(settling_requests_q(dispute.request), state=InvoiceRequest.State.ISSUED)
        .exists()
    ):
        errors["plan"] = [
            _("Upload the invoice (on the re-issue request) before answering that it is issued.")
        ]
    if rule.needs_evidence and not dispute.evidence.filter(party=Evidence.Party.MERCHANT).exists():
        errors["evidence"] = [_("This plan needs your evidence: add text or files first.")]
    return errors


def dispute_answer(
    *,
    dispute: Dispute,
    by: AbstractBaseUser,
    plan: str,
    plan_date: date | None = None,
    note: str = "",
) -> Dispute:
    """The merchant answers a refused-invoice dispute with one of the five plans, inside the
    merchant's window. A settlement plan starts the consumer's window; the no-fault evidence
    plan (platform_judge) submits the merchant's evidence and sends the dispute to the platform.
    """
    require_shop_writer(by, dispute.shop_id)
    if dispute.kind != Dispute.Kind.REFUSED:
        raise DomainError("no_plans", _("An urge dispute is judged by the platform directly."))
    errors = plan_problems(dispute=dispute, plan=plan, plan_date=plan_date, note=note)
    if errors:
        raise ValidationError(errors)
    rule = PLAN_RULES[plan]
    now = timezone.now()
    changes = {
        "plan": plan,
        "plan_date": plan_date if rule.needs_date else None,
        # the end of the agreed date: the promise binds once the consumer accepts (`rules.py`)
        "promise_due_at": promise_due_at(plan_date) if rule.needs_date and plan_date else None,
        "plan_note": clean_text(note),
        "answered_at": now,
        "answered_by": by,
    }
    data = {"plan": plan, "plan_date": changes["plan_date"], "note": changes["plan_note"]}
    _require_in_window(dispute.merchant_due_at, now)
    if rule.settlement:
        changes["consumer_due_at"] = now + settings.JDPOP_DISPUTE_CONSUMER_WINDOW
        data["consumer_due_at"] = changes["consumer_due_at"]
    else:
        changes.update(
            platform_since=now,
            proposed_verdict=Verdict.NEEDS_PERSON,
            proposed_reason_code=Reason.CONTESTED,
        )
    action = "settlement_proposed" if rule.settlement else "sent_to_platform"
    with transaction.atomic():
        dispute = transition(
            dispute,
            action=action,
            by=by,
            at=now,
            changes=changes,
            data=data,
            extra={"merchant_due_at__gte": now},
        )
        if rule.settlement:
            plan_proposed.send(sender=Dispute, dispute=dispute, at=now)
        else:
            if dispute.merchant_evidence_submitted_at is None:
                submit_in_transaction(dispute, party=Evidence.Party.MERCHANT, by=by, at=now)
            dispute_escalated.send(sender=Dispute, dispute=dispute, action=action, at=now)
        return dispute


def _consumer_decides(
    dispute: Dispute,
    *,
    by: AbstractBaseUser,
    action: str,
    at: datetime,
    changes: dict[str, Any],
    data: dict[str, Any] | None = None,
) -> Dispute:
    """The consumer's decision on the settlement plan, inside the consumer's window (checked
    now, and again by the UPDATE)."""
    _require_in_window(dispute.consumer_due_at, at)
    with transaction.atomic():
        return transition(
            dispute,
            action=action,
            by=by,
            at=at,
            changes={"consumer_decided_at": at, **changes},
            data={"plan": dispute.plan, **(data or {})},
            extra={"consumer_due_at__gte": at},
        )


def dispute_accept(*, dispute: Dispute, by: AbstractBaseUser) -> Dispute:
    """The consumer accepts the merchant's settlement plan: the dispute is closed, settled. A
    plan with a date becomes a promise the deadline job checks (`..rules`)."""
    require_consumer(dispute, by)
    now = timezone.now()
    with transaction.atomic():
        dispute = _consumer_decides(
            dispute,
            by=by,
            action="settlement_accepted",
            at=now,
            changes={
                "outcome": Dispute.Outcome.SETTLED,
                "closed_at": now,
                **accepted_promise(dispute.plan),
            },
            data={"promise_due_at": dispute.promise_due_at} if dispute.promise_due_at else None,
        )
        dispute_closed.send(sender=Dispute, dispute=dispute, outcome=dispute.outcome, at=now)
        return dispute


def dispute_reject(*, dispute: Dispute, by: AbstractBaseUser, note: str) -> Dispute:
    """The consumer rejects the settlement plan, saying why: the platform judges."""
    require_consumer(dispute, by)
    errors: dict[str, list] = {}
    note = _check_note(note, required=True, errors=errors)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        dispute = _consumer_decides(
            dispute,
            by=by,
            action="settlement_rejected",
            at=now,
            changes={
                "consumer_note": note,
                "platform_since": now,
                "proposed_verdict": Verdict.NEEDS_PERSON,
                "proposed_reason_code": Reason.CONTESTED,
            },
            data={"note": note},
        )
        dispute_escalated.send(
            sender=Dispute, dispute=dispute, action="settlement_rejected", at=now
        )
        return dispute


def dispute_withdraw(*, dispute: Dispute, by: AbstractBaseUser, note: str = "") -> Dispute:
    """The consumer withdraws an open dispute (e.g. the merchant issued after all)."""
    require_consumer(dispute, by)
    if not dispute.is_open:
        raise Conflict("dispute_closed", _("This dispute is already closed."))
    now = timezone.now()
    with transaction.atomic():
        dispute = transition(
            dispute,
            action="withdrawn",
            by=by,
            at=now,
            changes={"outcome": Dispute.Outcome.WITHDRAWN, "closed_at": now},
            data={"note": clean_text(note)},
        )
        dispute_closed.send(sender=Dispute, dispute=dispute, outcome=dispute.outcome, at=now)
        return dispute
