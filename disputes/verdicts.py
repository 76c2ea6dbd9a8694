"""The system's proposed verdict (spec 5): pure functions of the record, no database access.

An urge dispute is judged from its urge ticket. The rules, first match wins:

| the ticket's record                                  | proposal       | reason code        |
|------------------------------------------------------|----------------|--------------------|
| breached (no answer in the window) / sla missed      | liable         | no_reply           |
| still awaiting a reply, its window already past      | liable         | no_reply           |
| answered after the window (sla late)                 | liable         | late_reply         |
| promise broken (agreed date passed, no invoice)      | liable         | broken_promise     |
| still awaiting its reply, inside the window          | needs a person | other              |
| answered 已开发票 inside the window (sla met), the   | not liable     | issued_in_time     |
| invoice read back and matched (verified)             |                |                    |
| answered 已开发票 inside the window (sla met), the   | needs a person | unverified_invoice |
| invoice not machine-checked (unreadable, or issued   |                |                    |
| before invoices were read back: unchecked)           |                |                    |
| any other resolution (no invoice needed, cannot      | needs a person | contested          |
| issue, agreed date pending or kept)                  |                |                    |

"No invoice needed", "cannot issue" and an agreed date are the merchant's word that the consumer
agreed; the consumer disputing it is exactly what a person must weigh (and a false reply, 乱填,
is judged liable with reason false_reply).

"Issued in time" rests on the invoice itself (spec 11): only an invoice that was read back and
matched its request clears the merchant. An invoice that could not be read (a scan, an unknown
layout) or that was issued before invoices were checked proves only that some file was
uploaded, so a person looks at it, and the automatic judge never clears it. (A mismatching
upload is refused: the request stays pending and the ticket unanswered, judged as such.)

A refused-invoice dispute reaches the platform with evidence to read: a person judges it,
except when the merchant let its window lapse (liable, no_reply), or when the consumer reopened
it because the accepted plan's agreed issue date passed without an invoice (liable,
broken_promise: the record shows it, `rules.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from invoices.models import InvoiceRequest
from tickets.models import UrgeTicket

from .models import Dispute

Verdict = Dispute.Verdict
Reason = Dispute.ReasonCode


@dataclass(frozen=True)
class Proposal:
    verdict: str
    reason_code: str

    @property
    def is_clear(self) -> bool:
        """A clear case may be judged without a person (JDPOP_AUTO_JUDGE_CLEAR_CASES)."""
        return self.verdict in Dispute.JUDGMENT_VERDICTS


def propose_verdict(ticket: Any, *, now: datetime | None = None) -> Proposal:
    """Propose the verdict of an urge dispute from its ticket's record (see the module table).

    `ticket` is an UrgeTicket (or anything with its fields and its `request`). With `now`, a
    ticket still awaiting its reply after its window counts as unanswered even before the job
    flags it."""
    T = UrgeTicket
    if ticket.state == T.State.BREACHED or ticket.sla == T.Sla.MISSED:
        return Proposal(Verdict.LIABLE, Reason.NO_REPLY)
    if ticket.sla == T.Sla.LATE:
        return Proposal(Verdict.LIABLE, Reason.LATE_REPLY)
    if ticket.promise_state == T.PromiseState.BROKEN:
        return Proposal(Verdict.LIABLE, Reason.BROKEN_PROMISE)
    if ticket.state == T.State.AWAITING_REPLY:
        if now is not None and now > ticket.reply_due_at:
            return Proposal(Verdict.LIABLE, Reason.NO_REPLY)
        return Proposal(Verdict.NEEDS_PERSON, Reason.OTHER)
    if ticket.resolution == T.Resolution.ISSUED and ticket.sla == T.Sla.MET:
        if rests_on_unverified_invoice(ticket):
            return Proposal(Verdict.NEEDS_PERSON, Reason.UNVERIFIED_INVOICE)
        return Proposal(Verdict.NOT_LIABLE, Reason.ISSUED_IN_TIME)
    return Proposal(Verdict.NEEDS_PERSON, Reason.CONTESTED)


def rests_on_unverified_invoice(ticket: Any) -> bool:
    """The ticket was answered 已开发票 and its request's invoice was not read back and matched
    (unreadable, or issued before the check). A reverse one-to-one read (`request.urge_ticket`)
    already holds `ticket.request`, so this reads no database."""
    return (
        ticket.resolution == UrgeTicket.Resolution.ISSUED
        and ticket.request.invoice_check != InvoiceRequest.Check.VERIFIED
    )


def propose_dispute_verdict(dispute: Dispute, *, now: datetime | None = None) -> Proposal:
    """The proposal for any dispute: from the ticket for an urge dispute (see above)."""
    if dispute.kind == Dispute.Kind.URGE:
        ticket = dispute.ticket
        if ticket is None:  # cannot happen through the services; be safe for old data
            return Proposal(Verdict.NEEDS_PERSON, Reason.OTHER)
        return propose_verdict(ticket, now=now)
    if dispute.plan == "" and dispute.answered_at is None and not dispute.old_flow:
        return Proposal(Verdict.LIABLE, Reason.NO_REPLY)
    if dispute.promise_state == Dispute.PromiseState.BROKEN:
        return Proposal(Verdict.LIABLE, Reason.BROKEN_PROMISE)
    return Proposal(Verdict.NEEDS_PERSON, Reason.CONTESTED)
