"""The events of invoice requests and urge tickets (spec 4): who hears of each, in which words.

| event | merchant staff | consumer |
|---|---|---|
| ticket_opened | reply by the deadline | the shop was urged, and has until the deadline |
| ticket_reminder | 12 h / 2 h before the deadline | |
| ticket_replied | | the shop's answer (resolution, note, promised date) |
| invoice_issued | | the invoice is ready (an exchange's: the replacement, 换开) |
| ticket_breached | no answer in time: a penalty is proposed | no answer; a dispute is open |
| promise_broken | the promised date passed: a penalty is proposed | the same |

"ticket_opened" and "ticket_reminder" are queued by the tickets app itself (its set-based
opening and reminder statements); the others by the receivers below, from its signals, in the
transaction of the change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from core.clock import china_time
from invoices.models import InvoiceRequest
from invoices.signals import invoice_issued
from tickets.models import TicketReply, UrgeTicket
from tickets.signals import promises_broken, ticket_replied, tickets_breached

from ..events import CONSUMER, STAFF, Event, Notice, event_kind
from .common import link, queue_each, queue_one

Resolution = UrgeTicket.Resolution


def _tickets(payloads: list[dict], **filters: Any) -> dict[int, UrgeTicket]:
    """The tickets of `payloads`, with their request and order: one query."""
    return (
        UrgeTicket.objects.for_system()
        .filter(pk__in=[p["ticket_id"] for p in payloads], **filters)
        .select_related("request__order")
        .in_bulk()
    )


def _data(ticket: UrgeTicket, **more: Any) -> dict[str, Any]:
    return {
        "ticket_id": ticket.pk,
        "request_id": ticket.request_id,
        "order_number": ticket.request.order.number,
        "shop_id": ticket.shop_id,
        "state": ticket.state,
        "reply_due_at": ticket.reply_due_at.isoformat(),
        **more,
    }


def _event(ticket: UrgeTicket, notices: list[Notice], **data: Any) -> Event:
    return Event(
        object=f"ticket:{ticket.pk}",
        data=_data(ticket, **data),
        notices=notices,
        shop_id=ticket.shop_id,
        consumer_id=ticket.request.consumer_id,
    )


def _merchant_link(ticket: UrgeTicket) -> str:
    return link("merchant-ticket", ticket.pk)


def _consumer_link(ticket: UrgeTicket) -> str:
    return link("my-invoice", ticket.request_id)


# --- ticket opened, reminders ---------------------------------------------------------------


@event_kind(
    "ticket_opened",
    label=gettext_lazy("An urge ticket (催开票工单) was opened"),
    audiences=(STAFF, CONSUMER),
)
def render_ticket_opened(payloads: list[dict]) -> list[Event | None]:
    tickets = _tickets(payloads)
    events: list[Event | None] = []
    for payload in payloads:
        t = tickets.get(payload["ticket_id"])
        if t is None:
            events.append(None)
            continue
        c = {"order": t.request.order.number, "deadline": china_time(t.reply_due_at)}
        merchant = Notice(
            to=STAFF,
            subject=gettext_noop(
                "Urge ticket (催开票工单) for order %(order)s: reply by %(deadline)s"
            ),
            body=gettext_noop(
                "The consumer's invoice request for order %(order)s is overdue, so an urge "
                "ticket (催开票工单) was opened. Reply by %(deadline)s (China time): upload the "
                "invoice, or send a reply with one of the resolutions. A missed deadline records "
                "a penalty."
            ),
            link=_merchant_link(t),
            params=c,
        )
        consumer = Notice(
            to=CONSUMER,
            subject=gettext_noop("We urged the shop to issue your invoice for order %(order)s"),
            body=gettext_noop(
                "An urge ticket (催开票工单) was opened for your invoice request for order "
                "%(order)s. The shop must answer by %(deadline)s (China time); we will tell you "
                "what it says."
            ),
            link=_consumer_link(t),
            params=c,
        )
        # The staff are not asked to reply to a ticket already answered by the time this goes.
        waiting = t.state == UrgeTicket.State.AWAITING_REPLY
        notices = [merchant, consumer] if waiting else [consumer]
        events.append(_event(t, notices, opened_via=t.opened_via))
    return events


@event_kind(
    "ticket_reminder",
    label=gettext_lazy("Reminder: an urge ticket is due soon"),
    audiences=(STAFF,),
)
def render_ticket_reminder(payloads: list[dict]) -> list[Event | None]:
    """None once the ticket no longer awaits the merchant's reply."""
    tickets = _tickets(payloads, state=UrgeTicket.State.AWAITING_REPLY)
    events: list[Event | None] = []
    for payload in payloads:
        t = tickets.get(payload["ticket_id"])
        if t is None:
            events.append(None)
            continue
        notice = Notice(
            to=STAFF,
            subject=gettext_noop(
                "Reminder: the urge ticket for order %(order)s is due by %(deadline)s"
            ),
            body=gettext_noop(
                "The urge ticket (催开票工单) for order %(order)s has not been answered yet. "
                "Less than %(hours)s hours are left: reply by %(deadline)s (China time), or a "
                "penalty is recorded."
            ),
            link=_merchant_link(t),
            params={
                "order": t.request.order.number,
                "deadline": china_time(t.reply_due_at),
                "hours": str(payload.get("lead", "")).removesuffix("h"),
            },
        )
        events.append(_event(t, [notice], lead=payload.get("lead")))
    return events


# --- the merchant's reply, the invoice ------------------------------------------------------


@event_kind(
    "ticket_replied",
    label=gettext_lazy("The shop answered an urge ticket"),
    audiences=(CONSUMER,),
)
def render_ticket_replied(payloads: list[dict]) -> list[Event | None]:
    tickets = _tickets(payloads)
    replies = TicketReply.objects.for_system().in_bulk([p["reply_id"] for p in payloads])
    events: list[Event | None] = []
    for payload in payloads:
        t, reply = tickets.get(payload["ticket_id"]), replies.get(payload["reply_id"])
        if t is None or reply is None:
            events.append(None)
            continue
        c = {
            "order": t.request.order.number,
            "note": reply.note or "—",
            "date": reply.promised_date.isoformat() if reply.promised_date else "",
            "resolution_code": reply.resolution,
        }

        def body(c: dict = c) -> str:
            lines = [
                _("The shop answered your urge for order %(order)s: %(resolution)s.")
                % {**c, "resolution": Resolution(c["resolution_code"]).label},
                _("Its note: %(note)s") % c,
            ]
            if c["date"]:
                lines.append(_("It promised to issue the invoice by %(date)s.") % c)
            lines.append(
                _("If you do not agree, you can open a dispute (纠纷) from the invoice page.")
            )
            return "\n\n".join(lines)

        notice = Notice(
            to=CONSUMER,
            subject=gettext_noop("The shop answered your urge for order %(order)s"),
            body=body,
            link=_consumer_link(t),
            params=c,
        )
        events.append(
            _event(
                t,
                [notice],
                reply_id=reply.pk,
                resolution=reply.resolution,
                promised_date=c["date"] or None,
                late=reply.late,
            )
        )
    return events


@event_kind(
    "invoice_issued",
    label=gettext_lazy("The invoice was issued"),
    audiences=(CONSUMER,),
)
def render_invoice_issued(payloads: list[dict]) -> list[Event | None]:
    requests = (
        InvoiceRequest.objects.for_system()
        .filter(pk__in=[p["request_id"] for p in payloads])
        .select_related("order", "reissue_of")
        .in_bulk()
    )
    events: list[Event | None] = []
    for payload in payloads:
        r = requests.get(payload["request_id"])
        if r is None:
            events.append(None)
            continue
        words = (
            gettext_noop("Your invoice for order %(order)s is ready"),
            gettext_noop(
                "The shop issued the invoice for order %(order)s. Download it from the invoice "
                "page."
            ),
        )
        if r.kind == InvoiceRequest.Kind.EXCHANGE:  # 换开: the replacement of an earlier one
            words = (
                gettext_noop("Your exchanged invoice (换开) for order %(order)s is ready"),
                gettext_noop(
                    "The shop issued the replacement invoice (换开) for order %(order)s. It "
                    "replaces invoice %(replaced)s, which is no longer valid. Download the new "
                    "one from the invoice page."
                ),
            )
        replaced = r.reissue_of if r.kind == InvoiceRequest.Kind.EXCHANGE else None
        notice = Notice(
            to=CONSUMER,
            subject=words[0],
            body=words[1],
            link=link("my-invoice", r.pk),
            params={
                "order": r.order.number,
                "replaced": f"{replaced.invoice_code} {replaced.invoice_number}".strip()
                if replaced
                else "",
            },
        )
        events.append(
            Event(
                object=f"request:{r.pk}",
                data={
                    "request_id": r.pk,
                    "order_number": r.order.number,
                    "shop_id": r.shop_id,
                    "state": r.state,
                    "invoice_number": r.invoice_number,
                    "kind": r.kind,
                    "replaces_request_id": replaced.pk if replaced else None,
                },
                notices=[notice],
                shop_id=r.shop_id,
                consumer_id=r.consumer_id,
            )
        )
    return events


# --- what the jobs found --------------------------------------------------------------------


def _found(kind: str, merchant_words: tuple[str, str], consumer_words: tuple[str, str]):
    """A renderer for a breach the jobs found: the staff hear of the penalty, the consumer that
    a dispute is open to them."""

    def render(payloads: list[dict]) -> list[Event | None]:
        tickets = _tickets(payloads)
        events: list[Event | None] = []
        for payload in payloads:
            t = tickets.get(payload["ticket_id"])
            if t is None:
                events.append(None)
                continue
            c = {
                "order": t.request.order.number,
                "deadline": china_time(t.reply_due_at),
                "date": t.promised_date.isoformat() if t.promised_date else "",
            }
            notices = [
                Notice(STAFF, *merchant_words, link=_merchant_link(t), params=c),
                Notice(CONSUMER, *consumer_words, link=_consumer_link(t), params=c),
            ]
            events.append(_event(t, notices, promised_date=c["date"] or None))
        return events

    render.__name__ = f"render_{kind}"
    return render


event_kind(
    "ticket_breached",
    label=gettext_lazy("An urge ticket was not answered in time"),
    audiences=(STAFF, CONSUMER),
)(
    _found(
        "ticket_breached",
        (
            gettext_noop("No reply in time to the urge ticket for order %(order)s"),
            gettext_noop(
                "The urge ticket (催开票工单) for order %(order)s was not answered by "
                "%(deadline)s (China time). A no-reply penalty is proposed; an arbitrator "
                "confirms or waives it. Answer the ticket now all the same."
            ),
        ),
        (
            gettext_noop("The shop did not answer in time about your invoice for order %(order)s"),
            gettext_noop(
                "The shop did not answer the urge for order %(order)s by %(deadline)s (China "
                "time). The platform recorded it; you can open a dispute (纠纷) from the invoice "
                "page."
            ),
        ),
    )
)
event_kind(
    "promise_broken",
    label=gettext_lazy("A promised issue date passed without an invoice (承诺不履约)"),
    audiences=(STAFF, CONSUMER),
)(
    _found(
        "promise_broken",
        (
            gettext_noop("Promise broken (承诺不履约) for order %(order)s"),
            gettext_noop(
                "The shop promised to issue the invoice for order %(order)s by %(date)s, and "
                "no invoice was uploaded. A broken-promise penalty is proposed; upload the "
                "invoice now."
            ),
        ),
        (
            gettext_noop("The shop did not keep its promise for your invoice for order %(order)s"),
            gettext_noop(
                "The shop promised to issue your invoice for order %(order)s by %(date)s and "
                "did not. The platform recorded it; you can open a dispute (纠纷) from the "
                "invoice page."
            ),
        ),
    )
)


# --- the receivers: queued in the transaction of the change -----------------------------------

TICKET = {"ticket_id": "s.id", "request_id": "s.request_id", "shop_id": "s.shop_id"}


def on_tickets_breached(*, ids: list[int], at: datetime, **kwargs: Any) -> dict[str, int]:
    n = queue_each(
        UrgeTicket,
        ids,
        kind="ticket_breached",
        key="'ticket:' || s.id || ':breached'",
        payload=TICKET,
        at=at,
    )
    return {"events": n}


def on_promises_broken(*, ids: list[int], at: datetime, **kwargs: Any) -> dict[str, int]:
    # Keyed by the promised date: a new promise after a broken one can break too.
    n = queue_each(
        UrgeTicket,
        ids,
        kind="promise_broken",
        key="'ticket:' || s.id || ':promise-broken:' || s.promised_date",
        payload=TICKET,
        at=at,
    )
    return {"events": n}


def on_ticket_replied(
    *, ticket: UrgeTicket, reply: TicketReply, at: datetime, **kwargs: Any
) -> None:
    queue_one(
        f"ticket:{ticket.pk}:reply:{reply.pk}",
        "ticket_replied",
        {"ticket_id": ticket.pk, "reply_id": reply.pk, "shop_id": ticket.shop_id},
        at=at,
    )


def on_invoice_issued(*, invoice_request: InvoiceRequest, at: datetime, **kwargs: Any) -> None:
    queue_one(
        f"request:{invoice_request.pk}:issued",
        "invoice_issued",
        {"request_id": invoice_request.pk, "shop_id": invoice_request.shop_id},
        at=at,
    )


def connect() -> None:
    for signal, receiver in (
        (tickets_breached, on_tickets_breached),
        (promises_broken, on_promises_broken),
        (ticket_replied, on_ticket_replied),
        (invoice_issued, on_invoice_issued),
    ):
        signal.connect(receiver, dispatch_uid=f"notifications.{receiver.__name__}")
