"""`manage.py open_overdue_tickets [--as-of ISO 8601]`: run the job once, print one JSON line."""

from core.jobs import JobCommand


class Command(JobCommand):
    job = "open_overdue_tickets"
