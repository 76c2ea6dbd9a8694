"""`manage.py prune_idempotency_keys [--as-of ISO 8601]`: run the job once, print one JSON line."""

from core.jobs import JobCommand


class Command(JobCommand):
    job = "prune_idempotency_keys"
