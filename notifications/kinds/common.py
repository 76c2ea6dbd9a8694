"""What the kinds share: queueing events from a signal's ids (one statement), and links."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models

from core.outbox import outbox_insert, outbox_put
from core.sql import id_rows, json_object, run, timestamp
from core.sql import ids as sql_ids


def queue_each(
    model: type[models.Model],
    ids: list[int],
    *,
    kind: str,
    key: str,
    payload: dict[str, str],
    at: datetime,
) -> int:
    """Queue one `kind` event per row of `model` among `ids`, in one statement: `key` and the
    `payload` values are SQL expressions on the row `s` (e.g. "'ticket:' || s.id ||
    ':breached'", {"ticket_id": "s.id"}). A key already queued is skipped. How many it
    queued."""
    body = json_object(*payload.items())
    select = (
        f"SELECT {key} AS key, %s AS kind, {body} AS payload, %s AS created_at "
        f"FROM {model._meta.db_table} s JOIN {id_rows('chosen')} ON chosen.id = s.id"
    )
    return len(run(outbox_insert(select) + " RETURNING id", [kind, timestamp(at), sql_ids(ids)]))


def queue_one(key: str, kind: str, payload: dict, *, at: datetime) -> None:
    """Queue one event (skipped if its key is already queued)."""
    outbox_put([(key, kind, payload)], at=at)


def site_url(path: str) -> str:
    return f"{settings.JDPOP_SITE_URL}{path}"
