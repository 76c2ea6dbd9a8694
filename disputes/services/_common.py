"""What every dispute write shares: the transition, the history row, who may act."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from core.errors import Conflict
from core.history import history_record
from core.roles import require_shop_writer

from ..models import Dispute, Evidence

State = Dispute.State
SUBJECT = "dispute"


def dispute_history(dispute: Dispute, *, by: AbstractBaseUser | None, **entry: Any) -> None:
    """Append the dispute's history row (on its request's history); `entry` is the rest of
    `history_record`'s arguments. Call inside the change's transaction."""
    history_record(
        request_id=dispute.request_id, subject=SUBJECT, subject_id=dispute.pk, actor=by, **entry
    )


def state_conflict(dispute_id: int) -> Conflict:
    """The Conflict for 'this dispute is no longer where you thought', naming where it is."""
    current = (
        Dispute.objects.for_system().filter(pk=dispute_id).values_list("state", flat=True).first()
    )
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
    updated = (
        Dispute.objects.for_system()
        .filter(pk=dispute.pk, state=dispute.state, **(extra or {}))
        .update(state=target, **(changes or {}))
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
