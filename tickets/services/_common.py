"""What every ticket write shares: the ticket's history row."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from core.history import history_record

from ..models import UrgeTicket


def ticket_history(ticket: UrgeTicket, *, by: AbstractBaseUser | None, **entry: Any) -> None:
    """Append the ticket's history row (on its request's history); `entry` is the rest of
    `history_record`'s arguments. Call inside the change's transaction."""
    history_record(
        request_id=ticket.request_id, subject="ticket", subject_id=ticket.pk, actor=by, **entry
    )
