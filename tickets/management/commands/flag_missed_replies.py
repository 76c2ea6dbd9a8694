"""`manage.py flag_missed_replies [--as-of ISO 8601]`: run the job once, print one JSON line."""

from tickets.runs import JobCommand


class Command(JobCommand):
    job = "flag_missed_replies"
    help = "Breach the tickets whose reply window passed without an answer (spec 4.4)."
