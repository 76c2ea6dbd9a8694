"""Benchmark of the urge-ticket jobs on PostgreSQL (issue 3).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jdpop_bench \
        .venv/bin/python bench/tickets_bench.py

Builds (once; `--rebuild` to redo) 1,000,000 invoice requests of which 100,000 are overdue, with
set-based SQL, then measures in one run: opening the 100,000 tickets (with history and outbox
rows), flagging 100,000 missed replies (with penalties), an idle run of each, the same opening
done the naive way (a Python loop saving one ticket and its history at a time, on a sample), and
peak Python memory as the backlog grows. It prints a table and one JSON line. The database is
the benchmark's own: it is emptied and refilled, never point it at real data.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jdpop.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from core.models import HistoryEntry  # noqa: E402
from invoices.models import InvoiceRequest  # noqa: E402
from tickets import jobs  # noqa: E402
from tickets.models import UrgeTicket  # noqa: E402

NOW = datetime.fromisoformat("2026-11-20T10:00:00+08:00")
TARGETS = {"open_per_s": 50_000, "ratio": 100, "idle_ms": 50}


def _truncate(tables: str) -> None:
    """TRUNCATE the bench's own tables; the append-only ones refuse it unless the session
    allows it (core.appendonly), which this bench, and nothing in production, does."""
    _sql("SET jdpop.allow_truncate = on")
    _sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def _sql(statement: str, params: Any = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _scalar(statement: str, params: Any = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()[0]


def build(requests: int, overdue: int, shops: int) -> None:
    """Shops on the new flow, one consumer per 100 requests, one completed order per request;
    `overdue` pending requests past their overdue time, the rest pending-not-yet-due or issued."""
    started = time.monotonic()
    flow_since = NOW - timedelta(days=90)
    with transaction.atomic():
        _truncate(
            "core_historyentry, penalties_penalty, tickets_ticketreply, core_outboxmessage, "
            "core_jobrun, tickets_urgeticket, invoices_invoicerequest, invoices_order, "
            "core_shopmembership, invoices_shopflowchange, core_shop, auth_user"
        )
        _sql(
            "INSERT INTO core_shop (jd_shop_id, name, tax_id, new_flow_since, created_at) "
            "SELECT 'B' || g, '基准店铺' || g, '', %s, %s FROM generate_series(1, %s) g",
            [flow_since, flow_since, shops],
        )
        consumers = max(1, requests // 100)
        _sql(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, "
            "email, is_staff, is_active, date_joined) "
            "SELECT '!', false, 'bench' || g, '', '', '', false, true, %s "
            "FROM generate_series(1, %s) g",
            [flow_since, consumers],
        )
        _sql(
            "INSERT INTO invoices_order (number, amount, returned_amount, state, created_at, "
            "completed_at, consumer_id, shop_id) "
            "SELECT 'BO' || lpad(g::text, 10, '0'), 99.00, 0, 'completed', %(t)s, %(t)s, "
            "1 + g %% %(c)s, 1 + g %% %(s)s FROM generate_series(1, %(n)s) g",
            {"t": NOW - timedelta(days=40), "c": consumers, "s": shops, "n": requests},
        )
        # Overdue: g <= overdue, their overdue time spread over the 20 days before NOW.
        # Not yet due: every third of the rest; issued: the others.
        _sql(
            """
            INSERT INTO invoices_invoicerequest (kind, title_type, title, tax_id, tax_id_warning,
                invoice_kind, email, registered_address, registered_phone, bank_name,
                bank_account, state, requested_at, overdue_at, issued_at, invoice_code,
                invoice_number, invoice_file, invoice_content_type, refuse_reason, consumer_id,
                order_id, shop_id, exchange_reason, exchange_note, invoice_check, invoice_read)
            SELECT 'original', 'personal', '个人', '', '', 'electronic', '', '', '', '', '',
                CASE WHEN g <= %(o)s OR g %% 3 = 0 THEN 'pending' ELSE 'issued' END,
                r.at, r.at + %(after)s,
                CASE WHEN g <= %(o)s OR g %% 3 = 0 THEN NULL ELSE r.at + interval '1 day' END,
                '', CASE WHEN g <= %(o)s OR g %% 3 = 0 THEN '' ELSE lpad(g::text, 20, '0') END,
                CASE WHEN g <= %(o)s OR g %% 3 = 0 THEN '' ELSE 'bench.pdf' END,
                '', '', 1 + g %% %(c)s, g, 1 + g %% %(s)s, '', '', '', '{}'
            FROM generate_series(1, %(n)s) g,
            LATERAL (SELECT CASE WHEN g <= %(o)s
                THEN %(now)s - %(after)s - ((g * 17) %% 1728000) * interval '1 second'
                     - interval '1 second'
                ELSE %(now)s - ((g * 13) %% 777600) * interval '1 second' END AS at) r
            """,
            {
                "o": overdue,
                "after": settings.JDPOP_OVERDUE_AFTER,
                "now": NOW,
                "c": consumers,
                "s": shops,
                "n": requests,
            },
        )
        # The overdue rows' overdue_at must not include issued ones (only pending are scanned).
    _sql("VACUUM ANALYZE invoices_invoicerequest")
    _sql("VACUUM ANALYZE invoices_order")
    print(
        f"built {requests:,} requests ({overdue:,} overdue) in {time.monotonic() - started:.1f} s"
    )


def reset_tickets() -> None:
    """Empty the ticket side, and put every pending overdue request back on the opening
    queue."""
    _truncate(
        "core_historyentry, penalties_penalty, tickets_ticketreply, core_outboxmessage, "
        "tickets_urgeticket"
    )
    _sql(
        "INSERT INTO invoices_duerequest (request_id, due_at) SELECT id, overdue_at "
        "FROM invoices_invoicerequest WHERE state = 'pending' AND overdue_at IS NOT NULL "
        "ON CONFLICT (request_id) DO NOTHING"
    )
    _sql("VACUUM ANALYZE tickets_urgeticket")
    _sql("VACUUM ANALYZE invoices_duerequest")


# --- the rows the scale bench (bench/scale_bench.py) and this one print ----------------------


def idle_runs(now: datetime, *, repeat: int = 5) -> dict[str, float]:
    """Milliseconds of each beat job's run with nothing to do at `now` (the best of `repeat`),
    on whatever database is connected: the opening job must not read the requests that already
    have a ticket, however many there are."""
    later = now + settings.JDPOP_REPLY_WINDOW + timedelta(seconds=1)
    runs = {
        "open_overdue_tickets": lambda: jobs.open_overdue_tickets(now=now),
        "flag_missed_replies": lambda: jobs.flag_missed_replies(now=later),
        "flag_broken_promises": lambda: jobs.flag_broken_promises(now=later),
    }
    out = {}
    for name, run in runs.items():
        run()  # the run that does the work, if any
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - started)
        out[name] = round(best * 1000, 1)
    return out


_WRITTEN = ("core_outboxmessage", "core_historyentry", "tickets_urgeticket")


def _high_water() -> dict[str, int]:
    """The highest id of each table the opening writes."""
    return {table: _scalar(f"SELECT coalesce(max(id), 0) FROM {table}") for table in _WRITTEN}


def _undo_since(marks: dict[str, int]) -> None:
    """Delete the rows written after `marks` (a bench's own bare insert, on any database, the
    scale bench's too), with the session's triggers off (the history's append-only guard; no
    foreign key points at these rows yet), then VACUUM ANALYZE: the job meets the tables as
    they were."""
    with transaction.atomic():
        _sql("SET LOCAL session_replication_role = replica")
        for table in _WRITTEN:
            _sql(f"DELETE FROM {table} WHERE id > %s", [marks[table]])
    for table in _WRITTEN:
        _sql(f"VACUUM ANALYZE {table}")


def opening_rate(
    now: datetime, *, batch_size: int = 5000, committed: bool = False
) -> dict[str, Any]:
    """Open every ticket due at `now`: tickets a second, beside the bare insert of the same
    rows into the same schema (the same INSERT statements from ids chosen beforehand, without
    claiming, dequeuing or the job's loop), the ceiling the job is compared with: rolled back,
    and with `committed`, committed batch by batch as the job commits. Leaves the job's tickets
    open (the bare inserts' rows are rolled back or deleted)."""
    from tickets.services import opening

    due = list(opening.due_requests(now).values_list("request_id", flat=True))
    if not due:
        return {"due": 0}

    class Rollback(Exception):
        pass

    started = time.perf_counter()
    try:
        with transaction.atomic():
            for i in range(0, len(due), batch_size):
                with transaction.atomic():
                    made = opening._insert_tickets(due[i : i + batch_size], now=now, via="job")
                    opening._record_opened(made, now=now, via="job", by_id=None)
            bare_seconds = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    committed_seconds = None
    if committed:
        # The same bare insert committed batch by batch as the job commits (a rolled-back
        # transaction never waits for its WAL to reach the disk), then taken out again.
        marks = _high_water()
        started = time.perf_counter()
        for i in range(0, len(due), batch_size):
            with transaction.atomic():
                made = opening._insert_tickets(due[i : i + batch_size], now=now, via="job")
                opening._record_opened(made, now=now, via="job", by_id=None)
        committed_seconds = time.perf_counter() - started
        _undo_since(marks)
    started = time.perf_counter()
    result = jobs.open_overdue_tickets(now=now, batch_size=batch_size, budget_seconds=3600)
    job_seconds = time.perf_counter() - started
    bare, job = len(due) / bare_seconds, result["opened"] / job_seconds
    out = {
        "due": len(due),
        "opened": result["opened"],
        "bare_per_s": round(bare),
        "job_per_s": round(job),
        "ratio": round(job / bare, 2),
    }
    if committed_seconds:
        out["bare_committed_per_s"] = round(len(due) / committed_seconds)
        out["ratio_committed"] = round(job * committed_seconds / len(due), 2)
    return out


def _worker(task: str, now: datetime, batch_size: int) -> dict:
    from django.db import connections

    connections.close_all()  # a connection of its own
    run = jobs.open_overdue_tickets if task == "open" else jobs.flag_missed_replies
    return run(now=now, batch_size=batch_size, budget_seconds=3600)


def workers(task: str, processes: int, now: datetime, *, batch_size: int = 5000) -> dict:
    """Run `task` ("open" or "flag") in `processes` worker processes at once, sharing one
    backlog (each batch claims its rows with SKIP LOCKED): rows a second, all together."""
    import multiprocessing

    from django.db import connections

    connections.close_all()  # never share the parent's connection with the children
    context = multiprocessing.get_context("fork")
    started = time.perf_counter()
    with context.Pool(processes) as pool:
        results = pool.starmap(_worker, [(task, now, batch_size)] * processes)
    seconds = time.perf_counter() - started
    key = "opened" if task == "open" else "flagged"
    done = sum(r[key] for r in results)
    return {
        "processes": processes,
        "rows": done,
        "seconds": round(seconds, 2),
        "per_s": round(done / seconds),
        "each": [r[key] for r in results],
    }


def measure(fn: Callable[[], dict]) -> dict:
    """Run `fn` once: seconds, queries, peak traced Python memory, and what it returned."""
    tracemalloc.start()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "seconds": seconds,
        "queries": len(queries),
        "peak_mib": peak / 2**20,
        "result": result,
    }


def naive_open(limit: int, now: datetime) -> int:
    """The way not to do it: one ticket and one history row per request, saved in a loop."""
    due = (
        InvoiceRequest.objects.for_system()
        .filter(state="pending", overdue_at__lt=now, shop__new_flow_since__isnull=False)
        .exclude(urge_ticket__isnull=False)
        .select_related("shop")
        .order_by("overdue_at")[:limit]
    )
    n = 0
    for request in due:
        with transaction.atomic():
            ticket = UrgeTicket.objects.create(
                request=request,
                shop=request.shop,
                opened_at=now,
                opened_via="job",
                reply_due_at=now + settings.JDPOP_REPLY_WINDOW,
            )
            HistoryEntry.objects.create(
                request_id=request.pk,
                subject="ticket",
                subject_id=ticket.pk,
                action="ticket_opened",
                state_to="awaiting_reply",
                data={"via": "job"},
                at=now,
            )
        n += 1
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--overdue", type=int, default=100_000)
    parser.add_argument("--shops", type=int, default=200)
    parser.add_argument("--naive-sample", type=int, default=3_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--workers", default="1,2,4", help="worker process counts to compare (default 1,2,4)"
    )
    parser.add_argument(
        "--skip-memory", action="store_true", help="skip the memory-growth runs (3 openings)"
    )
    args = parser.parse_args()

    if connection.vendor != "postgresql":
        sys.exit("the benchmark runs on PostgreSQL: set DATABASE_URL")
    call_command("migrate", verbosity=0)
    have = _scalar("SELECT count(*) FROM invoices_invoicerequest")
    if args.rebuild or have != args.requests:
        build(args.requests, args.overdue, args.shops)

    out: dict[str, Any] = {"requests": args.requests, "overdue": args.overdue}
    big = {"batch_size": 5000, "budget_seconds": 3600.0}

    # Memory as the backlog grows: open a quarter, a half and all of it (fresh each time).
    growth = []
    for share in () if args.skip_memory else (4, 2, 1):
        reset_tickets()
        cutoff = NOW - timedelta(days=20) + timedelta(days=20) / share
        m = measure(lambda c=cutoff: jobs.open_overdue_tickets(now=c, **big))
        growth.append({"opened": m["result"].get("opened"), "peak_mib": round(m["peak_mib"], 2)})
    out["memory_growth"] = growth

    reset_tickets()
    opened = measure(lambda: jobs.open_overdue_tickets(now=NOW, **big))
    n_open = opened["result"].get("opened", 0)
    out["open"] = {
        "tickets": n_open,
        "seconds": round(opened["seconds"], 2),
        "per_s": round(n_open / opened["seconds"]),
        "queries": opened["queries"],
        "peak_mib": round(opened["peak_mib"], 2),
        "history_rows": _scalar("SELECT count(*) FROM core_historyentry"),
    }
    _sql("VACUUM ANALYZE tickets_urgeticket")
    idle_open = measure(lambda: jobs.open_overdue_tickets(now=NOW, **big))
    out["open_idle_ms"] = round(idle_open["seconds"] * 1000, 1)

    later = NOW + settings.JDPOP_REPLY_WINDOW + timedelta(seconds=1)
    flagged = measure(lambda: jobs.flag_missed_replies(now=later, **big))
    n_flag = flagged["result"].get("flagged", 0)
    out["flag"] = {
        "tickets": n_flag,
        "seconds": round(flagged["seconds"], 2),
        "per_s": round(n_flag / flagged["seconds"]) if flagged["seconds"] else None,
        "queries": flagged["queries"],
        "peak_mib": round(flagged["peak_mib"], 2),
        "penalties": _scalar("SELECT count(*) FROM penalties_penalty"),
    }
    _sql("VACUUM ANALYZE tickets_urgeticket")
    idle_flag = measure(lambda: jobs.flag_missed_replies(now=later, **big))
    out["flag_idle_ms"] = round(idle_flag["seconds"] * 1000, 1)
    idle_promises = measure(lambda: jobs.flag_broken_promises(now=later, **big))
    out["promises_idle_ms"] = round(idle_promises["seconds"] * 1000, 1)

    # The job beside the bare insert of the same rows; one 100,000-row batch on an empty table.
    reset_tickets()
    out["opening_rate"] = opening_rate(NOW, committed=True)
    out["idle_after_opening_ms"] = idle_runs(NOW)
    reset_tickets()
    one = measure(lambda: jobs.open_overdue_tickets(now=NOW, batch_size=100_000))
    out["one_batch_100k_s"] = round(one["seconds"], 2)

    # Many workers, one backlog.
    out["workers"] = {"open": [], "flag": []}
    for n in [int(w) for w in args.workers.split(",")]:
        reset_tickets()
        out["workers"]["open"].append(workers("open", n, NOW))
        _sql("VACUUM ANALYZE tickets_urgeticket")
        out["workers"]["flag"].append(workers("flag", n, later))

    reset_tickets()
    naive = measure(lambda: naive_open(args.naive_sample, NOW))
    naive_rate = naive["result"] / naive["seconds"]
    out["naive"] = {
        "tickets": naive["result"],
        "seconds": round(naive["seconds"], 2),
        "per_s": round(naive_rate),
        "queries": naive["queries"],
    }
    out["ratio"] = round(out["open"]["per_s"] / naive_rate, 1)
    reset_tickets()

    ok = {
        "open_per_s": out["open"]["per_s"] >= TARGETS["open_per_s"],
        "ratio": out["ratio"] >= TARGETS["ratio"],
        "idle_ms": max(out["open_idle_ms"], out["flag_idle_ms"], out["promises_idle_ms"])
        < TARGETS["idle_ms"],
    }
    out["targets_met"] = ok
    print()
    print(f"{'measure':<34}{'result':>16}  target")
    print(f"{'open tickets (with history)':<34}{out['open']['per_s']:>12,} /s  >= 50,000 /s")
    print(f"{'  queries for the whole backlog':<34}{out['open']['queries']:>16}")
    print(f"{'flag missed replies (+ penalty)':<34}{out['flag']['per_s'] or 0:>12,} /s")
    print(f"{'naive loop':<34}{out['naive']['per_s']:>12,} /s")
    print(f"{'set-based / naive':<34}{out['ratio']:>15}x  >= 100x")
    print(f"{'idle open run':<34}{out['open_idle_ms']:>13} ms  < 50 ms")
    print(f"{'idle flag run':<34}{out['flag_idle_ms']:>13} ms  < 50 ms")
    print(f"{'idle promise run':<34}{out['promises_idle_ms']:>13} ms  < 50 ms")
    for g in growth:
        label = "  peak memory, backlog " + format(g["opened"] or 0, ",")
        print(f"{label:<34}{g['peak_mib']:>12} MiB")
    rate = out["opening_rate"]
    print(f"{'opening job':<34}{rate['job_per_s']:>12,} /s")
    print(f"{'bare insert, committed per batch':<34}{rate['bare_committed_per_s']:>12,} /s")
    print(f"{'  job / bare insert':<34}{rate['ratio_committed']:>16}  >= 0.8")
    print(f"{'bare insert, never committed':<34}{rate['bare_per_s']:>12,} /s")
    print(f"{'  job / it (no WAL flush waited)':<34}{rate['ratio']:>16}")
    print(f"{'one 100k batch, empty table':<34}{out['one_batch_100k_s']:>14} s")
    for name, ms in out["idle_after_opening_ms"].items():
        print(f"{'  idle ' + name:<34}{ms:>13} ms  < 50 ms")
    for task in ("open", "flag"):
        for w in out["workers"][task]:
            label = f"{task}, {w['processes']} worker process(es)"
            print(f"{label:<34}{w['per_s']:>12,} /s  ({w['seconds']} s, {w['each']})")
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
