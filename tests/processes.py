"""Helpers for the tests that start real processes (Celery worker, beat, Redis) against the
test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def database_url() -> str:
    """The test database, as a URL for a process of our own."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def process_env(broker: str, **extra: str) -> dict[str, str]:
    """The environment of a worker or beat on `broker` and the test database."""
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker,
        "EMAIL_URL": "consolemail://",
        "DJANGO_CONN_MAX_AGE": "0",
        **extra,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc: no dependency for one test)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            children.append(int(stat.parent.name))
    return children + [d for c in children for d in descendants(c)]


@dataclass
class Worker:
    """A Celery worker process on a queue of its own (see `celery_worker`)."""

    queue: str
    process: subprocess.Popen
    log: Path
    media: Path | None = None
    timeout: float = 30

    def send(self, task: str, **options: Any) -> None:
        from jdpop.celery import app

        app.send_task(task, queue=self.queue, **options)

    def wait_for(self, condition: Callable[[], object], timeout: float | None = None) -> None:
        timeout = timeout or self.timeout
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                pytest.fail(f"the worker exited ({self.process.returncode}):\n{self.output()}")
            time.sleep(0.2)
        pytest.fail(f"nothing happened within {timeout} s; the worker said:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]


@contextmanager
def celery_worker(
    django_db_blocker, tmp_path_factory, *, prefix: str = "jdpop-test", media: bool = False
) -> Iterator[Worker]:
    """A worker process on the broker (Redis: fails clearly without it) and the test database,
    consuming a queue of its own; with `media`, sharing a media folder with the test (as web
    and worker share storage in production)."""
    from django.conf import settings
    from kombu import Connection

    broker = settings.CELERY_BROKER_URL
    assert broker.startswith("redis://"), f"CELERY_BROKER_URL must be Redis, not {broker!r}"
    with Connection(broker, connect_timeout=2) as conn:  # no Redis: fail here, clearly
        conn.ensure_connection(max_retries=1, timeout=2)

    queue = f"{prefix}-{uuid.uuid4().hex[:12]}"
    folder = tmp_path_factory.mktemp("media") if media else None
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    extra = {"DJANGO_MEDIA_ROOT": str(folder)} if folder else {}
    with django_db_blocker.unblock():
        env = process_env(broker, **extra)
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                str(BIN / "celery"),
                *("-A", "jdpop", "worker", "-P", "solo", "-c", "1", "-Q", queue),
                *("--without-heartbeat", "--without-gossip", "--without-mingle"),
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Worker(queue=queue, process=process, log=log, media=folder)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        with Connection(broker, connect_timeout=2) as conn:
            conn.default_channel.queue_delete(queue)
