"""Benchmark of the platform's order feed (issue 12, item 1): orders per second through
`POST /api/v1/platform/orders/` in batches of 1,000, over real HTTP, on PostgreSQL.

    createdb -h 127.0.0.1 -U postgres jdpop_h12a   # once (any database of its own)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jdpop_h12a \\
        .venv/bin/python bench/orders_feed_bench.py [--orders 100000] [--workers 2] [--clients 2]

The server is gunicorn (`jdpop.wsgi`, `--workers` sync workers, production settings: DEBUG
off), started by the bench on a free local port; the client is this process, `--clients`
threads each with one keep-alive connection (`http.client`), sending bodies encoded before the
clock starts. It authenticates as a platform service account with an API token
(`Authorization: Bearer`). Three rounds over `--orders` new orders of 50 shops and 20,000
consumers (the accounts are created by the first run's feed): every order placed (created),
then completed (updated), then the completions again (all ignored: a retried delivery).
Each round checks every answer (200, the expected outcome for every order). Prints a table and
one JSON line: the rate, and the CPU the gunicorn workers and their PostgreSQL backends spent
per 1,000 orders (from /proc), with the rate that CPU allows on this machine's cores when
nothing else runs (the machine is shared, so the wall-clock rate depends on the load). The
database is the benchmark's own: never point it at real data.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jdpop.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from core.models import Shop  # noqa: E402
from core.roles import platform_service_group  # noqa: E402
from invoices.feed import MAX_BATCH  # noqa: E402

GOAL = 10_000  # orders per second
SHOPS, CONSUMERS = 50, 20_000
PATH = "/api/v1/platform/orders/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_token() -> str:
    """A token of a platform service account (API tokens: `core.tokens`)."""
    from core.tokens import token_create

    user, _created = get_user_model().objects.get_or_create(username="feed-bench-platform")
    user.groups.add(platform_service_group())
    _token, raw = token_create(user=user, name="order feed bench")
    return raw


def shops() -> list[str]:
    ids = [f"fb{i:06d}" for i in range(SHOPS)]
    for jd_shop_id in ids:
        Shop.objects.for_system().get_or_create(
            jd_shop_id=jd_shop_id,
            defaults={"name": f"订单基准店{jd_shop_id}", "new_flow_since": datetime.now(UTC)},
        )
    return ids


def make_rounds(n: int, shop_ids: list[str]) -> list[tuple[str, str, list[bytes]]]:
    run = uuid.uuid4().hex[:8]
    now = datetime.now(UTC).replace(microsecond=0)
    placed_at, completed_at = now - timedelta(days=3), now - timedelta(hours=1)
    orders = [
        {
            "number": f"{run}{i:08d}",
            "amount": f"{(i % 50_000) / 100 + 1:.2f}",
            "consumer": f"feed-bench-c{i % CONSUMERS:05d}",
            "shop": shop_ids[i % len(shop_ids)],
        }
        for i in range(n)
    ]

    def encode(state: str, at: datetime, completed: bool) -> list[bytes]:
        out = []
        for start in range(0, n, MAX_BATCH):
            batch = [
                {
                    **o,
                    "state": state,
                    "changed_at": at.isoformat(),
                    **({"completed_at": at.isoformat()} if completed else {}),
                }
                for o in orders[start : start + MAX_BATCH]
            ]
            out.append(json.dumps(batch).encode())
        return out

    completed = encode("completed", completed_at, True)
    return [
        ("placed (created)", "created", encode("placed", placed_at, False)),
        ("completed (updated)", "updated", completed),
        ("completed again (ignored)", "ignored", completed),
    ]


def send(port: int, token: str, batches: list[bytes], expect: str, clients: int) -> float:
    """Post every batch over `clients` keep-alive connections; seconds taken."""
    queue = list(enumerate(batches))
    lock = threading.Lock()
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                if not queue or errors:
                    break
                _i, body = queue.pop()
            conn.request("POST", PATH, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != 200:
                errors.append(f"{response.status}: {data[:300]!r}")
                break
            answer = json.loads(data)
            if answer[expect] != len(answer["results"]):
                errors.append(
                    f"expected all {expect}: { {k: answer[k] for k in answer if k != 'results'} }"
                )
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    if errors:
        raise SystemExit(f"the feed answered wrongly: {errors[0]}")
    return seconds


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def server_pids(server: subprocess.Popen) -> list[int]:
    """The gunicorn workers and the PostgreSQL backends serving them (not this process's)."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        backends = [row[0] for row in cursor.fetchall()]
    return [int(pid) for pid in children] + backends


def start_server(port: int, workers: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "orders-feed-bench-" + uuid.uuid4().hex,
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
        "JDPOP_THROTTLE_USER": "100000/min",
    }
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "jdpop.wsgi",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=2, help="client connections")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database of the benchmark's own.")
    call_command("migrate", verbosity=0)
    shop_ids = shops()
    token = service_token()
    rounds = make_rounds(args.orders, shop_ids)
    port = free_port()
    server = start_server(port, args.workers)
    results = []
    try:
        # warm up: each worker loads the code and opens its database connection
        warm = make_rounds(2 * MAX_BATCH, shop_ids)[0][2]
        send(port, token, warm, "created", args.clients)
        pids = server_pids(server)
        for name, expect, batches in rounds:
            cpu = cpu_seconds(pids)
            seconds = send(port, token, batches, expect, args.clients)
            cpu = cpu_seconds(pids) - cpu
            results.append(
                {
                    "round": name,
                    "orders": args.orders,
                    "seconds": round(seconds, 2),
                    "per_second": round(args.orders / seconds),
                    # CPU of the web workers and their database backends per 1,000 orders, and
                    # what it allows on this machine's idle cores
                    "cpu_ms_per_1000": round(1000 * cpu / (args.orders / 1000), 1),
                    "cpu_bound_per_second": round(os.cpu_count() * args.orders / cpu),
                }
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; goal {GOAL:,}/s")
    print(
        f"{'round':<28} {'orders':>8} {'seconds':>8} {'orders/s':>9} {'CPU ms/1000':>12} "
        f"{'CPU-bound /s':>13}"
    )
    for r in results:
        met = "met" if r["per_second"] >= GOAL else "NOT met"
        print(
            f"{r['round']:<28} {r['orders']:>8,} {r['seconds']:>8.2f} {r['per_second']:>9,} "
            f"{r['cpu_ms_per_1000']:>12} {r['cpu_bound_per_second']:>13,}  {met}"
        )
    print(json.dumps({"workers": args.workers, "clients": args.clients, "rounds": results}))


if __name__ == "__main__":
    main()
