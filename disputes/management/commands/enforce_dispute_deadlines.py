"""`manage.py enforce_dispute_deadlines [--as-of ISO 8601]`: run the job once, print one JSON
line."""

from core.jobs import JobCommand


class Command(JobCommand):
    job = "enforce_dispute_deadlines"
