"""`manage.py flag_broken_promises [--as-of ISO 8601]`: run the job once, print one JSON line."""

from tickets.runs import JobCommand


class Command(JobCommand):
    job = "flag_broken_promises"
    help = "Flag the promised issue dates that passed without an invoice (spec 4.5)."
