"""`manage.py seed_demo`: load realistic, deterministic demo data.

Development only: with DJANGO_DEBUG off it refuses, unless told `--not-development` (a staging
copy, say), and then each demo login gets a password of its own, printed once, instead of the
shared public one."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.activity import demo_activity
from demo.seed import demo_logins_exist, seed_demo
from demo.words import DEMO_LOGINS

# Above this size the demo skips the ticket/dispute activity: the beat jobs open the tickets.
ACTIVITY_UP_TO = 10_000


class Command(BaseCommand):
    """Create the demo logins, shops, consumers, orders, invoice requests and history."""

    help = (
        "Load deterministic demo data: the logins "
        + ", ".join(DEMO_LOGINS)
        + " (password jdpop-demo), shops, consumers, orders, invoice requests in every state "
        "and their history. Bulk-loaded (COPY on PostgreSQL)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1, help="same seed, same data (default 1)")
        parser.add_argument("--shops", type=int, default=3, help="number of shops (default 3)")
        parser.add_argument(
            "--requests", type=int, default=300, help="number of invoice requests (default 300)"
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing (and say so) when the demo logins already exist",
        )
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="orders per insert batch (default 5000)"
        )
        parser.add_argument(
            "--not-development",
            action="store_true",
            help="run although DJANGO_DEBUG is off; each demo login then gets its own random "
            "password, printed once",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["shops"] < 1:
            raise CommandError("--shops must be at least 1")
        if options["requests"] < 0:
            raise CommandError("--requests cannot be negative")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        passwords = None
        if not settings.JDPOP_DEVELOPMENT:
            if not options["not_development"]:
                raise CommandError(
                    "seed_demo creates logins with a public password: it runs in development "
                    "(DJANGO_DEBUG=1) only. To load demo data elsewhere anyway, pass "
                    "--not-development: each demo login then gets a random password."
                )
            passwords = {login: secrets.token_urlsafe(12) for login in DEMO_LOGINS}
        if demo_logins_exist():
            if options["if_empty"]:
                self.stdout.write(
                    "seed_demo: demo logins already exist; nothing to do (--if-empty)."
                )
                return
            raise CommandError(
                "The demo logins already exist: seed_demo loads demo data into an empty database "
                "only (use --if-empty to skip quietly)."
            )
        summary = seed_demo(
            seed=options["seed"],
            shops=options["shops"],
            requests=options["requests"],
            batch_size=options["batch_size"],
            progress=options["verbosity"] > 0,
            passwords=passwords,
        )
        self.stdout.write(self.style.SUCCESS(summary.line()))
        if passwords is not None:
            self.stdout.write("seed_demo: the demo logins' passwords (shown once):")
            for login, password in passwords.items():
                self.stdout.write(f"  {login}: {password}")
        if options["requests"] <= ACTIVITY_UP_TO:
            # Tickets, penalties and disputes through the real jobs and services.
            activity = demo_activity()
            self.stdout.write(
                "seed_demo: activity "
                + ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in activity.items())
            )
