"""The outbox drain (`drain_outbox`, every 30 s): each event of the outbox reaches its people.

The drain takes the unsent events a batch at a time, oldest first, locked (PostgreSQL: FOR
UPDATE SKIP LOCKED, so parallel drains share the work), and for each batch, in one transaction:

1. renders them a kind at a time (`notifications.events`: one renderer call per kind);
2. finds the recipients of every notice (the shop's staff, its owners, or the consumer: one
   query for the batch) and their settings (one query);
3. writes a `Notification` per recipient (the inbox) and a `WebhookDelivery` per endpoint of
   the shop (sent by `deliver_webhooks`), both with ON CONFLICT DO NOTHING: once per event;
4. sends the e-mails (one per recipient who wants it, in their language) over
   JDPOP_OUTBOX_SMTP_SESSIONS SMTP sessions at once, the mails of one object on one session so
   they keep their order;
5. marks the events sent. An event whose e-mail failed stays unsent with its error and is
   tried again next run (its inbox rows and deliveries already exist and are not written
   twice; its e-mails go again: at least once). It drains until nothing is left or its time
   budget ends.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation

from core.models import OutboxMessage, ShopMembership

from .events import CONSUMER, KINDS, OWNERS, STAFF, Event, Notice
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


def _texts(notice: Notice) -> dict[str, dict[str, str]]:
    texts = {}
    for language in LANGUAGES:
        with translation.override(language):
            texts[language] = {"subject": notice.render("subject"), "body": notice.render("body")}
    return texts


def _email(
    kind: str, texts: dict[str, dict[str, str]], link: str, recipient: Recipient
) -> EmailMessage:
    """The e-mail in the recipient's language; with none chosen, Chinese first, English too.
    Its `X-Jdpop-Event` header names the event kind (for the recipient's mail filters)."""
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
    return EmailMessage(
        subject=subject, body=body, to=[recipient.email], headers={"X-Jdpop-Event": kind}
    )


def _audience_key(event: Event, notice: Notice) -> tuple[int | None, str]:
    return (event.consumer_id, CONSUMER) if notice.to == CONSUMER else (event.shop_id, notice.to)


def _fan_out(
    batch: list[OutboxMessage], events: dict[int, Event], now: datetime
) -> dict[int, list[tuple[str, EmailMessage]]]:
    """Write the inbox rows and webhook deliveries of `events`; return each event's e-mails
    (with the object they concern, for their order)."""
    audiences = _recipients(events.values())
    endpoints: dict[int, list[int]] = defaultdict(list)
    for endpoint_id, shop_id in (
        WebhookEndpoint.objects.for_system()
        .filter(shop_id__in={e.shop_id for e in events.values() if e.shop_id is not None})
        .values_list("id", "shop_id")
    ):
        endpoints[shop_id].append(endpoint_id)
    inbox: list[Notification] = []
    deliveries: list[WebhookDelivery] = []
    mails: dict[int, list[tuple[str, EmailMessage]]] = defaultdict(list)
    for message in batch:
        event = events.get(message.pk)
        if event is None:
            continue
        for notice in event.notices:
            people = audiences.get(_audience_key(event, notice), [])
            if not people:
                continue
            texts = _texts(notice)
            shop_id = None if notice.to == CONSUMER else event.shop_id
            for person in people:
                inbox.append(
                    Notification(
                        event_id=message.pk,
                        user_id=person.user_id,
                        shop_id=shop_id,
                        kind=message.kind,
                        texts=texts,
                        link=notice.link,
                        created_at=message.created_at,
                    )
                )
                if person.email and message.kind not in person.muted:
                    mails[message.pk].append(
                        (event.object, _email(message.kind, texts, notice.link, person))
                    )
        for endpoint_id in endpoints.get(event.shop_id, []) if event.webhook else []:
            deliveries.append(
                WebhookDelivery(
                    endpoint_id=endpoint_id,
                    event_id=message.pk,
                    message_id=message_id(message.key),
                    event_type=message.kind,
                    object_key=event.object,
                    payload={
                        "type": message.kind,
                        "timestamp": message.created_at.isoformat(),
                        "data": event.data,
                    },
                    created_at=now,
                    next_attempt_at=now,
                )
            )
    Notification.objects.bulk_create(inbox, ignore_conflicts=True, batch_size=1000)
    WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True, batch_size=1000)
    return mails


class _Sender:
    """One SMTP session, kept open across messages and batches (opened again after a failure),
    for one of the drain's sending threads."""

    def __init__(self) -> None:
        self.connection: BaseEmailBackend = get_connection()
        self.open = False

    def send(self, items: list[tuple[int, EmailMessage]]) -> tuple[set[int], dict[int, Exception]]:
        """Send each (event id, e-mail): the events all of whose mails went, and the failures."""
        sent, failed = set(), {}
        for pk, email in items:
            if pk in failed:
                continue
            try:
                if not self.open:
                    self.connection.open()
                    self.open = True
                self.connection.send_messages([email])
            except Exception as e:  # this event's failure: recorded, the others go on
                failed[pk] = e
                self.close()  # a broken session is opened afresh for the next message
            else:
                sent.add(pk)
        return sent - set(failed), failed

    def close(self) -> None:
        try:
            self.connection.close()
        finally:
            self.open = False


def _send(
    mails: dict[int, list[tuple[str, EmailMessage]]], senders: list[_Sender]
) -> dict[int, Exception]:
    """Send every e-mail; the events one of whose mails failed. The mails of one object go over
    one session, in the order they were queued."""
    shares: list[list[tuple[int, EmailMessage]]] = [[] for _ in senders]
    for pk in sorted(mails):
        for obj, email in mails[pk]:
            shares[int(hashlib.md5(obj.encode()).hexdigest(), 16) % len(senders)].append(
                (pk, email)
            )
    failed: dict[int, Exception] = {}
    with ThreadPoolExecutor(max_workers=len(senders)) as pool:
        for _sent, bad in pool.map(
            lambda pair: pair[0].send(pair[1]), zip(senders, shares, strict=True)
        ):
            failed.update(bad)
    return failed


def _deliver_batch(batch: list[OutboxMessage], senders: list[_Sender], now: datetime) -> Counter:
    """Render, fan out, send and mark one locked batch; counts of events delivered, skipped and
    failed, and of the inbox rows, e-mails and webhook deliveries made."""
    rendered = _render(batch)
    failed: dict[int, Exception] = {pk: e for pk, e in rendered.items() if isinstance(e, Exception)}
    events = {pk: e for pk, e in rendered.items() if isinstance(e, Event)}
    skipped = [pk for pk, e in rendered.items() if e is None]
    mails = _fan_out(batch, events, now)
    failed.update(_send(mails, senders))
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
        emails=sum(len(m) for pk, m in mails.items() if pk not in failed),
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
                counts.update(_deliver_batch(batch, senders, timezone.now()))
    finally:
        for sender in senders:
            sender.close()
    return dict(counts)
