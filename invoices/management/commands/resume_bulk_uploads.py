"""`manage.py resume_bulk_uploads [--as-of ISO 8601]`: run the job once, print one JSON line."""

from core.jobs import JobCommand


class Command(JobCommand):
    job = "resume_bulk_uploads"
