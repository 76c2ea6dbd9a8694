"""`manage.py run_job <name> [--as-of ISO 8601]`: run any registered job once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from core.jobs import JOBS, JobCommand


class Command(JobCommand):
    help = "Run one registered job once and print one JSON line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job", help="one of: " + ", ".join(sorted(JOBS)))
        super().add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["job"] not in JOBS:
            raise CommandError(f"no job {options['job']!r}; jobs: {', '.join(sorted(JOBS))}")
        self.job = options.pop("job")
        super().handle(*args, **options)
