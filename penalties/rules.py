"""Which penalty a merchant-liable judgment records (spec 8), as data: the judgment's reason
decides the kind, from this one table.

| the reason code  | an urge dispute (催开票纠纷) | a refused-invoice dispute (拒绝开票纠纷) |
|------------------|----------------------------|------------------------------------------|
| no_reply         | no_reply (不填)             | dispute_no_answer (不填)                  |
| late_reply       | late_reply                 | late_reply                               |
| broken_promise   | broken_promise (承诺不履约)  | broken_promise (承诺不履约)                |
| false_reply      | false_reply (乱填)          | false_reply (乱填)                        |
| any other        | dispute_liable             | dispute_liable                           |

One violation, one penalty (`Penalty`'s unique keys): the judgment's penalty hangs off the
dispute and, for an urge dispute, its ticket too, so a violation the jobs or an arbitrator
already recorded (the ticket's no-reply, late-reply or broken-promise penalty, a 乱填 found on
the ticket; a refused dispute's lapsed window, its broken promise) is not recorded twice. A
judgment that the merchant is not liable records none.
"""

from __future__ import annotations

from disputes.models import Dispute

from .models import Penalty

Kind = Penalty.Kind
Reason = Dispute.ReasonCode

# reason code -> (the kind for an urge dispute, the kind for a refused-invoice dispute)
PENALTY_FOR_REASON: dict[str, tuple[str, str]] = {
    Reason.NO_REPLY: (Kind.NO_REPLY, Kind.DISPUTE_NO_ANSWER),
    Reason.LATE_REPLY: (Kind.LATE_REPLY, Kind.LATE_REPLY),
    Reason.BROKEN_PROMISE: (Kind.BROKEN_PROMISE, Kind.BROKEN_PROMISE),
    Reason.FALSE_REPLY: (Kind.FALSE_REPLY, Kind.FALSE_REPLY),
}
OTHERWISE = Kind.DISPUTE_LIABLE


def penalty_kind_for_judgment(*, dispute_kind: str, verdict: str, reason_code: str) -> str | None:
    """The kind of penalty a judgment records (see the table), or None when it records none
    (the merchant is not liable)."""
    if verdict != Dispute.Verdict.LIABLE:
        return None
    urge, refused = PENALTY_FOR_REASON.get(reason_code, (OTHERWISE, OTHERWISE))
    return urge if dispute_kind == Dispute.Kind.URGE else refused
