"""What every dispute write shares: the transition, the history row, who may act, penalties."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from invoices.roles import is_arbitrator
from invoices.services import history_record, require_shop_writer
from jdpop.errors import Conflict
from tickets.models import Penalty

from ..models import Dispute, Evidence

State = Dispute.State
SUBJECT = "dispute"


def dispute_history(
    dispute: Dispute,
    *,
    by: AbstractBaseUser | None,
    action: str,
    state_from: str = "",
    state_to: str = "",
    data: dict | None = None,
    at: datetime | None = None,
) -> None:
    """Append the dispute's history row (on its request's history); call inside the change's
    transaction."""
    history_record(
        request_id=dispute.request_id,
        subject=SUBJECT,
        subject_id=dispute.pk,
        actor=by,
        action=action,
        state_from=state_from,
        state_to=state_to,
        data=data,
        at=at,
    )


def state_conflict(dispute_id: int) -> Conflict:
    """The Conflict for 'this dispute is no longer where you thought', naming where it is."""
    current = Dispute.objects.filter(pk=dispute_id).values_list("state", flat=True).first()
    return Conflict(
        "dispute_state",
        _("This dispute cannot be changed this way now (it is %(state)s)."),
        state=State(current).label if current else "?",
    )


def transition(
    dispute: Dispute,
    *,
    action: str,
    by: AbstractBaseUser | None,
    at: datetime,
    changes: dict[str, Any] | None = None,
    data: dict | None = None,
    extra: dict[str, Any] | None = None,
) -> Dispute:
    """Apply `action` (see Dispute.TRANSITIONS) with a conditional UPDATE from the state the
    caller saw, plus `extra` conditions (e.g. the deadline not yet past); zero rows means the
    dispute moved meanwhile and the caller gets a Conflict. Then the history row. Call inside a
    transaction."""
    sources, target = Dispute.TRANSITIONS[action]
    if dispute.state not in sources:
        raise state_conflict(dispute.pk)
    updated = Dispute.objects.filter(pk=dispute.pk, state=dispute.state, **(extra or {})).update(
        state=target, **(changes or {})
    )
    if not updated:
        raise state_conflict(dispute.pk)
    dispute_history(
        dispute,
        by=by,
        action=action,
        state_from=dispute.state,
        state_to=target,
        data=data,
        at=at,
    )
    dispute.refresh_from_db()
    return dispute


def party_of(dispute: Dispute, user: AbstractBaseUser) -> str:
    """Which side `user` speaks for: the dispute's consumer, or a writer of its shop."""
    if user.is_authenticated and user.pk == dispute.consumer_id:
        return Evidence.Party.CONSUMER
    require_shop_writer(user, dispute.shop_id)
    return Evidence.Party.MERCHANT


def require_consumer(dispute: Dispute, user: AbstractBaseUser) -> None:
    if not user.is_authenticated or user.pk != dispute.consumer_id:
        raise PermissionDenied(_("Only the consumer who opened the dispute can do this."))


def require_arbitrator(user: AbstractBaseUser) -> None:
    if not is_arbitrator(user):
        raise PermissionDenied(_("Only platform arbitrators can judge disputes."))


def penalty_record(*, dispute: Dispute, kind: str, evidence: dict, at: datetime) -> Penalty:
    """Record a proposed penalty (a Penalty.Kind) against the dispute's shop. Exactly-once comes
    from the caller: it runs in the transaction of the dispute's own conditional transition,
    which only one caller can win (a dispute never returns to the state it leaves); the unique
    (dispute, kind) constraint backs that up."""
    return Penalty.objects.create(
        shop_id=dispute.shop_id, kind=kind, dispute=dispute, evidence=evidence, at=at
    )
