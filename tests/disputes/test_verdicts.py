"""Spec 5: the system proposes an urge dispute's verdict from the ticket's record (pure: no
database, so every case of the table is one line here)."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from disputes.models import Dispute
from disputes.verdicts import Proposal, propose_dispute_verdict, propose_verdict

DUE = datetime(2025, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
BEFORE, AT, AFTER = DUE - timedelta(hours=1), DUE, DUE + timedelta(seconds=1)


# The ticket's request, as reading its invoice back left it (spec 11).
VERIFIED = {"state": "issued", "invoice_check": "verified"}  # read back and matched
UNREADABLE = {"state": "issued", "invoice_check": "unreadable"}  # accepted, not machine-checked
UNCHECKED = {"state": "issued", "invoice_check": ""}  # issued before invoices were checked
# No invoice: also what a mismatching upload leaves, since it is refused (still pending).
NOT_ISSUED = {"state": "pending", "invoice_check": ""}


def ticket(state="answered", sla="met", resolution="issued", promise_state="", invoice=None):
    if invoice is None:
        invoice = VERIFIED if resolution == "issued" else NOT_ISSUED
    return SimpleNamespace(
        state=state,
        sla=sla,
        resolution=resolution,
        promise_state=promise_state,
        reply_due_at=DUE,
        request=SimpleNamespace(**invoice),
    )


WAITING = {"state": "awaiting_reply", "sla": "", "resolution": ""}

# (the ticket's record, "now" if the rule depends on it, the proposal, the reason code)
RULES = [
    # no answer within the window: liable
    (ticket(state="breached", sla="missed", resolution=""), None, "liable", "no_reply"),
    (ticket(state="breached", sla="", resolution=""), None, "liable", "no_reply"),
    (ticket(state="awaiting_reply", sla="missed", resolution=""), None, "liable", "no_reply"),
    # still awaiting a reply with the window past (the job has not flagged it yet): liable
    (ticket(**WAITING), AFTER, "liable", "no_reply"),
    # still inside its window (up to and including the due instant): nothing to judge yet
    (ticket(**WAITING), AT, "needs_person", "other"),
    (ticket(**WAITING), BEFORE, "needs_person", "other"),
    (ticket(**WAITING), None, "needs_person", "other"),
    # answered, but late: liable, whatever the resolution
    (ticket(sla="late", resolution="issued"), None, "liable", "late_reply"),
    (ticket(sla="late", resolution="no_invoice_needed"), None, "liable", "late_reply"),
    (ticket(sla="late", resolution="cannot_issue"), None, "liable", "late_reply"),
    (
        ticket(sla="late", resolution="date_agreed", promise_state="kept"),
        None,
        "liable",
        "late_reply",
    ),
    # the agreed date passed without an invoice: liable
    (
        ticket(resolution="date_agreed", promise_state="broken"),
        None,
        "liable",
        "broken_promise",
    ),
    # the invoice uploaded inside the window, read back and matched: not liable
    (ticket(resolution="issued", invoice=VERIFIED), None, "not_liable", "issued_in_time"),
    (ticket(resolution="issued", invoice=VERIFIED), AFTER, "not_liable", "issued_in_time"),
    # an invoice uploaded inside the window that could not be read back, or was issued before
    # invoices were checked: a person looks at it, never "not liable" on the system's word
    (ticket(resolution="issued", invoice=UNREADABLE), None, "needs_person", "unverified_invoice"),
    (ticket(resolution="issued", invoice=UNREADABLE), AFTER, "needs_person", "unverified_invoice"),
    (ticket(resolution="issued", invoice=UNCHECKED), None, "needs_person", "unverified_invoice"),
    # ... but uploaded after the window it is late whatever it says: liable
    (ticket(sla="late", resolution="issued", invoice=UNREADABLE), None, "liable", "late_reply"),
    # a mismatching invoice is refused at upload: the request stays pending and the ticket
    # unanswered, judged like no invoice at all
    (ticket(**WAITING, invoice=NOT_ISSUED), BEFORE, "needs_person", "other"),
    (ticket(**WAITING, invoice=NOT_ISSUED), AFTER, "liable", "no_reply"),
    (
        ticket(state="breached", sla="missed", resolution="", invoice=NOT_ISSUED),
        None,
        "liable",
        "no_reply",
    ),
    # the other resolutions: a person weighs the consumer's word against the merchant's
    (ticket(resolution="no_invoice_needed"), None, "needs_person", "contested"),
    (ticket(resolution="cannot_issue"), None, "needs_person", "contested"),
    (
        ticket(resolution="date_agreed", promise_state="pending"),
        None,
        "needs_person",
        "contested",
    ),
    (ticket(resolution="date_agreed", promise_state="kept"), None, "needs_person", "contested"),
]


@pytest.mark.parametrize(("record", "now", "verdict", "reason_code"), RULES)
def test_propose_verdict(record, now, verdict, reason_code):
    assert propose_verdict(record, now=now) == Proposal(verdict, reason_code)


def test_only_liable_and_not_liable_are_clear_cases():
    assert Proposal("liable", "no_reply").is_clear
    assert Proposal("not_liable", "issued_in_time").is_clear
    assert not Proposal("needs_person", "contested").is_clear
    assert not Proposal("needs_person", "unverified_invoice").is_clear


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # the merchant let the window lapse without a plan: liable
        ({"state": "awaiting_platform", "plan": "", "answered_at": None}, ("liable", "no_reply")),
        # the merchant's evidence plan, or a rejected settlement: a person reads the evidence
        ({"plan": "platform_judge", "answered_at": AT}, ("needs_person", "contested")),
        ({"plan": "cannot_issue", "answered_at": AT}, ("needs_person", "contested")),
        # the old flow has no plans: a person judges
        ({"plan": "", "answered_at": None, "old_flow": True}, ("needs_person", "contested")),
    ],
)
def test_propose_a_refused_invoice_disputes_verdict(fields, expected):
    d = Dispute(kind="refused", **{"old_flow": False, **fields})
    assert propose_dispute_verdict(d) == Proposal(*expected)
