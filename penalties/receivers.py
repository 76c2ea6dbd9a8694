"""Where penalties come from (spec 4.4, 4.5, 5, 8): the tickets and disputes apps report what
they found through their signals, and each report proposes its kind of penalty, in the
transaction of the change that found it: a ticket's or an accepted dispute plan's broken
promise alike; a judgment's kind from its reason (`rules.py`). Connected at start-up
(PenaltiesConfig.ready). The new penalties' ids go on up
(`penalties.signals.penalties_proposed`) in that transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.sql import id_rows, json_object, run, timestamp
from core.sql import ids as sql_ids
from disputes.models import Dispute
from disputes.signals import dispute_judged, dispute_promises_broken, disputes_timed_out
from tickets.models import TicketReply, UrgeTicket
from tickets.signals import promises_broken, reply_late, tickets_breached

from .models import Penalty
from .rules import penalty_kind_for_judgment
from .services import penalties_propose, penalty_propose_for_judgment, report_proposed

Kind = Penalty.Kind


def _propose_for(source: type, ids: list[int], *, kind: str, detail: str, at: datetime) -> int:
    """One `kind` penalty per ticket or dispute of `ids` (its shop, its request, `detail` and
    the moment it was found as evidence), inserted with one statement; one already there of
    that kind is skipped by the unique keys (ON CONFLICT DO NOTHING). How many it proposed."""
    name = "ticket" if source is UrgeTicket else "dispute"
    evidence = json_object(
        (f"{name}_id", "s.id"),
        ("request_id", "s.request_id"),
        (detail, f"s.{detail}"),
        ("detected_at", "%s"),
    )
    ticket_id, dispute_id = ("s.id", "NULL") if name == "ticket" else ("NULL", "s.id")
    sql = f"""
        INSERT INTO {Penalty._meta.db_table} (shop_id, kind, ticket_id, dispute_id, state, at,
                                              evidence, decision_note)
        SELECT s.shop_id, %s, {ticket_id}, {dispute_id}, %s, %s, {evidence}, ''
        FROM {source._meta.db_table} s JOIN {id_rows("chosen")} ON chosen.id = s.id WHERE true
        ON CONFLICT DO NOTHING
        RETURNING id
    """
    params = [kind, Penalty.State.PROPOSED, timestamp(at), at.isoformat(), sql_ids(ids)]
    new = [row[0] for row in run(sql, params)]
    report_proposed(new, at=at)
    return len(new)


def on_tickets_breached(*, ids: list[int], at: datetime, **kwargs: Any) -> dict[str, int]:
    """No reply within the window (不回复): a `no_reply` penalty per ticket."""
    n = _propose_for(UrgeTicket, ids, kind=Kind.NO_REPLY, detail="reply_due_at", at=at)
    return {"penalties": n}


def on_promises_broken(*, ids: list[int], at: datetime, **kwargs: Any) -> dict[str, int]:
    """An agreed issue date passed without an invoice (承诺不履约)."""
    n = _propose_for(UrgeTicket, ids, kind=Kind.BROKEN_PROMISE, detail="promised_date", at=at)
    return {"penalties": n}


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


def on_disputes_timed_out(*, ids: list[int], at: datetime, **kwargs: Any) -> dict[str, int]:
    """The merchant did not answer a refused-invoice dispute within its window."""
    n = _propose_for(Dispute, ids, kind=Kind.DISPUTE_NO_ANSWER, detail="merchant_due_at", at=at)
    return {"penalties": n}


def on_dispute_promises_broken(*, ids: list[int], at: datetime, **kwargs: Any) -> dict[str, int]:
    """An accepted plan's agreed issue date passed without an invoice (承诺不履约): the same
    `broken_promise` penalty as a ticket's, one per dispute."""
    n = _propose_for(Dispute, ids, kind=Kind.BROKEN_PROMISE, detail="plan_date", at=at)
    return {"penalties": n}


def on_dispute_judged(
    *, dispute: Dispute, verdict: str, reason_code: str, at: datetime, **kwargs: Any
) -> dict[str, int]:
    """A merchant-liable judgment: the penalty its reason names (`penalties.rules`), once."""
    kind = penalty_kind_for_judgment(
        dispute_kind=dispute.kind, verdict=verdict, reason_code=reason_code
    )
    if kind is None:
        return {}
    ticket = dispute.ticket
    evidence = {
        "dispute_id": dispute.pk,
        "request_id": dispute.request_id,
        "ticket_id": ticket.pk if ticket is not None else None,
        "kind": dispute.kind,
        "reason_code": reason_code,
        "reason": dispute.reason,
        "judged_at": at,
    }
    # An urge dispute is judged on its ticket's record: the violation is the ticket's too.
    on_ticket = ticket.pk if ticket is not None and dispute.kind == Dispute.Kind.URGE else None
    n = penalty_propose_for_judgment(
        dispute=dispute, kind=kind, ticket_id=on_ticket, evidence=evidence, at=at
    )
    return {"penalties": n}


def connect() -> None:
    for signal, receiver in (
        (tickets_breached, on_tickets_breached),
        (promises_broken, on_promises_broken),
        (reply_late, on_reply_late),
        (disputes_timed_out, on_disputes_timed_out),
        (dispute_promises_broken, on_dispute_promises_broken),
        (dispute_judged, on_dispute_judged),
    ):
        signal.connect(receiver, dispatch_uid=f"penalties.{receiver.__name__}")
