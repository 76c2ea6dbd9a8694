"""The events of penalties (spec 8): the shop's owners hear of each penalty against it.

Penalties are a matter between the shop and the platform (`Penalty.objects` has no consumer
scope), and owners are the staff who see them (`core.roles`): operators and viewers do not get
these, nor does the consumer.

| event | owners |
|---|---|
| penalty_proposed | which penalty, for which ticket or dispute; an arbitrator decides |
| penalty_confirmed | it counts against the shop, with the arbitrator's note |
| penalty_waived | it does not count, with the arbitrator's note |

A false reply (乱填) is found by an arbitrator and recorded confirmed at once: it is a
`penalty_confirmed`, in the words of a finding, and never a `penalty_proposed`.

Queued by the receivers below from `penalties.signals`, in the transaction that proposed or
decided the penalty; keyed `penalty:<id>:proposed`, `:confirmed`, `:waived` (a penalty is
proposed once and decided once: the decision is a conditional UPDATE from `proposed`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy, gettext_noop

from penalties.models import Penalty
from penalties.signals import penalties_proposed, penalty_decided

from ..events import OWNERS, Event, Notice, event_kind
from .common import link, queue_each, queue_one

SOURCE = {
    "ticket": gettext_lazy("urge ticket (催开票工单)"),
    "dispute": gettext_lazy("dispute (纠纷)"),
}


def _penalties(payloads: list[dict]) -> dict[int, Penalty]:
    """The penalties of `payloads`, with the ticket or dispute and its order: one query."""
    return (
        Penalty.objects.for_system()
        .filter(pk__in=[p["penalty_id"] for p in payloads])
        .select_related("ticket__request__order", "dispute__request__order")
        .in_bulk()
    )


def _source(p: Penalty) -> tuple[str, Any]:
    """("ticket" or "dispute", the object) the penalty hangs off."""
    return ("dispute", p.dispute) if p.dispute_id else ("ticket", p.ticket)


def _event(p: Penalty, notice_words: tuple[str, str], **data: Any) -> Event:
    name, source = _source(p)
    path = link("merchant-dispute" if name == "dispute" else "merchant-ticket", source.pk)
    params = {
        "order": source.request.order.number,
        "kind": Penalty.Kind(p.kind).label,
        "source": SOURCE[name],
        "note": p.decision_note or "—",
    }
    return Event(
        object=f"penalty:{p.pk}",
        data={
            "penalty_id": p.pk,
            "kind": p.kind,
            "state": p.state,
            "shop_id": p.shop_id,
            "ticket_id": p.ticket_id,
            "dispute_id": p.dispute_id,
            "request_id": source.request_id,
            "order_number": source.request.order.number,
            "recorded_at": p.at.isoformat(),
            **data,
        },
        notices=[Notice(OWNERS, *notice_words, link=path, params=params)],
        shop_id=p.shop_id,
    )


def _render(payloads: list[dict], build: Callable[[Penalty], Event]) -> list[Event | None]:
    """`build(penalty)` for each payload (None where the penalty, or what it hangs off, is
    gone): one query."""
    penalties = _penalties(payloads)
    events: list[Event | None] = []
    for payload in payloads:
        p = penalties.get(payload["penalty_id"])
        events.append(None if p is None or _source(p)[1] is None else build(p))
    return events


PROPOSED = (
    gettext_noop("Penalty proposed for order %(order)s: %(kind)s"),
    gettext_noop(
        "A penalty is proposed against your shop: %(kind)s, for the %(source)s on order "
        "%(order)s. A platform arbitrator confirms or waives it; a confirmed penalty counts on "
        "the shop's scorecard."
    ),
)
CONFIRMED = (
    gettext_noop("Penalty confirmed for order %(order)s: %(kind)s"),
    gettext_noop(
        "A platform arbitrator confirmed the penalty against your shop: %(kind)s, for the "
        "%(source)s on order %(order)s. It counts on the shop's scorecard.\n\n"
        "The arbitrator's note: %(note)s"
    ),
)
FALSE_REPLY = (
    gettext_noop("Penalty recorded for order %(order)s: %(kind)s"),
    gettext_noop(
        "A platform arbitrator found the reply to the %(source)s on order %(order)s false "
        "(乱填) and recorded a confirmed penalty against your shop. It counts on the shop's "
        "scorecard.\n\nThe arbitrator's finding: %(note)s"
    ),
)
WAIVED = (
    gettext_noop("Penalty waived for order %(order)s: %(kind)s"),
    gettext_noop(
        "A platform arbitrator waived the penalty against your shop: %(kind)s, for the "
        "%(source)s on order %(order)s. It does not count against the shop.\n\n"
        "The arbitrator's note: %(note)s"
    ),
)


def _decided(p: Penalty) -> dict[str, Any]:
    return {
        "decided_at": p.decided_at.isoformat() if p.decided_at else None,
        "decision_note": p.decision_note,
    }


@event_kind(
    "penalty_proposed",
    label=gettext_lazy("A penalty was proposed against the shop"),
    audiences=(OWNERS,),
)
def render_penalty_proposed(payloads: list[dict]) -> list[Event | None]:
    return _render(payloads, lambda p: _event(p, PROPOSED))


@event_kind(
    "penalty_confirmed",
    label=gettext_lazy("A penalty against the shop was confirmed"),
    audiences=(OWNERS,),
)
def render_penalty_confirmed(payloads: list[dict]) -> list[Event | None]:
    def build(p: Penalty) -> Event:
        words = FALSE_REPLY if p.kind == Penalty.Kind.FALSE_REPLY else CONFIRMED
        return _event(p, words, **_decided(p))

    return _render(payloads, build)


@event_kind(
    "penalty_waived",
    label=gettext_lazy("A penalty against the shop was waived"),
    audiences=(OWNERS,),
)
def render_penalty_waived(payloads: list[dict]) -> list[Event | None]:
    return _render(payloads, lambda p: _event(p, WAIVED, **_decided(p)))


# --- the receivers: queued in the transaction of the change -----------------------------------


def on_penalties_proposed(*, ids: list[int], at: datetime, **kwargs: Any) -> None:
    queue_each(
        Penalty,
        ids,
        kind="penalty_proposed",
        key="'penalty:' || s.id || ':proposed'",
        payload={"penalty_id": "s.id", "shop_id": "s.shop_id"},
        at=at,
    )


def on_penalty_decided(*, penalty: Penalty, state: str, at: datetime, **kwargs: Any) -> None:
    queue_one(
        f"penalty:{penalty.pk}:{state}",
        f"penalty_{state}",
        {"penalty_id": penalty.pk, "shop_id": penalty.shop_id},
        at=at,
    )


def connect() -> None:
    for signal, receiver in (
        (penalties_proposed, on_penalties_proposed),
        (penalty_decided, on_penalty_decided),
    ):
        signal.connect(receiver, dispatch_uid=f"notifications.{receiver.__name__}")
