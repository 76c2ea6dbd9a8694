"""Tasks only the worker tests load (`celery worker -I tests.worker_tasks`): a task that is still
running when the test kills the broker or the worker."""

from __future__ import annotations

import time
from pathlib import Path

from celery import shared_task


@shared_task(name="tests.sleep", ignore_result=True, acks_late=True)
def sleep(seconds: float, started_file: str) -> None:
    """Say it started (a file the test waits for), then sleep."""
    Path(started_file).write_text("started")
    time.sleep(seconds)
