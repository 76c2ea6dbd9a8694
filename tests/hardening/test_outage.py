"""Issue 8, items 5 and 6: the jobs come back by themselves after a broker outage or a killed
worker, and /healthz tells when no worker consumes.

The outage tests run the Procfile's own worker and beat commands (through `bin/keep-running`,
as `make run` does) against a Redis of their own, which they kill and start again, and against
the test database. PostgreSQL and a `redis-server` binary are required: without them these
tests fail, they do not skip.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import redis
import time_machine
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from kombu import Connection

from core.jobs import job_run
from core.models import JobRun
from jdpop.celery import app
from tests.factories import InvoiceRequestFactory
from tests.processes import ROOT, descendants, free_port, process_env
from tickets.models import UrgeTicket

S = timedelta(seconds=1)
AT = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line)


# --- /healthz: a worker that consumes nothing turns it 503 ----------------------------------


def _worker_check(client) -> tuple[int, dict]:
    response = client.get("/healthz")
    return response.status_code, response.json()["worker"]


@pytest.mark.django_db
def test_the_default_silence_is_three_times_the_shortest_job_interval():
    shortest = min(entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values())
    assert settings.JDPOP_WORKER_SILENT_AFTER == 3 * shortest * S == 90 * S


@pytest.mark.django_db
def test_healthz_turns_503_when_no_worker_started_a_job_within_the_silence(client):
    with time_machine.travel(AT, tick=False):
        job_run("drain_outbox", lambda *, now: {}, now=AT)
    with time_machine.travel(AT + 90 * S, tick=False):
        status, worker = _worker_check(client)
        assert (status, worker["ok"], worker["last_started_seconds"]) == (200, True, 90)
    with time_machine.travel(AT + 91 * S, tick=False):
        status, worker = _worker_check(client)
        assert (status, worker["ok"], worker["last_started_seconds"]) == (503, False, 91)
        # the next run a worker starts makes it well again
        job_run("open_overdue_tickets", lambda *, now: {}, now=AT + 91 * S)
        assert _worker_check(client)[0] == 200


@pytest.mark.django_db
def test_a_fresh_install_is_well_until_beat_has_sent_for_longer_than_the_silence(client):
    assert _worker_check(client) == (
        200,
        {
            "ok": True,
            "last_started_seconds": None,
            "beat_sending_seconds": None,
            "silent_after": 90,
        },
    )
    every_30s = IntervalSchedule.objects.create(every=30, period=IntervalSchedule.SECONDS)
    # beat's records: sent 3 times, 30 s apart, the last 1 s ago: sending for 61 s
    task = PeriodicTask.objects.create(
        name="outbox", task="core.drain_outbox", interval=every_30s, total_run_count=3
    )
    with time_machine.travel(AT, tick=False):
        PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=AT - S)
        status, worker = _worker_check(client)
        assert (status, worker["beat_sending_seconds"]) == (200, 61)
        # one more send nobody took: sending for 91 s, and no worker ever started a job
        PeriodicTask.objects.filter(pk=task.pk).update(total_run_count=4)
        status, worker = _worker_check(client)
        assert (status, worker["ok"], worker["beat_sending_seconds"]) == (503, False, 91)


# --- the broker's settings fit the jobs ----------------------------------------------------


def test_a_task_is_never_handed_to_a_second_worker_while_its_job_may_still_run():
    """The visibility timeout (after which Redis hands an unacknowledged task to another
    worker) is longer than a job may run, and far shorter than the hour it was."""
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        assert "visibility_timeout" not in settings.CELERY_BROKER_TRANSPORT_OPTIONS
        return
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] * S
    assert settings.JDPOP_JOB_TIME_LIMIT < timeout <= 2 * settings.JDPOP_JOB_TIME_LIMIT
    assert timeout <= 10 * 60 * S


def test_make_run_and_compose_start_the_worker_and_beat_again_when_they_exit():
    commands = procfile()
    assert commands["worker"].startswith("bin/keep-running celery -A jdpop worker")
    assert commands["beat"].startswith("bin/keep-running celery -A jdpop beat")
    assert os.access(ROOT / "bin" / "keep-running", os.X_OK)


def test_keep_running_starts_a_command_again_and_stops_when_told(tmp_path):
    runs = tmp_path / "runs"
    runs.touch()
    wrapper = subprocess.Popen(
        [ROOT / "bin" / "keep-running", "sh", "-c", f"echo run >> {runs}; exit 3"],
        env={**os.environ, "KEEP_RUNNING_PAUSE": "1"},
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and runs.read_text().count("run") < 2:
        time.sleep(0.1)
    wrapper.send_signal(signal.SIGTERM)
    assert wrapper.wait(5) == 0
    assert runs.read_text().count("run") >= 2
    assert "exited with status 3; starting it again in 1 s" in wrapper.stderr.read()


# --- a real outage: Redis killed mid-task, a worker killed outright ------------------------


@dataclass
class RedisServer:
    """A Redis of the test's own that keeps its data (append-only file, as docker-compose's)."""

    dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (.ci/run installs it)"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)]
            + ["--appendonly", "yes", "--appendfsync", "always", "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        assert self.process
        self.process.kill()
        self.process.wait(10)


@dataclass
class Stack:
    redis: RedisServer
    processes: dict[str, subprocess.Popen]
    logs: dict[str, Path]

    def send(self, task: str, *args: object) -> None:
        with Connection(self.redis.url) as conn:
            app.send_task(task, args=args, connection=conn)

    def wait_for(self, condition: Callable[[], object], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            for name, process in self.processes.items():
                if process.poll() is not None:
                    pytest.fail(f"keep-running for the {name} exited:\n{self.output(name)}")
            time.sleep(0.2)
        pytest.fail(
            f"nothing happened within {timeout} s.\n--- worker:\n{self.output('worker')}"
            f"\n--- beat:\n{self.output('beat')}"
        )

    def output(self, name: str) -> str:
        return self.logs[name].read_text(errors="replace")[-6000:]

    def kill_worker(self) -> None:
        """SIGKILL to the worker's processes (the main one and its pool), not the wrapper."""
        for pid in descendants(self.processes["worker"].pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def stack(transactional_db, tmp_path) -> Iterator[Stack]:
    """Redis, and the Procfile's worker and beat (one worker slot; every job every 2 s), with
    the test-only tasks of `tests.worker_tasks`."""
    server = RedisServer(dir=tmp_path)
    server.start()
    env = process_env(
        server.url,
        KEEP_RUNNING_PAUSE="1",
        **{
            f"JDPOP_{name}_EVERY_SECONDS": "2"
            for name in ("TICKET_JOBS", "REMINDERS", "OUTBOX", "DISPUTE_JOBS")
        },
    )
    commands = procfile()
    extra = {"worker": " -I tests.worker_tasks --concurrency=1", "beat": ""}
    processes, logs = {}, {}
    for name in ("worker", "beat"):
        logs[name] = tmp_path / f"{name}.log"
        with logs[name].open("w") as out:
            processes[name] = subprocess.Popen(
                shlex.split(commands[name] + extra[name]),
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    try:
        stack = Stack(redis=server, processes=processes, logs=logs)
        stack.wait_for(lambda: JobRun.objects.filter(ok=True).exists())  # both are up
        yield stack
    finally:
        for process in processes.values():
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        if server.process and server.process.poll() is None:
            server.kill()


def _overdue_requests(n: int) -> list:
    return InvoiceRequestFactory.create_batch(n, requested_at=timezone.now() - timedelta(days=11))


def _tickets_for(requests: list) -> list[int]:
    return sorted(
        UrgeTicket.objects.for_system()
        .filter(request__in=requests)
        .values_list("request_id", flat=True)
    )


@pytest.mark.postgres
@pytest.mark.celery_worker
def test_the_jobs_run_again_by_themselves_after_redis_dies_mid_task(stack, tmp_path):
    started, queued = tmp_path / "started", tmp_path / "queued"
    stack.send("tests.sleep", 6, str(started))
    stack.send("tests.sleep", 0, str(queued))  # waits in Redis: the one worker slot is busy
    stack.wait_for(started.exists)

    stack.redis.kill()  # SIGKILL, mid-task
    overdue = _overdue_requests(3)  # they fall due while the broker is gone
    time.sleep(3)
    stack.redis.start()  # the same data directory: what was queued is still there
    back = timezone.now()

    # Within a minute: the queued task ran, and the scheduled jobs run again and did their work
    stack.wait_for(lambda: queued.exists() and len(_tickets_for(overdue)) == 3, timeout=60)
    stack.wait_for(lambda: JobRun.objects.filter(started_at__gt=back, ok=True).exists())
    # and nothing twice
    assert _tickets_for(overdue) == sorted(r.pk for r in overdue)


@pytest.mark.postgres
@pytest.mark.celery_worker
def test_a_worker_killed_outright_is_replaced_and_the_next_scheduled_run_does_the_work(
    stack, tmp_path
):
    started = tmp_path / "started"
    stack.send("tests.sleep", 120, str(started))
    stack.wait_for(started.exists)

    stack.kill_worker()  # its task stays unacknowledged in Redis (for the visibility timeout)
    killed = timezone.now()
    overdue = _overdue_requests(3)

    # The wrapper starts a new worker and beat's next run opens the tickets: the lost task
    # cost nothing, since every job works from the database.
    stack.wait_for(lambda: len(_tickets_for(overdue)) == 3, timeout=60)
    assert JobRun.objects.filter(name="open_overdue_tickets", started_at__gt=killed).exists()
    assert "exited with status 137" in stack.logs["worker"].read_text()  # and was started again
    assert _tickets_for(overdue) == sorted(r.pk for r in overdue)
