"""`/healthz`: the site's choice of checks. The database and the broker answer; the jobs are
fresh and a worker consumes (`core.jobs`); the opening job misses no overdue request
(`tickets.health`); no dispute waits past its deadline (`disputes.health`). Each check is a
bounded index lookup: a probe costs the same at any size (issue 14)."""

from django.http import HttpRequest, JsonResponse

from core.health import check_jobs, health_response
from core.jobs import health_worker
from disputes.health import health_dispute_deadlines
from tickets.health import health_overdue_without_ticket

CHECKS = [
    ("jobs", check_jobs),
    ("worker", health_worker),
    ("overdue_without_ticket", health_overdue_without_ticket),
    ("dispute_deadlines", health_dispute_deadlines),
]


def healthz(request: HttpRequest) -> JsonResponse:
    """200 when every check is ok, 503 otherwise (see `core.health.health_response`)."""
    return health_response(CHECKS)
