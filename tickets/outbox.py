"""Sending the outbox: e-mails to the shop's staff about its urge tickets (spec 4).

A message is written in the transaction of the change that causes it (so it exists only once
that change is committed) and sent here, at most once: each message is locked (PostgreSQL:
FOR UPDATE SKIP LOCKED, so parallel drains share the work), sent, and marked sent in that same
transaction. A failed send is counted and kept, with its error, for the next run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from invoices.models import ShopMembership

from .models import OutboxMessage, UrgeTicket

CHINA = ZoneInfo("Asia/Shanghai")


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


def shop_staff_emails(shop_id: int) -> list[str]:
    """Every active member of the shop who has an e-mail address, whatever their role."""
    return sorted(
        set(
            ShopMembership.objects.filter(shop_id=shop_id, user__is_active=True)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )


def china_time(at: datetime) -> str:
    return timezone.localtime(at, CHINA).strftime("%Y-%m-%d %H:%M")


def bilingual(render: Callable[[], str]) -> str:
    """The text in the site's language (Chinese) first, then in English if that differs."""
    with translation.override(settings.LANGUAGE_CODE):
        first = render()
    with translation.override("en"):
        english = render()
    return first if english == first else f"{first}\n\n---\n\n{english}"


def _open_ticket(payload: dict) -> UrgeTicket | None:
    """The ticket, if it still waits for the merchant's reply (else the mail is moot)."""
    ticket = (
        UrgeTicket.objects.select_related("request__order").filter(pk=payload["ticket_id"]).first()
    )
    if ticket is None or ticket.state != UrgeTicket.State.AWAITING_REPLY:
        return None
    return ticket


def _ticket_context(ticket: UrgeTicket) -> dict:
    path = reverse("merchant-request", args=[ticket.request_id])
    return {
        "order": ticket.request.order.number,
        "deadline": china_time(ticket.reply_due_at),
        "link": f"{settings.JDPOP_SITE_URL}{path}",
    }


@renderer("ticket_opened")
def render_ticket_opened(payload: dict) -> Mail | None:
    ticket = _open_ticket(payload)
    if ticket is None:
        return None
    c = _ticket_context(ticket)
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Urge ticket (催开票工单) for order %(order)s: reply by %(deadline)s") % c

    def body() -> str:
        return "\n\n".join(
            [
                _(
                    "The consumer's invoice request for order %(order)s is overdue, so an urge "
                    "ticket (催开票工单) was opened."
                )
                % c,
                _(
                    "Reply by %(deadline)s (China time): upload the invoice, or send a reply "
                    "with one of the resolutions. A missed deadline records a penalty."
                )
                % c,
                _("Open it: %(link)s") % c,
            ]
        )

    return Mail(subject=subject, body=bilingual(body), to=shop_staff_emails(ticket.shop_id))


@renderer("ticket_reminder")
def render_ticket_reminder(payload: dict) -> Mail | None:
    ticket = _open_ticket(payload)
    if ticket is None:
        return None
    c = {**_ticket_context(ticket), "hours": str(payload.get("lead", "")).removesuffix("h")}
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Reminder: the urge ticket for order %(order)s is due by %(deadline)s") % c

    def body() -> str:
        return "\n\n".join(
            [
                _(
                    "The urge ticket (催开票工单) for order %(order)s has not been answered yet. "
                    "Less than %(hours)s hours are left."
                )
                % c,
                _(
                    "Reply by %(deadline)s (China time): upload the invoice, or send a reply "
                    "with one of the resolutions. A missed deadline records a penalty."
                )
                % c,
                _("Open it: %(link)s") % c,
            ]
        )

    return Mail(subject=subject, body=bilingual(body), to=shop_staff_emails(ticket.shop_id))


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
        why = "ticket no longer awaits a reply" if rendered is None else "no staff e-mail"
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
