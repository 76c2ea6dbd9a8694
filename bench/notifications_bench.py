"""Benchmark of notification delivery (issue 9, item 5): one worker drains 50,000 queued events
(inbox + e-mail to a local SMTP server + webhooks to a local receiver) in under two minutes.

    createdb -h 127.0.0.1 -U postgres jdpop_nbench   # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jdpop_nbench \\
        .venv/bin/python bench/notifications_bench.py

The database is the benchmark's own (migrated, emptied and refilled by every scenario: never
point it at real data). Each scenario builds, with set-based SQL, 200 shops (each with an owner
who has an e-mail address and one webhook endpoint on the local receiver), 1,000 consumers
(no e-mail address) and 50,000 overdue invoice requests, and opens their urge tickets with the
tickets job (`tickets_open_batch`): 50,000 "ticket_opened" events, each of which becomes two
inbox rows (the shop's owner, the consumer), one e-mail (the owner) and one webhook. Then, in
this one process ("one worker"), it times `drain_outbox` until the outbox is empty, then
`deliver_webhooks` until nothing is due. The SMTP server and the webhook receiver run in
processes of their own (`bench/notification_servers.py`); the receiver counts requests and
repeated webhook-ids and verifies one signature in 50.

Scenarios (one JSON line each):

- `healthy`: the above; met when everything arrived, with no duplicate, in under 120 s.
- `hanging`: the same plus one more shop whose endpoint accepts the connection and never
  answers, with 1,000 events interleaved with the others (`--hanging`, `--hanging-endpoints`).
  The healthy deliveries must all arrive in about the time of `healthy`, and the hanging
  endpoint's deliveries stay pending (retried later), none lost. JDPOP_WEBHOOK_TIMEOUT_SECONDS
  is the setting's (10 s) unless `--timeout` says otherwise.

`--workers` says how the two jobs run:

- `2` (the default): as one Celery worker with two pool processes (`Procfile`:
  `--concurrency=2`) runs them when beat has queued both: `drain_outbox` in this process and,
  at the same time, `deliver_webhooks` in a second process, called again as soon as a run ends
  if it found a full batch (what a backlog does: the next beat run is already queued), else a
  second later, until the drain is done and nothing is due. The time is from the start until
  both are done.
- `1`: everything in this one process, one after the other: `drain_outbox` until the outbox is
  empty, then `deliver_webhooks` until nothing is due; the time is the sum.

`--profile DIR` writes a cProfile of each phase (DIR/<scenario>-<phase>.pstats; with
`--workers 2`, of the drain only).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as ProcessEvent
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jdpop.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")  # the development defaults (secret key, ...)
os.environ.setdefault("JDPOP_WEBHOOK_ALLOW_PRIVATE", "1")  # the receiver is on 127.0.0.1

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from core.models import OutboxMessage  # noqa: E402
from notifications.delivery import drain_outbox  # noqa: E402
from notifications.models import (  # noqa: E402
    Notification,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from notifications.webhooks import deliver_webhooks, new_secret  # noqa: E402
from tickets.jobs import open_overdue_tickets  # noqa: E402

SERVERS = Path(__file__).resolve().parent / "notification_servers.py"
TARGET_SECONDS = 120
WEBHOOK_BATCH = 500  # deliver_webhooks's batch
PAUSE_SECONDS = 1.0  # --workers 2: between webhook runs that found less than a batch
PENDING = WebhookDelivery.State.PENDING

# Query logging (DEBUG) would slow the drain down: off, as in production.
settings.DEBUG = False
settings.JDPOP_WEBHOOK_ALLOW_PRIVATE = True


def _sql(statement: str, params: Any = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def _scalar(statement: str, params: Any = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()[0]


def backend_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (it runs on this
    machine: /proc)."""
    pid = _scalar("SELECT pg_backend_pid()")
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the data ---------------------------------------------------------------------------------


def build(*, now: datetime, events: int, shops: int, consumers: int, hanging: int, hangers: int):
    """Empty the bench's tables and refill them: `shops` healthy shops, `hangers` more for the
    hanging endpoints, their owners (users 1..), the consumers, and `events + hanging` overdue
    requests (the hanging shops' ones interleaved with the others), whose tickets it opens.
    Returns how many tickets were opened."""
    total = events + hanging
    step = total // hanging if hanging else 0
    flow_since = now - timedelta(days=90)
    with transaction.atomic():
        _sql("SET LOCAL jdpop.allow_truncate = on")
        _sql(
            "TRUNCATE notifications_webhookattempt, notifications_webhookdelivery, "
            "notifications_notification, notifications_notificationsettings, "
            "notifications_webhookendpoint, core_historyentry, penalties_penalty, "
            "tickets_ticketreply, core_outboxmessage, core_jobrun, tickets_urgeticket, "
            "disputes_evidence, disputes_dispute, invoices_invoicerequest, invoices_order, "
            "core_shopmembership, invoices_shopflowchange, core_shop, auth_user "
            "RESTART IDENTITY CASCADE"
        )
        _sql(
            "INSERT INTO core_shop (jd_shop_id, name, tax_id, new_flow_since, created_at) "
            "SELECT 'NB' || g, '基准店铺' || g, '', %s, %s FROM generate_series(1, %s) g",
            [flow_since, flow_since, shops + hangers],
        )
        # Users 1..shops+hangers own the shop of their id and have an e-mail address; the
        # consumers after them have none.
        _sql(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, "
            "email, is_staff, is_active, date_joined) "
            "SELECT '!', false, CASE WHEN g <= %(o)s THEN 'owner' ELSE 'consumer' END || g, "
            "'', '', CASE WHEN g <= %(o)s THEN 'owner' || g || '@shop.example' ELSE '' END, "
            "false, true, %(t)s FROM generate_series(1, %(n)s) g",
            {"o": shops + hangers, "n": shops + hangers + consumers, "t": flow_since},
        )
        _sql(
            "INSERT INTO core_shopmembership (shop_id, user_id, role) "
            "SELECT id, id, 'owner' FROM core_shop"
        )
        # Request g: of a hanging shop when g is a multiple of `step` (up to `hanging` of them),
        # of healthy shop 1 + g % shops otherwise; overdue one second apart, in order of g.
        shop_of = (
            "CASE WHEN %(step)s > 0 AND g %% %(step)s = 0 AND g / %(step)s <= %(h)s "
            "THEN %(s)s + 1 + (g / %(step)s) %% %(hs)s ELSE 1 + g %% %(s)s END"
        )
        params = {
            "step": step,
            "h": hanging,
            "s": shops,
            "hs": max(hangers, 1),
            "n": total,
            "o": shops + hangers,
            "c": consumers,
            "t": now - timedelta(days=40),
            "now": now,
            "after": settings.JDPOP_OVERDUE_AFTER,
        }
        _sql(
            "INSERT INTO invoices_order (number, amount, returned_amount, state, created_at, "
            "completed_at, consumer_id, shop_id) "
            "SELECT 'NBO' || lpad(g::text, 10, '0'), 99.00, 0, 'completed', %(t)s, %(t)s, "
            f"%(o)s + 1 + g %% %(c)s, {shop_of} FROM generate_series(1, %(n)s) g",
            params,
        )
        _sql(
            """
            INSERT INTO invoices_invoicerequest (kind, title_type, title, tax_id, tax_id_warning,
                invoice_kind, email, registered_address, registered_phone, bank_name,
                bank_account, state, requested_at, overdue_at, issued_at, invoice_code,
                invoice_number, invoice_file, invoice_content_type, refuse_reason, consumer_id,
                order_id, shop_id, exchange_reason, exchange_note, invoice_check, invoice_read)
            SELECT 'original', 'personal', '个人', '', '', 'electronic', '', '', '', '', '',
                'pending', r.at - %(after)s, r.at, NULL, '', '', '', '', '', o.consumer_id,
                o.id, o.shop_id, '', '', '', '{}'
            FROM invoices_order o,
            LATERAL (SELECT %(now)s - interval '1 day'
                            - (%(n)s - o.id) * interval '1 second' AS at) r
            ORDER BY o.id
            """,
            params,
        )
    _sql("ANALYZE")
    opened = open_overdue_tickets(now=now, batch_size=5000, budget_seconds=3600)["opened"]
    _sql("ANALYZE")
    return opened


def endpoints(*, shops: int, hangers: int, port: int, hang_port: int) -> dict[str, str]:
    """One endpoint per shop, on the receiver (the last `hangers` shops: on the hanging port);
    returns path -> secret for the receiver's checks."""
    rows = []
    for shop_id in range(1, shops + hangers + 1):
        where = port if shop_id <= shops else hang_port
        rows.append(
            WebhookEndpoint(
                shop_id=shop_id,
                url=f"http://127.0.0.1:{where}/hooks/{shop_id}",
                secret=new_secret(),
                description="bench",
                created_by_id=shop_id,
            )
        )
    WebhookEndpoint.objects.bulk_create(rows)
    return {f"/hooks/{e.shop_id}": e.secret for e in rows}


# --- the servers ------------------------------------------------------------------------------


def start_server(*args: Any) -> subprocess.Popen:
    """A server process of `notification_servers.py`, once it listens."""
    process = subprocess.Popen(
        [sys.executable, str(SERVERS), *map(str, args)], stdout=subprocess.PIPE, text=True
    )
    line = process.stdout.readline().strip()
    if line != "ready":
        process.kill()
        sys.exit(f"server {args[0]} did not start: {line!r}")
    return process


def stop_server(process: subprocess.Popen) -> dict:
    """Stop a server; the counts it prints."""
    process.terminate()
    out, _ = process.communicate(timeout=30)
    return json.loads(out.strip().splitlines()[-1])


# --- a scenario -------------------------------------------------------------------------------


def timed(label: str, fn: Callable[[], Any], profile_dir: Path | None) -> tuple[Any, float, float]:
    """Run `fn`: its result, seconds and CPU seconds of this process (profiled into
    profile_dir/<label>.pstats if asked)."""
    profiler = cProfile.Profile() if profile_dir else None
    cpu = time.process_time()
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    try:
        result = fn()
    finally:
        if profiler:
            profiler.disable()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    if profiler:
        profiler.dump_stats(profile_dir / f"{label}.pstats")
    return result, seconds, cpu


def drain_all() -> dict:
    """`drain_outbox` until the outbox is empty (or a run sends nothing)."""
    counts: Counter = Counter()
    pg_cpu = backend_cpu()
    while True:
        done = drain_outbox(now=timezone.now(), budget_seconds=3600)
        counts.update(done)
        unsent = OutboxMessage.objects.filter(sent_at__isnull=True).count()
        if not unsent or not (done.get("sent") or done.get("skipped")):
            return dict(counts, unsent=unsent, pg_cpu_s=backend_cpu() - pg_cpu)


def deliver_all(skip: set[int]) -> dict:
    """`deliver_webhooks` until nothing is due (but for the endpoints in `skip`, which hang: a
    run would try them again, time out and defer the rest once more, for ever)."""
    counts: Counter = Counter()
    runs = 0
    pg_cpu = backend_cpu()
    while True:
        done = deliver_webhooks(now=timezone.now(), budget_seconds=3600)
        runs += 1
        counts.update(done)
        if not _due(skip) or not done.get("delivered"):
            return dict(counts, runs=runs, pg_cpu_s=backend_cpu() - pg_cpu)


def _due(skip: set[int]) -> bool:
    return (
        WebhookDelivery.objects.for_system()
        .filter(state=PENDING, next_attempt_at__lte=timezone.now(), endpoint__enabled=True)
        .exclude(endpoint_id__in=skip)
        .exists()
    )


def webhooks_beside(
    skip: set[int], timeout: float | None, drained: ProcessEvent, out: Connection
) -> None:
    """The second pool process (`--workers 2`): `deliver_webhooks` run after run while the
    drain goes on, until the drain is done and nothing is due (but for the hanging endpoints in
    `skip`); sends its counts, seconds and CPU seconds to `out`."""
    if timeout is not None:
        settings.JDPOP_WEBHOOK_TIMEOUT_SECONDS = timeout
    started, cpu, pg_cpu = time.perf_counter(), time.process_time(), backend_cpu()
    counts: Counter = Counter()
    runs = 0
    while True:
        finished = drained.is_set()
        done = deliver_webhooks(now=timezone.now(), budget_seconds=3600)
        runs += 1
        counts.update(done)
        if finished and not done.get("delivered") and not _due(skip):
            break
        if not finished and done.get("delivered", 0) < WEBHOOK_BATCH:
            # Less than a batch was due: the next run a second later (or when the drain ends),
            # not at once (a run has its fixed costs: its queries, an endpoint check each).
            drained.wait(PAUSE_SECONDS)
    out.send(
        dict(
            counts,
            runs=runs,
            seconds=time.perf_counter() - started,
            cpu_s=time.process_time() - cpu,
            pg_cpu_s=backend_cpu() - pg_cpu,
        )
    )


def side_by_side(
    label: str, skip: set[int], timeout: float | None, profile_dir: Path | None
) -> tuple[dict, float, float, dict]:
    """`--workers 2`: the drain here, the webhooks in a second process, started together. The
    drain's counts, seconds and CPU seconds, and the webhook process's counts (with its
    seconds and CPU seconds)."""
    context = multiprocessing.get_context("spawn")
    drained = context.Event()
    receive, send = context.Pipe(duplex=False)
    connection.close()  # the child opens its own
    process = context.Process(target=webhooks_beside, args=(skip, timeout, drained, send))
    process.start()
    try:
        result, seconds, cpu = timed(label, drain_all, profile_dir)
    finally:
        drained.set()
    delivered = receive.recv()
    process.join()
    return result, seconds, cpu, delivered


def scenario(name: str, args: argparse.Namespace, baseline: dict | None) -> dict:
    hanging = args.hanging if name == "hanging" else 0
    hangers = args.hanging_endpoints if hanging else 0
    now = timezone.now()
    started = time.perf_counter()
    opened = build(
        now=now,
        events=args.events,
        shops=args.shops,
        consumers=args.consumers,
        hanging=hanging,
        hangers=hangers,
    )
    port, hang_port, smtp_port = _free_port(), _free_port(), _free_port()
    secrets = endpoints(shops=args.shops, hangers=hangers, port=port, hang_port=hang_port)
    hanging_ids = set(
        WebhookEndpoint.objects.for_system()
        .filter(url__contains=f":{hang_port}/")
        .values_list("id", flat=True)
    )
    built_s = time.perf_counter() - started
    queued = OutboxMessage.objects.filter(sent_at__isnull=True).count()

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(secrets, f)
    smtp = start_server("smtp-sink" if args.smtp == "sink" else "smtp", smtp_port)
    hooks = start_server("hooks", port, hang_port, f.name)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    if args.timeout is not None:
        settings.JDPOP_WEBHOOK_TIMEOUT_SECONDS = args.timeout
    profile_dir = Path(args.profile) if args.profile else None
    if profile_dir:
        profile_dir.mkdir(parents=True, exist_ok=True)
    try:
        if args.workers == 2:
            started = time.perf_counter()
            drained, drain_s, drain_cpu, delivered = side_by_side(
                f"{name}-drain", hanging_ids, args.timeout, profile_dir
            )
            deliver_s, deliver_cpu = delivered.pop("seconds"), delivered.pop("cpu_s")
            total_s = time.perf_counter() - started
        else:
            drained, drain_s, drain_cpu = timed(f"{name}-drain", drain_all, profile_dir)
            delivered, deliver_s, deliver_cpu = timed(
                f"{name}-webhooks", lambda: deliver_all(hanging_ids), profile_dir
            )
            total_s = drain_s + deliver_s
    finally:
        mail = stop_server(smtp)
        received = stop_server(hooks)
        os.unlink(f.name)

    deliveries = WebhookDelivery.objects.for_system().all()
    healthy = deliveries.exclude(endpoint_id__in=hanging_ids)
    healthy_n = healthy.count()
    healthy_done = healthy.filter(state=WebhookDelivery.State.DELIVERED).count()
    result: dict[str, Any] = {
        "scenario": name,
        "build_s": round(built_s, 1),
        "tickets_opened": opened,
        "events": queued,
        "inbox_rows": Notification.objects.for_system().count(),
        "emails_sent": drained.get("emails", 0),
        "emails_received": mail["messages"],
        "smtp_sessions": mail["sessions"],
        "events_unsent": drained["unsent"],
        "drain_failed": drained.get("failed", 0),
        "deliveries": deliveries.count(),
        "webhooks_delivered": healthy_done,
        "webhook_requests_received": received["requests"],
        "webhook_duplicates": received["duplicates"],
        "signatures_verified": received["verified"],
        "bad_signatures": received["bad_signatures"],
        "workers": args.workers,
        "webhook_runs": delivered["runs"],
        "smtp_server_cpu_s": mail["cpu_s"],
        "receiver_cpu_s": received["cpu_s"],
        "drain_s": round(drain_s, 1),
        "drain_cpu_s": round(drain_cpu, 1),
        "drain_postgres_cpu_s": round(drained["pg_cpu_s"], 1),
        "webhooks_s": round(deliver_s, 1),
        "webhooks_cpu_s": round(deliver_cpu, 1),
        "webhooks_postgres_cpu_s": round(delivered["pg_cpu_s"], 1),
        "total_s": round(total_s, 1),
        "drain_events_per_s": round(queued / drain_s),
        "webhooks_per_s": round(healthy_done / deliver_s) if deliver_s else None,
        "events_per_s": round(queued / total_s),
        "target": f"{args.events:,} in under {TARGET_SECONDS} s",
    }
    everything = (
        drained["unsent"] == 0
        and mail["messages"] == drained.get("emails", 0)
        and healthy_done == healthy_n == args.events
        and received["duplicates"] == 0
        and received["bad_signatures"] == 0
    )
    if not hanging:
        result["met"] = everything and total_s < TARGET_SECONDS
        return result

    stuck = deliveries.filter(endpoint_id__in=hanging_ids)
    states = Counter(stuck.values_list("state", flat=True))
    tried = stuck.filter(attempts__gt=0)
    result["hanging"] = {
        "endpoints": len(hanging_ids),
        "timeout_s": settings.JDPOP_WEBHOOK_TIMEOUT_SECONDS,
        "deliveries": stuck.count(),
        "pending": states.get(PENDING, 0),
        "delivered": states.get(WebhookDelivery.State.DELIVERED, 0),
        "failed": states.get(WebhookDelivery.State.FAILED, 0),
        "tried_and_timed_out": tried.count(),
        "attempts_logged": WebhookAttempt.objects.filter(delivery__in=stuck).count(),
        "pending_with_next_try": stuck.filter(state=PENDING, next_attempt_at__isnull=False).count(),
        "requests_received": received["hang_requests"],
        "connections": received["hang_connections"],
        "still_enabled": WebhookEndpoint.objects.for_system()
        .filter(pk__in=hanging_ids, enabled=True)
        .count(),
    }
    lost = stuck.count() - sum(states.values())
    pending_ok = result["hanging"]["pending"] == result["hanging"]["pending_with_next_try"]
    if baseline:
        result["healthy_total_s_without_hang"] = baseline["total_s"]
        result["slowdown_s"] = round(total_s - baseline["total_s"], 1)
    result["met"] = (
        everything
        and total_s < TARGET_SECONDS
        and lost == 0
        and states.get(PENDING, 0) == stuck.count()
        and pending_ok
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=("both", "healthy", "hanging"), default="both")
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--shops", type=int, default=200)
    parser.add_argument("--consumers", type=int, default=1_000)
    parser.add_argument("--hanging", type=int, default=1_000, help="events for the hanging shops")
    parser.add_argument("--hanging-endpoints", type=int, default=1)
    parser.add_argument("--timeout", type=float, help="JDPOP_WEBHOOK_TIMEOUT_SECONDS")
    parser.add_argument("--profile", metavar="DIR", help="write a cProfile of each phase")
    parser.add_argument(
        "--workers",
        type=int,
        choices=(1, 2),
        default=2,
        help="2: drain and webhooks side by side in two processes; 1: one after the other",
    )
    parser.add_argument(
        "--smtp",
        choices=("sink", "aiosmtpd"),
        default="sink",
        help="the local SMTP server: a minimal one (default) or aiosmtpd",
    )
    args = parser.parse_args()

    if connection.vendor != "postgresql":
        sys.exit("the benchmark runs on PostgreSQL: set DATABASE_URL")
    call_command("migrate", verbosity=0)
    baseline = None
    if args.scenario in ("both", "healthy"):
        baseline = scenario("healthy", args, None)
        print(json.dumps(baseline, ensure_ascii=False), flush=True)
    if args.scenario in ("both", "hanging"):
        print(json.dumps(scenario("hanging", args, baseline), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
