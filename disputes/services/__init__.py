"""Writes for disputes (spec 5): every page, API view, admin action, task and command calls
these. Each is keyword-only; each state change is a conditional UPDATE plus its history row in
one transaction (see `_common.transition`)."""

from .answers import dispute_accept, dispute_answer, dispute_reject, dispute_withdraw, plan_problems
from .deadlines import disputes_enforce_deadlines
from .evidence import dispute_evidence_add, dispute_evidence_remove, dispute_evidence_submit
from .judgment import dispute_confirm_proposal, dispute_judge, dispute_refresh_proposal
from .opening import dispute_open, dispute_opening_problem, ticket_is_disputable
from .promises import dispute_reopen, disputes_keep_promises, disputes_settle_promises

__all__ = [
    "dispute_accept",
    "dispute_answer",
    "dispute_confirm_proposal",
    "dispute_evidence_add",
    "dispute_evidence_remove",
    "dispute_evidence_submit",
    "dispute_judge",
    "dispute_open",
    "dispute_opening_problem",
    "dispute_refresh_proposal",
    "dispute_reject",
    "dispute_reopen",
    "dispute_withdraw",
    "disputes_enforce_deadlines",
    "disputes_keep_promises",
    "disputes_settle_promises",
    "plan_problems",
    "ticket_is_disputable",
]
