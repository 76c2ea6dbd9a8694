"""`manage.py deliver_webhooks [--as-of ISO 8601]`: run the job once, print one JSON line."""

from core.jobs import JobCommand


class Command(JobCommand):
    job = "deliver_webhooks"
