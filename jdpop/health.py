"""`/healthz`: does the database answer, does the broker answer (and, later, are the jobs fresh)."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from kombu import Connection


def _check_database() -> dict:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as e:  # any failure means "not healthy", reported, never raised
        return {"ok": False, "error": f"{type(e).__name__}: {e}"[:300]}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def _check_broker() -> dict:
    started = time.monotonic()
    try:
        # A fresh connection each time: a pooled one would hide a broker that went away.
        with Connection(
            settings.CELERY_BROKER_URL,
            connect_timeout=2,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as e:
        return {"ok": False, "error": f"{type(e).__name__}: {e}"[:300]}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


EXTRA_CHECKS: list = []  # (name, callable returning a dict that may say "ok": False)


def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and the broker both answer, 503 otherwise."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    if checks["database"]["ok"]:
        for name, check in EXTRA_CHECKS:
            checks[name] = check()
    ok = all(c.get("ok", True) for c in checks.values())
    return JsonResponse({"ok": ok, **checks}, status=200 if ok else 503)


# --- urge tickets (spec 4): are the jobs running, and do they miss overdue requests? ---------
def _ticket_jobs() -> dict:
    from tickets.runs import health_jobs

    return health_jobs()


def _overdue_without_ticket() -> dict:
    from tickets.runs import health_overdue_without_ticket

    return health_overdue_without_ticket()


EXTRA_CHECKS += [("jobs", _ticket_jobs), ("overdue_without_ticket", _overdue_without_ticket)]
