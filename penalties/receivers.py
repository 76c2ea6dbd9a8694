"""Where penalties come from (spec 4.4, 4.5, 5, 8): the tickets and disputes apps report what
they found through their signals, and each report proposes its kind of penalty, in the
transaction of the change that found it. Connected at start-up (PenaltiesConfig.ready)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from disputes.models import Dispute
from disputes.signals import dispute_judged, disputes_timed_out
from tickets.models import TicketReply, UrgeTicket
from tickets.signals import promises_broken, reply_late, tickets_breached

from .models import Penalty
from .services import penalties_propose

Kind = Penalty.Kind


def _ticket_rows(rows: list[dict], detail: str, at: datetime) -> list[dict[str, Any]]:
    return [
        {
            "shop_id": r["shop_id"],
            "source_id": r["id"],
            "evidence": {
                "ticket_id": r["id"],
                "request_id": r["request_id"],
                detail: r[detail],
                "detected_at": at,
            },
        }
        for r in rows
    ]


def on_tickets_breached(*, rows: list[dict], at: datetime, **kwargs: Any) -> dict[str, int]:
    """No reply within the window (不回复): a `no_reply` penalty per ticket."""
    rows = _ticket_rows(rows, "reply_due_at", at)
    return {"penalties": penalties_propose(rows, kind=Kind.NO_REPLY, source="ticket", at=at)}


def on_promises_broken(*, rows: list[dict], at: datetime, **kwargs: Any) -> dict[str, int]:
    """An agreed issue date passed without an invoice (承诺不履约)."""
    rows = _ticket_rows(rows, "promised_date", at)
    return {"penalties": penalties_propose(rows, kind=Kind.BROKEN_PROMISE, source="ticket", at=at)}


def on_reply_late(
    *, ticket: UrgeTicket, reply: TicketReply, at: datetime, **kwargs: Any
) -> dict[str, int]:
    """A ticket's first answer came after its window."""
    row = {
        "shop_id": ticket.shop_id,
        "source_id": ticket.pk,
        "evidence": {
            "ticket_id": ticket.pk,
            "request_id": ticket.request_id,
            "reply_due_at": ticket.reply_due_at,
            "replied_at": at,
        },
    }
    return {"penalties": penalties_propose([row], kind=Kind.LATE_REPLY, source="ticket", at=at)}


def on_disputes_timed_out(*, rows: list[dict], at: datetime, **kwargs: Any) -> dict[str, int]:
    """The merchant did not answer a refused-invoice dispute within its window."""
    rows = [
        {
            "shop_id": r["shop_id"],
            "source_id": r["pk"],
            "evidence": {
                "dispute_id": r["pk"],
                "request_id": r["request_id"],
                "merchant_due_at": r["merchant_due_at"],
                "detected_at": at,
            },
        }
        for r in rows
    ]
    n = penalties_propose(rows, kind=Kind.DISPUTE_NO_ANSWER, source="dispute", at=at)
    return {"penalties": n}


def on_dispute_judged(
    *, dispute: Dispute, verdict: str, reason_code: str, at: datetime, **kwargs: Any
) -> dict[str, int]:
    """A merchant-liable judgment (lost dispute)."""
    if verdict != Dispute.Verdict.LIABLE:
        return {}
    ticket = dispute.ticket
    row = {
        "shop_id": dispute.shop_id,
        "source_id": dispute.pk,
        "evidence": {
            "dispute_id": dispute.pk,
            "request_id": dispute.request_id,
            "ticket_id": ticket.pk if ticket is not None else None,
            "kind": dispute.kind,
            "reason_code": reason_code,
            "reason": dispute.reason,
            "judged_at": at,
        },
    }
    n = penalties_propose([row], kind=Kind.DISPUTE_LIABLE, source="dispute", at=at)
    return {"penalties": n}


def connect() -> None:
    for signal, receiver in (
        (tickets_breached, on_tickets_breached),
        (promises_broken, on_promises_broken),
        (reply_late, on_reply_late),
        (disputes_timed_out, on_disputes_timed_out),
        (dispute_judged, on_dispute_judged),
    ):
        signal.connect(receiver, dispatch_uid=f"penalties.{receiver.__name__}")
