"""What the disputes app tells the apps above it (penalties, notifications), without knowing
them: they connect at start-up. Receivers run inside the sender's transaction and may return a
dict of counts, which the job adds to what it reports."""

from django.dispatch import Signal

# The job sent disputes whose merchant window passed unanswered to the platform: kwargs ids
# (of the disputes), at.
disputes_timed_out = Signal()
# A dispute was judged: kwargs dispute, verdict, reason_code, at.
dispute_judged = Signal()
