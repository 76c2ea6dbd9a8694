"""`manage.py flag_missed_replies [--as-of ISO 8601]`: run the job once, print one JSON line."""

from core.jobs import JobCommand


class Command(JobCommand):
    job = "flag_missed_replies"
