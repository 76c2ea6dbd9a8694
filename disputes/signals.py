"""What the disputes app tells the apps above it (penalties, notifications), without knowing
them: they connect at start-up. Receivers run inside the sender's transaction and may return a
dict of counts, which the job adds to what it reports.

Each signal marks one step of the state machine (`Dispute.TRANSITIONS`) that someone must hear
of (spec 10: nobody may miss a deadline they were not told about). A dispute takes each of
these steps at most once (no state is entered twice), so a receiver can key what it writes by
the dispute and the step.
"""

from django.dispatch import Signal

# The consumer opened a dispute (awaiting the merchant, or straight to the platform for an urge
# or old-flow dispute): kwargs dispute, at.
dispute_opened = Signal()
# The merchant answered with a settlement plan; the consumer's window started: kwargs dispute,
# at.
plan_proposed = Signal()
# The deadline job found disputes still awaiting the consumer whose window ends within
# JDPOP_DISPUTE_CONSUMER_REMINDER (every run finds them again until they move or lapse, so a
# receiver keeps what it writes once by its own unique key): kwargs ids (of the disputes), at.
plan_reminders_due = Signal()
# A dispute went to the platform by a person's act: the merchant's no-fault evidence plan
# (action "sent_to_platform"), the consumer's rejection of the plan ("settlement_rejected") or
# the consumer's reopening of a settled dispute whose promise was broken ("reopened", the only
# step out of closed; such a dispute never went to the platform before): kwargs dispute,
# action, at. A lapsed merchant window is `disputes_timed_out`.
dispute_escalated = Signal()
# The job sent disputes whose merchant window passed unanswered to the platform: kwargs ids
# (of the disputes), at.
disputes_timed_out = Signal()
# The consumer closed a dispute: accepted the plan (outcome "settled") or withdrew it
# ("withdrawn"): kwargs dispute, outcome, at.
dispute_closed = Signal()
# The job closed disputes whose consumer window passed: the plan counts as accepted (outcome
# "settled_by_lapse"): kwargs ids (of the disputes), at.
disputes_settled_by_lapse = Signal()
# A dispute was judged: kwargs dispute, verdict, reason_code, at.
dispute_judged = Signal()
# The job found accepted plans whose agreed issue date ended with no invoice (承诺不履约, the
# promise of a 另行约定开票日期 plan, `rules.py`): kwargs ids (of the disputes), at. A dispute's
# promise is broken at most once (pending -> broken, by a conditional update).
dispute_promises_broken = Signal()
