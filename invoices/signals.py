"""What the invoices app tells the apps above it, without knowing them (they connect at
start-up, in their `AppConfig.ready`). Receivers run inside the sender's transaction: what
they write commits or rolls back with the change itself."""

from django.dispatch import Signal

# The merchant uploaded the invoice: kwargs invoice_request, by, at.
invoice_issued = Signal()
# A consumer asked to exchange (换开) an issued invoice: kwargs invoice_request (the new
# exchange request), at.
exchange_requested = Signal()
# The merchant refused a request (an original, a re-issue or an exchange): kwargs
# invoice_request, by, at.
invoice_refused = Signal()
# The platform's feed cancelled or returned orders, which cancelled their pending requests:
# kwargs ids (the requests), at.
requests_cancelled_with_order = Signal()
