"""What the tickets app tells the apps above it (penalties, notifications), without knowing
them: they connect at start-up. Receivers run inside the sender's transaction and may return a
dict of counts, which the jobs add to what they report."""

from django.dispatch import Signal

# The job breached tickets whose window passed unanswered: kwargs ids (of the tickets), at.
tickets_breached = Signal()
# The job found promises whose date ended with no invoice: kwargs ids (of the tickets), at.
promises_broken = Signal()
# A ticket's first answer came after its window: kwargs ticket, reply, at.
reply_late = Signal()
# The merchant replied to a ticket (a resolution, a note, maybe a promised date), the upload of
# the invoice aside (that is `invoices.signals.invoice_issued`): kwargs ticket, reply, at.
ticket_replied = Signal()
