"""`manage.py service_account <login> [--name NAME]`: make a platform service account (group
"platform-service", no password) and print its API token, once (as the admin's
"Make a platform service account" does)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.tokens import service_account_create


class Command(BaseCommand):
    help = "Make a platform service account and print its API token (shown this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("login")
        parser.add_argument("--name", default="order feed", help="the token's name")

    def handle(self, *args: Any, **options: Any) -> None:
        login = options["login"]
        if get_user_model().objects.filter(username=login).exists():
            raise CommandError(f"the login {login!r} is already taken")
        _user, token = service_account_create(username=login, name=options["name"])
        self.stdout.write(token)
