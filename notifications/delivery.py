"""The outbox drain (`drain_outbox`, every 30 s): each event of the outbox reaches its people.

The drain takes the unsent events a batch at a time, oldest first, locked (PostgreSQL: FOR
UPDATE SKIP LOCKED, so parallel drains share the work), and for each batch, in one transaction:

1. renders them a kind at a time (`notifications.events`: one renderer call per kind), and
   each notice's words once per language (one `translation.override` per language a batch);
2. finds the recipients of every notice (the shop's staff, its owners, or the consumer: one
   query for the batch) and their settings (one query);
3. starts sending the e-mails (one per recipient who wants it, in their language; see
   `notifications.mail`) over JDPOP_OUTBOX_SMTP_SESSIONS SMTP sessions, each on a thread of its
   own, the mails of one object on one session so they keep their order;
4. meanwhile writes a `Notification` per recipient (the inbox) and a `WebhookDelivery` per
   endpoint of the shop (sent by `deliver_webhooks`), a few set-based INSERTs with ON CONFLICT
   DO NOTHING: once per event;
5. once the e-mails went, marks the events sent. An event whose e-mail failed stays unsent
   with its error and is tried again next run (its inbox rows and deliveries already exist
   and are not written twice; its e-mails go again: at least once). It drains until nothing
   is left or its time budget ends.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.db.models import F, Model
from django.utils import timezone, translation

from core import sql
from core.models import OutboxMessage, ShopMembership

from . import mail
from .events import CONSUMER, KINDS, OWNERS, STAFF, Event, Notice
from .mail import Mail
from .models import Notification, NotificationSettings, WebhookDelivery, WebhookEndpoint

LANGUAGES = ("zh-hans", "en")


@dataclass(frozen=True)
class Recipient:
    user_id: int
    email: str
    language: str  # "" (Chinese first, English too), "zh-hans" or "en"
    muted: frozenset[str]


def message_id(key: str) -> str:
    """The `webhook-id` of an event: the same for every try and every endpoint."""
    return "msg_" + hashlib.sha256(key.encode()).hexdigest()[:32]


def _render(batch: list[OutboxMessage]) -> dict[int, Event | None | Exception]:
    """Each event's rendering (None: no longer needed), or the error its renderer raised."""
    rendered: dict[int, Event | None | Exception] = {}
    by_kind: dict[str, list[OutboxMessage]] = defaultdict(list)
    for message in batch:
        by_kind[message.kind].append(message)
    for kind, messages in by_kind.items():
        if kind not in KINDS:
            error = LookupError(f"no renderer for event kind {kind!r}")
            rendered.update((m.pk, error) for m in messages)
            continue
        try:
            with transaction.atomic():  # a savepoint: a database error here leaves us usable
                events = KINDS[kind].render([m.payload for m in messages])
        except Exception as e:  # the whole kind failed to render: each event says so
            rendered.update((m.pk, e) for m in messages)
            continue
        rendered.update(zip((m.pk for m in messages), events, strict=True))
    return rendered


def _recipients(events: Iterable[Event]) -> dict[tuple[int | None, str], list[Recipient]]:
    """Who each audience is: (shop, STAFF or OWNERS) → its active members, (consumer, CONSUMER)
    → that consumer if active; with each one's e-mail settings. Three queries."""
    events = list(events)
    shops = {e.shop_id for e in events if e.shop_id is not None}
    consumers = {e.consumer_id for e in events if e.consumer_id is not None}
    members = list(
        ShopMembership.objects.for_system()
        .filter(shop_id__in=shops, user__is_active=True)
        .values_list("shop_id", "role", "user_id", "user__email")
    )
    people = list(
        get_user_model().objects.filter(pk__in=consumers, is_active=True).values_list("pk", "email")
    )
    user_ids = {m[2] for m in members} | {p[0] for p in people}
    chosen = {
        user_id: (language, frozenset(muted or ()))
        for user_id, language, muted in NotificationSettings.objects.filter(
            user_id__in=user_ids
        ).values_list("user_id", "language", "email_muted")
    }

    def recipient(user_id: int, email: str) -> Recipient:
        language, muted = chosen.get(user_id, ("", frozenset()))
        return Recipient(user_id=user_id, email=email or "", language=language, muted=muted)

    audiences: dict[tuple[int | None, str], list[Recipient]] = defaultdict(list)
    for shop_id, role, user_id, email in members:
        audiences[(shop_id, STAFF)].append(recipient(user_id, email))
        if role == ShopMembership.Role.OWNER:
            audiences[(shop_id, OWNERS)].append(recipient(user_id, email))
    for user_id, email in people:
        audiences[(user_id, CONSUMER)].append(recipient(user_id, email))
    return audiences


def _texts(notices: list[Notice]) -> list[dict[str, dict[str, str]]]:
    """Each notice's subject and body in every language: one `translation.override` per
    language for the whole batch, each message translated once per language."""
    texts: list[dict[str, dict[str, str]]] = [{} for _ in notices]
    for language in LANGUAGES:
        translated: dict[str, str] = {}
        with translation.override(language):
            for notice, text in zip(notices, texts, strict=True):
                text[language] = {
                    "subject": notice.render("subject", translated),
                    "body": notice.render("body", translated),
                }
    return texts


def _mail(kind: str, texts: dict[str, dict[str, str]], link: str, recipient: Recipient) -> Mail:
    """The e-mail in the recipient's language; with none chosen, Chinese first, English too."""
    url = f"{settings.JDPOP_SITE_URL}{link}"
    if recipient.language in texts:
        words = texts[recipient.language]
        subject, body = words["subject"], f"{words['body']}\n\n{url}"
    else:
        zh, en = texts[settings.LANGUAGE_CODE], texts["en"]
        subject = zh["subject"]
        body = f"{zh['body']}\n\n{url}"
        if en["body"] != zh["body"]:
            body += f"\n\n---\n\n{en['subject']}\n\n{en['body']}\n\n{url}"
    return Mail(kind=kind, to=recipient.email, subject=subject, body=body)


def _audience_key(event: Event, notice: Notice) -> tuple[int | None, str]:
    return (event.consumer_id, CONSUMER) if notice.to == CONSUMER else (event.shop_id, notice.to)


@dataclass
class _Plan:
    """What one batch becomes: the rows to insert and each event's e-mails (with the object
    they concern, for their order)."""

    inbox: list[tuple] = field(default_factory=list)
    deliveries: list[tuple] = field(default_factory=list)
    mails: dict[int, list[tuple[str, Mail]]] = field(default_factory=lambda: defaultdict(list))


INBOX_FIELDS = ("event", "user", "shop", "kind", "texts", "link", "created_at")
DELIVERY_FIELDS = (
    "endpoint", "event", "message_id", "event_type", "object_key", "payload", "state",
    "created_at", "next_attempt_at", "attempts", "step", "last_error",
)  # fmt: skip


def _plan(batch: list[OutboxMessage], events: dict[int, Event], now: datetime) -> _Plan:
    """The inbox rows, webhook deliveries and e-mails of `events` (three queries)."""
    audiences = _recipients(events.values())
    endpoints: dict[int, list[int]] = defaultdict(list)
    for endpoint_id, shop_id in (
        WebhookEndpoint.objects.for_system()
        .filter(shop_id__in={e.shop_id for e in events.values() if e.shop_id is not None})
        .values_list("id", "shop_id")
    ):
        endpoints[shop_id].append(endpoint_id)
    # Only the notices someone receives are rendered.
    heard = [
        (message, event, notice, people)
        for message in batch
        if (event := events.get(message.pk)) is not None
        for notice in event.notices
        if (people := audiences.get(_audience_key(event, notice)))
    ]
    plan = _Plan()
    stamp = sql.timestamp(now)
    for (message, event, notice, people), texts in zip(
        heard, _texts([h[2] for h in heard]), strict=True
    ):
        shop_id = None if notice.to == CONSUMER else event.shop_id
        row = (
            shop_id,
            message.kind,
            json.dumps(texts, ensure_ascii=False),
            notice.link,
            sql.timestamp(message.created_at),
        )
        for person in people:
            plan.inbox.append((message.pk, person.user_id, *row))
            if person.email and message.kind not in person.muted:
                plan.mails[message.pk].append(
                    (event.object, _mail(message.kind, texts, notice.link, person))
                )
    for message in batch:
        event = events.get(message.pk)
        if event is None or not event.webhook:
            continue
        payload = json.dumps(
            {"type": message.kind, "timestamp": message.created_at.isoformat(), "data": event.data}
        )
        for endpoint_id in endpoints.get(event.shop_id, []):
            plan.deliveries.append(
                (
                    endpoint_id,
                    message.pk,
                    message_id(message.key),
                    message.kind,
                    event.object,
                    payload,
                    WebhookDelivery.State.PENDING,
                    stamp,
                    stamp,
                    0,
                    0,
                    "",
                )  # fmt: skip
            )
    return plan


def _insert(model: type[Model], fields: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert `rows` (values of `fields` in that order, JSON as text, times as `sql.timestamp`
    gives them), skipping those a unique constraint already holds (ON CONFLICT DO NOTHING):
    on PostgreSQL one statement per 5,000 rows, the columns passed as arrays. What
    `bulk_create(ignore_conflicts=True)` does, for a tenth of its CPU (no model instances)."""
    if not rows:
        return
    meta = [model._meta.get_field(name) for name in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in meta)
    insert = f"INSERT INTO {model._meta.db_table} ({columns})"
    with connection.cursor() as cursor:
        if not sql.postgres():
            marks = ", ".join(["%s"] * len(meta))
            cursor.executemany(f"{insert} VALUES ({marks}) ON CONFLICT DO NOTHING", rows)
            return
        arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in meta)
        for start in range(0, len(rows), 5000):
            columns_of = [list(values) for values in zip(*rows[start : start + 5000], strict=True)]
            cursor.execute(
                f"{insert} SELECT * FROM unnest({arrays}) ON CONFLICT DO NOTHING", columns_of
            )


class _Sender:
    """One SMTP session, kept open across messages and batches (opened again after a failure),
    for one of the drain's sending threads."""

    def __init__(self) -> None:
        self.connection: BaseEmailBackend = get_connection()
        self.open = False

    def send(self, items: list[tuple[int, Mail]]) -> dict[int, Exception]:
        """Send each (event id, e-mail) in order; the events one of whose mails failed (their
        other mails are not sent: the event goes again whole)."""
        failed: dict[int, Exception] = {}
        for pk, email in items:
            if pk in failed:
                continue
            try:
                if not self.open:
                    self.connection.open()
                    self.open = True
                mail.send(self.connection, email)
            except Exception as e:  # this event's failure: recorded, the others go on
                failed[pk] = e
                self.close()  # a broken session is opened afresh for the next message
        return failed

    def close(self) -> None:
        try:
            self.connection.close()
        finally:
            self.open = False


class _Post:
    """The drain's SMTP sessions, each on a thread of its own: a batch's e-mails go while the
    batch's rows are written (the database and the SMTP server work at the same time)."""

    def __init__(self, sessions: int) -> None:
        self.senders = [_Sender() for _ in range(sessions)]
        self.pool = ThreadPoolExecutor(max_workers=sessions, thread_name_prefix="drain-smtp")

    def start(self, mails: dict[int, list[tuple[str, Mail]]]) -> list[Future]:
        """Start sending every e-mail; the mails of one object go over one session, in the
        order they were queued (events in id order)."""
        shares: list[list[tuple[int, Mail]]] = [[] for _ in self.senders]
        for pk in sorted(mails):
            for obj, email in mails[pk]:
                share = int(hashlib.md5(obj.encode()).hexdigest(), 16) % len(self.senders)
                shares[share].append((pk, email))
        return [
            self.pool.submit(sender.send, share)
            for sender, share in zip(self.senders, shares, strict=True)
            if share
        ]

    @staticmethod
    def wait(started: list[Future]) -> dict[int, Exception]:
        """The events one of whose mails failed, once every started send is done."""
        failed: dict[int, Exception] = {}
        for future in started:
            failed.update(future.result())
        return failed

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        for sender in self.senders:
            sender.close()


def _deliver_batch(batch: list[OutboxMessage], post: _Post, now: datetime) -> Counter:
    """Render, fan out, send and mark one locked batch; counts of events delivered, skipped and
    failed, and of the e-mails sent."""
    rendered = _render(batch)
    failed: dict[int, Exception] = {pk: e for pk, e in rendered.items() if isinstance(e, Exception)}
    events = {pk: e for pk, e in rendered.items() if isinstance(e, Event)}
    skipped = [pk for pk, e in rendered.items() if e is None]
    plan = _plan(batch, events, now)
    sending = post.start(plan.mails)
    try:
        _insert(Notification, INBOX_FIELDS, plan.inbox)
        _insert(WebhookDelivery, DELIVERY_FIELDS, plan.deliveries)
    finally:
        failed.update(post.wait(sending))
    delivered = [pk for pk in events if pk not in failed]
    unsent = OutboxMessage.objects.filter(sent_at__isnull=True)
    if delivered:
        unsent.filter(pk__in=delivered).update(
            sent_at=now, attempts=F("attempts") + 1, last_error=""
        )
    if skipped:
        unsent.filter(pk__in=skipped).update(sent_at=now, last_error="not sent: no longer needed")
    for pk, error in failed.items():
        unsent.filter(pk=pk).update(
            attempts=F("attempts") + 1, last_error=f"{type(error).__name__}: {error}"[:2000]
        )
    return Counter(
        sent=len(delivered),
        skipped=len(skipped),
        failed=len(failed),
        emails=sum(len(m) for pk, m in plan.mails.items() if pk not in failed),
    )


def drain_outbox(
    *, now: datetime, batch_size: int = 500, budget_seconds: float = 50.0
) -> dict[str, int]:
    """Deliver every unsent event, oldest first, a batch at a time, until none is left or the
    time budget ends (see the module docstring). Events that failed JDPOP_OUTBOX_MAX_ATTEMPTS
    times are left alone (see them in the admin)."""
    counts: Counter = Counter(sent=0, skipped=0, failed=0, emails=0)
    started = time.monotonic()
    last_id = 0
    post = _Post(settings.JDPOP_OUTBOX_SMTP_SESSIONS)
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
                counts.update(_deliver_batch(batch, post, timezone.now()))
    finally:
        post.close()
    return dict(counts)
