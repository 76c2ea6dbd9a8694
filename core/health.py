"""`/healthz` building blocks: the database and broker checks, and the runner that turns a list
of named checks into the JSON answer. Which checks run is the site's choice (`jdpop.health`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from kombu import Connection

Check = Callable[[], dict]


def check_database() -> dict:
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def check_broker() -> dict:
    started = time.monotonic()
    # A fresh connection each time: a pooled one would hide a broker that went away.
    with Connection(
        settings.CELERY_BROKER_URL,
        connect_timeout=2,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    ) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


def _guarded(check: Check) -> dict:
    try:
        return check()
    except Exception as e:  # a health check reports, never raises
        return {"ok": False, "error": f"{type(e).__name__}: {e}"[:300]}


def health_response(checks: Sequence[tuple[str, Check]]) -> JsonResponse:
    """200 when the database, the broker and every one of `checks` are ok, 503 otherwise. The
    `checks` read the database, so they run only when it answers."""
    results = {"database": _guarded(check_database), "broker": _guarded(check_broker)}
    if results["database"]["ok"]:
        results.update({name: _guarded(check) for name, check in checks})
    ok = all(r.get("ok", True) for r in results.values())
    return JsonResponse({"ok": ok, **results}, status=200 if ok else 503)
