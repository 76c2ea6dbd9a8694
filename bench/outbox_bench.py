"""Benchmark of the outbox drain (issue 8, item 7): 50,000 "ticket opened" e-mails to a local
SMTP server (aiosmtpd), one drain, one process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/jdpop_bench \\
        .venv/bin/python bench/outbox_bench.py

Uses the database of `bench/tickets_bench.py` (run that once first): it empties the ticket side,
opens 50,000 tickets (each queues its message), gives every shop an owner with an e-mail
address, and times `drain_outbox` until the outbox is empty. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jdpop.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from core.models import OutboxMessage  # noqa: E402
from notifications.delivery import drain_outbox  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tickets_bench  # noqa: E402

from tickets.jobs import open_overdue_tickets  # noqa: E402

MESSAGES = 50_000


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("the benchmark runs on PostgreSQL: set DATABASE_URL")
    tickets_bench.reset_tickets()
    tickets_bench._sql("TRUNCATE core_shopmembership RESTART IDENTITY")
    # Every shop gets an owner with an e-mail address (the bench's users 1.. are consumers).
    tickets_bench._sql(
        "INSERT INTO core_shopmembership (shop_id, user_id, role) "
        "SELECT s.id, u.id, 'owner' FROM core_shop s JOIN auth_user u ON u.id = s.id"
    )
    tickets_bench._sql(
        "UPDATE auth_user SET email = 'owner' || id || '@shop.example' WHERE id <= 1000"
    )
    open_overdue_tickets(now=tickets_bench.NOW, batch_size=MESSAGES, budget_seconds=3600)
    tickets_bench._sql(
        f"DELETE FROM core_outboxmessage WHERE id > (SELECT min(id) + {MESSAGES - 1} "
        "FROM core_outboxmessage)"
    )
    queued = OutboxMessage.objects.filter(sent_at__isnull=True).count()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # The SMTP server runs in a process of its own, as a real one would (in this process it
    # would take half the drain's time from it).
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-c",
            "aiosmtpd.handlers.Sink",
            "-l",
            f"127.0.0.1:{port}",
        ]
    )
    time.sleep(1.0)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    started = time.perf_counter()
    counts = drain_outbox(now=tickets_bench.NOW, budget_seconds=3600)
    seconds = time.perf_counter() - started
    server.terminate()
    result = {
        "queued": queued,
        **counts,
        "seconds": round(seconds, 1),
        "per_s": round(counts["sent"] / seconds),
        "target": "50,000 in under 60 s",
        "met": counts["sent"] >= MESSAGES and seconds < 60,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
