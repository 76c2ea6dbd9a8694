"""The opening queue's triggers (`invoices.DueRequest`, migration 0097_perf_due_queue): their
names, and whether they are in place.

The queue is only as good as its triggers: without them no new overdue request reaches the
opening job, silently. `/healthz` asks (`tickets.health`), so a migration that rebuilt the
request table on SQLite, or a trigger dropped or disabled by hand, fails the probe instead.
"""

from __future__ import annotations

from django.db import connection

from .models import InvoiceRequest

TRIGGERS = ("invoices_due_queue_insert", "invoices_due_queue_update")


def queue_triggers_in_place() -> bool:
    """Whether both triggers that keep the queue exist (PostgreSQL: and are enabled) on the
    request table: one catalog lookup."""
    table = InvoiceRequest._meta.db_table
    if connection.vendor == "postgresql":
        sql = (
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass "
            "AND tgname = ANY(%s) AND tgenabled <> 'D'"
        )
        params: list = [table, list(TRIGGERS)]
    else:
        sql = (
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s "
            "AND name IN (%s, %s)"
        )
        params = [table, *TRIGGERS]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0] == len(TRIGGERS)
