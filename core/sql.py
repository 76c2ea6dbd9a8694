"""The few words in which PostgreSQL and SQLite differ, for the set-based statements of the
jobs. Each statement is written once (`tickets.jobs`, `tickets.services.opening`,
`penalties.receivers`, `tickets.reminders`) with these fragments in it, and the same tests run
it on both databases (`make test` on SQLite, then on PostgreSQL in CI).

- `id_rows(alias)`: a list of ids passed as ONE parameter (`ids(...)`: an array on PostgreSQL, a
  JSON list on SQLite) as a one-column table to join on. A join, not `id = ANY(...)`: with the
  statistics of a freshly loaded table missing, PostgreSQL planned the filter form as a scan
  comparing every row with every id (a second per 5,000-row batch); the join is looked up by
  primary key whatever the statistics say.
- `json_object(...)`: a JSON object built in SQL (jsonb on PostgreSQL, JSON text on SQLite).
- `claim(...)`: row locks that let two job runs split a batch (FOR ... SKIP LOCKED); SQLite has
  one writer at a time and no row locks, so nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection


def postgres() -> bool:
    return connection.vendor == "postgresql"


def id_rows(alias: str) -> str:
    """SQL for a FROM item: the ids given as the single parameter `ids(...)`, as a table
    `alias` with one column, `id`."""
    if postgres():
        return f"(SELECT unnest(%s::bigint[]) AS id) AS {alias}"
    return f"(SELECT value AS id FROM json_each(%s)) AS {alias}"


def ids(values: Iterable[int]) -> Any:
    """The parameter for `id_rows`."""
    values = [int(v) for v in values]
    return values if postgres() else json.dumps(values)


def json_object(*pairs: tuple[str, str]) -> str:
    """SQL building a JSON object from (key, SQL expression) pairs."""
    args = ", ".join(f"'{key}', {expression}" for key, expression in pairs)
    return f"jsonb_build_object({args})" if postgres() else f"json_object({args})"


def claim(*tables: str) -> str:
    """The locking clause that claims the selected rows of `tables` for this transaction,
    skipping rows another run holds (NO KEY UPDATE: foreign-key checks of inserts that point at
    them are not blocked)."""
    if not postgres():
        return ""
    return f"FOR NO KEY UPDATE OF {', '.join(tables)} SKIP LOCKED"


def run(sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    """Execute one statement; its rows if it returns any."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def timestamp(value: Any) -> Any:
    """A datetime as the database driver wants it (SQLite compares UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def execute(sql: str, params: Sequence[Any] = ()) -> int:
    """Execute one statement; how many rows it changed."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
