"""The outbox: messages written in the transaction of the change that causes them (so each
exists only once that change is committed, and exactly once: `key` is unique), sent later by
the `drain_outbox` job.

The job drains until nothing is left (or its time budget ends), a batch at a time: the batch
is locked (PostgreSQL: FOR UPDATE SKIP LOCKED, so parallel drains share the work), rendered a
kind at a time (one renderer call, a few queries, per kind and batch), sent over one SMTP
connection, and marked in that same transaction: sent ones with one UPDATE, a failed send
counted and kept with its error for the next run. Delivery is at least once: a drain killed
after sending and before its commit sends that batch again. The apps register a renderer per
message kind at start-up (`renderer`); this floor knows none of them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
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


Renderer = Callable[[list[dict]], list["Mail | None"]]
# kind → renderer: (payloads) → for each, the mail, or None when it no longer needs to go out.
RENDERERS: dict[str, Renderer] = {}


def renderer(kind: str) -> Callable[[Renderer], Renderer]:
    """Register the renderer of an outbox message kind: it renders many payloads at once."""

    def register(fn: Renderer) -> Renderer:
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


def shop_staff_emails(shop_ids: Iterable[int]) -> dict[int, list[str]]:
    """For each shop, every active member who has an e-mail address, whatever their role (one
    query for them all)."""
    emails: dict[int, set[str]] = {shop_id: set() for shop_id in shop_ids}
    members = (
        ShopMembership.objects.for_system()
        .filter(shop_id__in=list(emails), user__is_active=True)
        .exclude(user__email="")
        .values_list("shop_id", "user__email")
    )
    for shop_id, email in members:
        emails[shop_id].add(email)
    return {shop_id: sorted(found) for shop_id, found in emails.items()}


def bilingual(render: Callable[[], str]) -> str:
    """The text in the site's language (Chinese) first, then in English if that differs."""
    with translation.override(settings.LANGUAGE_CODE):
        first = render()
    with translation.override("en"):
        english = render()
    return first if english == first else f"{first}\n\n---\n\n{english}"


def _render(batch: list[OutboxMessage]) -> dict[int, Mail | None | Exception]:
    """Each message's mail (None: no longer needed), or the error its renderer raised."""
    rendered: dict[int, Mail | None | Exception] = {}
    by_kind: dict[str, list[OutboxMessage]] = {}
    for message in batch:
        by_kind.setdefault(message.kind, []).append(message)
    for kind, messages in by_kind.items():
        try:
            render = RENDERERS[kind]
        except KeyError:
            error = LookupError(f"no renderer for outbox kind {kind!r}")
            rendered.update((m.pk, error) for m in messages)
            continue
        try:
            with transaction.atomic():  # a savepoint: a database error here leaves us usable
                mails = render([m.payload for m in messages])
        except Exception as e:  # the whole kind failed to render: each message says so
            rendered.update((m.pk, e) for m in messages)
            continue
        rendered.update(zip((m.pk for m in messages), mails, strict=True))
    return rendered


class _Sender:
    """One SMTP session, kept open across messages and batches (opened again after a failure),
    for one of the drain's sending threads."""

    def __init__(self) -> None:
        self.connection: BaseEmailBackend = get_connection()
        self.open = False

    def send(self, items: list[tuple[int, EmailMessage]]) -> tuple[list[int], dict[int, Exception]]:
        """Send each (message id, e-mail); the ids sent, and the failures by id."""
        sent, failed = [], {}
        for pk, email in items:
            try:
                if not self.open:
                    self.connection.open()
                    self.open = True
                self.connection.send_messages([email])
            except Exception as e:  # this message's failure: recorded, the others go on
                failed[pk] = e
                self.close()  # a broken session is opened afresh for the next message
            else:
                sent.append(pk)
        return sent, failed

    def close(self) -> None:
        try:
            self.connection.close()
        finally:
            self.open = False


def _send_batch(batch: list[OutboxMessage], senders: list[_Sender], now: datetime) -> Counter:
    """Render, send and mark one locked batch; counts of sent, skipped and failed. The e-mails
    are shared among the senders, each on its own SMTP session and thread, so that one
    server's round trips overlap (the threads touch no database)."""
    sent: list[int] = []
    skipped: dict[int, str] = {}
    failed: dict[int, Exception] = {}
    outgoing: list[tuple[int, EmailMessage]] = []
    for pk, mail in _render(batch).items():
        if isinstance(mail, Exception):
            failed[pk] = mail
        elif mail is None or not mail.to:
            skipped[pk] = "no longer needed" if mail is None else "no staff e-mail"
        else:
            outgoing.append((pk, EmailMessage(subject=mail.subject, body=mail.body, to=mail.to)))
    shares = [outgoing[i :: len(senders)] for i in range(len(senders))]
    with ThreadPoolExecutor(max_workers=len(senders)) as pool:
        for ok, bad in pool.map(
            lambda pair: pair[0].send(pair[1]), zip(senders, shares, strict=True)
        ):
            sent.extend(ok)
            failed.update(bad)
    unsent = OutboxMessage.objects.filter(sent_at__isnull=True)
    if sent:
        unsent.filter(pk__in=sent).update(sent_at=now, attempts=F("attempts") + 1, last_error="")
    for why in set(skipped.values()):
        ids = [pk for pk, reason in skipped.items() if reason == why]
        unsent.filter(pk__in=ids).update(sent_at=now, last_error=f"not sent: {why}")
    for pk, error in failed.items():
        unsent.filter(pk=pk).update(
            attempts=F("attempts") + 1, last_error=f"{type(error).__name__}: {error}"[:2000]
        )
    return Counter(sent=len(sent), skipped=len(skipped), failed=len(failed))


def drain_outbox(
    *, now: datetime, batch_size: int = 500, budget_seconds: float = 50.0
) -> dict[str, int]:
    """Send every unsent message, oldest first, a batch at a time, until none is left or the
    time budget ends (see the module docstring), over JDPOP_OUTBOX_SMTP_SESSIONS sessions at
    once. Messages that failed JDPOP_OUTBOX_MAX_ATTEMPTS times are left alone (see them in
    the admin). Whatever is unsent goes, whatever `now` says: sent_at records when each mail
    went out."""
    counts: Counter = Counter(sent=0, skipped=0, failed=0)
    started = time.monotonic()
    last_id = 0
    senders = [_Sender() for _ in range(settings.JDPOP_OUTBOX_SMTP_SESSIONS)]
    try:
        while time.monotonic() - started < budget_seconds:
            with transaction.atomic():
                batch = list(
                    OutboxMessage.objects.select_for_update(skip_locked=True)
                    .filter(
                        sent_at__isnull=True,
                        id__gt=last_id,
                        attempts__lt=settings.JDPOP_OUTBOX_MAX_ATTEMPTS,
                    )
                    .order_by("id")[:batch_size]
                )
                if not batch:
                    break
                last_id = batch[-1].pk
                counts.update(_send_batch(batch, senders, timezone.now()))
    finally:
        for sender in senders:
            sender.close()
    return dict(counts)


def outbox_insert(select_sql: str) -> str:
    """SQL queueing one message per row of `select_sql` (columns: key, kind, payload,
    created_at); a key already queued is skipped. For set-based batches."""
    table = OutboxMessage._meta.db_table
    return (
        f"INSERT INTO {table} (key, kind, payload, created_at, attempts, last_error) "
        f"SELECT key, kind, payload, created_at, 0, '' FROM ({select_sql}) AS queued "
        "WHERE true ON CONFLICT (key) DO NOTHING"
    )
