"""`manage.py enforce_dispute_deadlines [--as-of ISO 8601]`: run the dispute deadline job once
and print one JSON line."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from disputes.jobs import run_enforce_deadlines
from tickets.runs import parse_as_of


class Command(BaseCommand):
    help = (
        "Send disputes past the merchant's deadline to the platform (with a penalty) and "
        "settle those past the consumer's deadline. Prints one JSON line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of",
            type=parse_as_of,
            default=None,
            help="run as if it were this instant (ISO 8601; no offset means China time; "
            "default: now)",
        )

    def handle(self, *args: Any, as_of: datetime | None = None, **options: Any) -> None:
        result = run_enforce_deadlines(as_of=as_of)
        self.stdout.write(json.dumps(result, ensure_ascii=False, cls=DjangoJSONEncoder))
