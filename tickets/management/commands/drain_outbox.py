"""`manage.py drain_outbox [--as-of ISO 8601]`: run the job once, print one JSON line."""

from tickets.runs import JobCommand


class Command(JobCommand):
    job = "drain_outbox"
    help = "Send the queued e-mails of the outbox."
