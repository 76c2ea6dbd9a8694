"""`manage.py roll_up_category_sales [--as-of ISO 8601]`: run the job once, print one JSON line."""

from core.jobs import JobCommand


class Command(JobCommand):
    job = "roll_up_category_sales"
