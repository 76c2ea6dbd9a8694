"""What the kinds share: queueing events from a signal's ids (one statement), and links."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.urls import get_script_prefix, get_urlconf, reverse

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


_PLACEHOLDER = "987654321987"
_LINKS: dict[tuple[str, str, str, str | None], tuple[str, str]] = {}


def link(name: str, pk: int) -> str:
    """`reverse(name, args=[pk])`, the URL reversed once per name and URL configuration (then
    only the id changes): the drain makes one or two links per event, and `reverse` costs more
    than the rest of an event's rendering."""
    key = (name, settings.ROOT_URLCONF, get_script_prefix(), get_urlconf())
    parts = _LINKS.get(key)
    if parts is None:
        before, after = reverse(name, args=[_PLACEHOLDER]).split(_PLACEHOLDER)
        parts = _LINKS[key] = (before, after)
    return f"{parts[0]}{int(pk)}{parts[1]}"
