"""`manage.py send_ticket_reminders [--as-of ISO 8601]`: run the job once, print one JSON line."""

from core.jobs import JobCommand


class Command(JobCommand):
    job = "send_ticket_reminders"
