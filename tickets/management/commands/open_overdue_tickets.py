"""`manage.py open_overdue_tickets [--as-of ISO 8601]`: run the job once, print one JSON line."""

from tickets.runs import JobCommand


class Command(JobCommand):
    job = "open_overdue_tickets"
    help = "Open an urge ticket for every overdue request of a new-flow shop (spec 4.2)."
