"""The events of exchanges (换开, spec 11): who hears of each, in which words.

| event | merchant staff | consumer |
|---|---|---|
| exchange_requested | the consumer asks for an invoice to be exchanged: why, and by when | |
| invoice_issued (kind exchange) | | the replacement is ready; the old invoice is replaced |
| exchange_refused | | the shop refused the exchange, and why; a dispute is open to them |

The issued replacement is the ordinary `invoice_issued` event (`kinds/tickets.py`), worded for
an exchange. Each is queued by a receiver below, from the invoices app's signals, in the
transaction of the change; a request is asked and refused at most once, so the keys are the
request and the step: `request:<id>:exchange-requested`, `request:<id>:exchange-refused`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from core.clock import china_time
from invoices.models import InvoiceRequest
from invoices.signals import exchange_requested, invoice_refused

from ..events import CONSUMER, STAFF, Event, Notice, event_kind
from .common import link, queue_one

Kind = InvoiceRequest.Kind
NOTE_SHOWN = 200  # characters of the consumer's note quoted to the staff


def _exchanges(payloads: list[dict]) -> dict[int, InvoiceRequest]:
    """The exchange requests of `payloads`, with their order and the invoice they replace."""
    return (
        InvoiceRequest.objects.for_system()
        .filter(pk__in=[p["request_id"] for p in payloads], kind=Kind.EXCHANGE)
        .select_related("order", "reissue_of")
        .in_bulk()
    )


def _event(r: InvoiceRequest, notices: list[Notice], **more: Any) -> Event:
    """The webhook's data: ids, states and the reason code; none of the consumer's words."""
    return Event(
        object=f"request:{r.pk}",
        data={
            "request_id": r.pk,
            "order_number": r.order.number,
            "shop_id": r.shop_id,
            "kind": r.kind,
            "state": r.state,
            "replaces_request_id": r.reissue_of_id,
            "exchange_reason": r.exchange_reason,
            "overdue_at": r.overdue_at.isoformat() if r.overdue_at else None,
            **more,
        },
        notices=notices,
        shop_id=r.shop_id,
        consumer_id=r.consumer_id,
    )


@event_kind(
    "exchange_requested",
    label=gettext_lazy("A consumer asked to exchange an invoice (换开)"),
    audiences=(STAFF,),
)
def render_exchange_requested(payloads: list[dict]) -> list[Event | None]:
    exchanges = _exchanges(payloads)
    events: list[Event | None] = []
    for payload in payloads:
        r = exchanges.get(payload["request_id"])
        if r is None:
            events.append(None)
            continue
        c = {
            "order": r.order.number,
            "number": f"{r.reissue_of.invoice_code} {r.reissue_of.invoice_number}".strip(),
            "reason_code": r.exchange_reason,
            "note": r.exchange_note[:NOTE_SHOWN],
            "deadline": china_time(r.overdue_at) if r.overdue_at else "",
        }

        def body(c: dict = c) -> str:
            reason = InvoiceRequest.ExchangeReason(c["reason_code"]).label
            lines = [
                _(
                    "The consumer of order %(order)s asks to exchange (换开) invoice %(number)s: "
                    "%(reason)s."
                )
                % {**c, "reason": reason}
            ]
            if c["note"]:
                lines.append(_("Their note: %(note)s") % c)
            lines.append(
                _(
                    "Issue the replacement with the corrected details on the request page, or "
                    "refuse it with a reason."
                )
            )
            if c["deadline"]:
                lines.append(
                    _(
                        "Like any request it is overdue after %(deadline)s (China time), and "
                        "the consumer can then urge it."
                    )
                    % c
                )
            return "\n\n".join(lines)

        notice = Notice(
            to=STAFF,
            subject=gettext_noop("Exchange (换开) asked for the invoice of order %(order)s"),
            body=body,
            link=link("merchant-request", r.pk),
            params=c,
        )
        events.append(_event(r, [notice]))
    return events


@event_kind(
    "exchange_refused",
    label=gettext_lazy("The shop refused an exchange (换开)"),
    audiences=(CONSUMER,),
)
def render_exchange_refused(payloads: list[dict]) -> list[Event | None]:
    exchanges = _exchanges(payloads)
    events: list[Event | None] = []
    for payload in payloads:
        r = exchanges.get(payload["request_id"])
        if r is None:
            events.append(None)
            continue
        notice = Notice(
            to=CONSUMER,
            subject=gettext_noop("The shop refused to exchange your invoice for order %(order)s"),
            body=gettext_noop(
                "The shop refused to exchange (换开) your invoice for order %(order)s. Its "
                "reason: %(reason)s\n\nYour invoice stays valid as it is. If you do not agree, "
                "you can open a dispute (纠纷) from the invoice page."
            ),
            link=link("my-invoice", r.pk),
            params={"order": r.order.number, "reason": r.refuse_reason},
        )
        events.append(_event(r, [notice]))
    return events


# --- the receivers: queued in the transaction of the change -----------------------------------


def on_exchange_requested(*, invoice_request: InvoiceRequest, at: datetime, **kwargs: Any) -> None:
    queue_one(
        f"request:{invoice_request.pk}:exchange-requested",
        "exchange_requested",
        {"request_id": invoice_request.pk, "shop_id": invoice_request.shop_id},
        at=at,
    )


def on_invoice_refused(*, invoice_request: InvoiceRequest, at: datetime, **kwargs: Any) -> None:
    """Only an exchange's refusal is queued here: the refusal of a first request or of a
    re-issue has no event of its own (yet)."""
    if invoice_request.kind != Kind.EXCHANGE:
        return
    queue_one(
        f"request:{invoice_request.pk}:exchange-refused",
        "exchange_refused",
        {"request_id": invoice_request.pk, "shop_id": invoice_request.shop_id},
        at=at,
    )


def connect() -> None:
    for signal, receiver in (
        (exchange_requested, on_exchange_requested),
        (invoice_refused, on_invoice_refused),
    ):
        signal.connect(receiver, dispatch_uid=f"notifications.{receiver.__name__}")
