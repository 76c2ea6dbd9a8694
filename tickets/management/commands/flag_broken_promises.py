"""`manage.py flag_broken_promises [--as-of ISO 8601]`: run the job once, print one JSON line."""

from core.jobs import JobCommand


class Command(JobCommand):
    job = "flag_broken_promises"
