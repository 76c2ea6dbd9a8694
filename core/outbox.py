"""The outbox: messages written in the transaction of the change that causes them (so each
exists only once that change is committed, and exactly once: `key` is unique), sent later by
the `drain_outbox` job, at most once each.

Each message is locked (PostgreSQL: FOR UPDATE SKIP LOCKED, so parallel drains share the
work), rendered, sent, and marked sent in that same transaction. A failed send is counted and
kept, with its error, for the next run. The apps register a renderer per message kind at
start-up (`renderer`); this floor knows none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation

from .models import OutboxMessage, ShopMembership


@dataclass(frozen=True)
class Mail:
    subject: str
    body: str
    to: list[str]


# kind → renderer: (payload) → the mail, or None when it no longer needs to go out.
RENDERERS: dict[str, Callable[[dict], Mail | None]] = {}


def renderer(kind: str) -> Callable:
    """Register the renderer of an outbox message kind."""

    def register(fn: Callable[[dict], Mail | None]) -> Callable[[dict], Mail | None]:
        RENDERERS[kind] = fn
        return fn

    return register


def outbox_put(messages: Iterable[tuple[str, str, dict]], *, at: datetime) -> None:
    """Queue (key, kind, payload) messages in the caller's transaction; a key already queued
    is skipped (ON CONFLICT DO NOTHING), so a message exists at most once."""
    OutboxMessage.objects.bulk_create(
        [OutboxMessage(key=k, kind=kind, payload=p, created_at=at) for k, kind, p in messages],
        ignore_conflicts=True,
        batch_size=2000,
    )


def shop_staff_emails(shop_id: int) -> list[str]:
    """Every active member of the shop who has an e-mail address, whatever their role."""
    return sorted(
        set(
            ShopMembership.objects.for_system()
            .filter(shop_id=shop_id, user__is_active=True)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )


def bilingual(render: Callable[[], str]) -> str:
    """The text in the site's language (Chinese) first, then in English if that differs."""
    with translation.override(settings.LANGUAGE_CODE):
        first = render()
    with translation.override("en"):
        english = render()
    return first if english == first else f"{first}\n\n---\n\n{english}"


def _deliver(message: OutboxMessage, mail: BaseEmailBackend) -> str:
    """Send one locked message and mark it; returns "sent", "skipped" or "failed"."""
    unsent = OutboxMessage.objects.filter(pk=message.pk, sent_at__isnull=True)
    try:
        with transaction.atomic():  # a savepoint: a database error here leaves us usable
            render = RENDERERS.get(message.kind)
            if render is None:
                raise LookupError(f"no renderer for outbox kind {message.kind!r}")
            rendered = render(message.payload)
            if rendered is not None and rendered.to:
                mail.open()
                EmailMessage(
                    subject=rendered.subject,
                    body=rendered.body,
                    to=rendered.to,
                    connection=mail,
                ).send()
    except Exception as e:  # any failure is the message's, recorded, and the drain goes on
        unsent.update(attempts=F("attempts") + 1, last_error=f"{type(e).__name__}: {e}"[:2000])
        return "failed"
    if rendered is None or not rendered.to:
        why = "no longer needed" if rendered is None else "no staff e-mail"
        unsent.update(sent_at=timezone.now(), last_error=f"not sent: {why}")
        return "skipped"
    unsent.update(sent_at=timezone.now(), attempts=F("attempts") + 1, last_error="")
    return "sent"


def drain_outbox(*, now: datetime, batch_size: int = 200) -> dict[str, int]:
    """Send up to `batch_size` unsent messages, oldest first, each in its own transaction.

    Messages that failed JDPOP_OUTBOX_MAX_ATTEMPTS times are left alone (see them in the admin).
    Whatever is unsent goes, whatever `now` says: sent_at records when each mail went out.
    """
    counts = {"sent": 0, "skipped": 0, "failed": 0}
    last_id = 0
    mail = get_connection()
    try:
        for _n in range(batch_size):
            with transaction.atomic():
                message = (
                    OutboxMessage.objects.select_for_update(skip_locked=True)
                    .filter(
                        sent_at__isnull=True,
                        id__gt=last_id,
                        attempts__lt=settings.JDPOP_OUTBOX_MAX_ATTEMPTS,
                    )
                    .order_by("id")
                    .first()
                )
                if message is None:
                    break
                last_id = message.pk
                counts[_deliver(message, mail)] += 1
    finally:
        mail.close()
    return counts


def outbox_insert(select_sql: str) -> str:
    """SQL queueing one message per row of `select_sql` (columns: key, kind, payload,
    created_at); a key already queued is skipped. For set-based batches."""
    table = OutboxMessage._meta.db_table
    return (
        f"INSERT INTO {table} (key, kind, payload, created_at, attempts, last_error) "
        f"SELECT key, kind, payload, created_at, 0, '' FROM ({select_sql}) AS queued "
        "WHERE true ON CONFLICT (key) DO NOTHING"
    )
