"""The events of disputes (spec 5): who hears of each, in which words.

Silence has consequences here (the shop's 24 h, the consumer's 72 h), so each side hears of the
deadline that binds it, and both of every outcome.

| event | merchant staff | consumer |
|---|---|---|
| dispute_opened | the complaint; answer by the deadline (or: the platform judges it) | |
| plan_proposed | | the shop's plan; accept or reject by the deadline, silence accepts |
| plan_reminder | | JDPOP_DISPUTE_CONSUMER_REMINDER before that deadline, if still undecided |
| dispute_escalated | the platform judges it now (why) | the same |
| dispute_judged | the verdict and the written reason | the same |
| dispute_closed | settled (accepted, or by lapse) or withdrawn | settled by lapse |
| dispute_promise_broken | the agreed date passed: a penalty is proposed | the same; reopen it |

Each is queued by a receiver below, from the disputes app's signals, in the transaction of the
change. A dispute takes each step at most once (no state of `Dispute.TRANSITIONS` is entered
twice), so the keys are the dispute and the step: `dispute:<id>:opened`, `:plan-proposed`,
`:plan-reminder`, `:escalated`, `:judged`, `:closed`, `:promise-broken`. (A settled dispute
whose promise was broken may be reopened once: it then goes to the platform, `:escalated`, for
the first time, and is judged, `:judged`; its `:closed` was the settlement.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from core.clock import china_time
from core.models import OutboxMessage
from disputes.models import Dispute
from disputes.plans import Plan
from disputes.signals import (
    dispute_closed,
    dispute_escalated,
    dispute_judged,
    dispute_opened,
    dispute_promises_broken,
    disputes_settled_by_lapse,
    disputes_timed_out,
    plan_proposed,
    plan_reminders_due,
)

from ..events import CONSUMER, STAFF, Event, Notice, event_kind
from .common import queue_each, queue_one

State = Dispute.State
Outcome = Dispute.Outcome
COMPLAINT_SHOWN = 200  # characters of the complaint quoted to the staff


def _disputes(payloads: list[dict], **filters: Any) -> dict[int, Dispute]:
    """The disputes of `payloads`, with their request and order: one query."""
    return (
        Dispute.objects.for_system()
        .filter(pk__in=[p["dispute_id"] for p in payloads], **filters)
        .select_related("request__order")
        .in_bulk()
    )


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _data(d: Dispute, **more: Any) -> dict[str, Any]:
    """The webhook's data: ids, states, deadlines, the plan and the verdict; none of the
    consumer's own words or details."""
    return {
        "dispute_id": d.pk,
        "request_id": d.request_id,
        "order_number": d.request.order.number,
        "shop_id": d.shop_id,
        "kind": d.kind,
        "state": d.state,
        "whose_move": d.whose_move,
        "old_flow": d.old_flow,
        "merchant_due_at": _iso(d.merchant_due_at),
        "consumer_due_at": _iso(d.consumer_due_at),
        "plan": d.plan or None,
        "plan_date": _iso(d.plan_date),
        "proposed_verdict": d.proposed_verdict or None,
        "verdict": d.verdict or None,
        "reason_code": d.reason_code or None,
        "outcome": d.outcome or None,
        **more,
    }


def _event(d: Dispute, notices: list[Notice], **data: Any) -> Event:
    return Event(
        object=f"dispute:{d.pk}",
        data=_data(d, **data),
        notices=notices,
        shop_id=d.shop_id,
        consumer_id=d.consumer_id,
    )


def _merchant_link(d: Dispute) -> str:
    return reverse("merchant-dispute", args=[d.pk])


def _consumer_link(d: Dispute) -> str:
    return reverse("my-dispute", args=[d.pk])


def _params(d: Dispute) -> dict[str, Any]:
    """What the words of every dispute event may name (labels stay lazy: each language's
    rendering translates them)."""
    return {
        "order": d.request.order.number,
        "merchant_deadline": china_time(d.merchant_due_at),
        "consumer_deadline": china_time(d.consumer_due_at),
        "plan": Plan(d.plan).label if d.plan else "—",
        "date": d.plan_date.isoformat() if d.plan_date else "",
        "note": d.plan_note or "—",
    }


def _rendered(
    payloads: list[dict], build: Callable[[Dispute, dict], Event | None], **filters: Any
) -> list[Event | None]:
    """Render each payload's dispute with `build(dispute, payload)`; None where it is gone."""
    disputes = _disputes(payloads, **filters)
    events: list[Event | None] = []
    for payload in payloads:
        d = disputes.get(payload["dispute_id"])
        events.append(None if d is None else build(d, payload))
    return events


# --- opened ----------------------------------------------------------------------------------

OPENED_ANSWER = (
    gettext_noop("Dispute (纠纷) on order %(order)s: answer by %(merchant_deadline)s"),
    gettext_noop(
        "The consumer opened a refused-invoice dispute (拒绝开票纠纷) on order %(order)s: "
        "“%(complaint)s”\n\n"
        "Answer it with one of the five plans by %(merchant_deadline)s (China time). Without "
        "an answer by then, the platform judges the dispute and a penalty is recorded against "
        "the shop."
    ),
)
OPENED_URGE = (
    gettext_noop("Urge dispute (催开票纠纷) on order %(order)s: the platform judges it"),
    gettext_noop(
        "The consumer opened an urge dispute (催开票纠纷) on order %(order)s: “%(complaint)s”\n\n"
        "The platform judges it from the urge ticket's record; the system proposes: "
        "%(proposal)s. You can add your evidence on the dispute page until it is judged."
    ),
)
OPENED_OLD_FLOW = (
    gettext_noop("Dispute (纠纷) on order %(order)s: the platform judges it"),
    gettext_noop(
        "The consumer opened a dispute about the refused invoice for order %(order)s: "
        "“%(complaint)s”\n\n"
        "Your shop is still on the old flow, so the platform judges it directly. You can add "
        "your evidence on the dispute page until it is judged."
    ),
)


def _quoted(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= COMPLAINT_SHOWN else text[: COMPLAINT_SHOWN - 1] + "…"


@event_kind(
    "dispute_opened",
    label=gettext_lazy("A consumer opened a dispute (纠纷)"),
    audiences=(STAFF,),
)
def render_dispute_opened(payloads: list[dict]) -> list[Event | None]:
    def build(d: Dispute, payload: dict) -> Event:
        if d.kind == Dispute.Kind.URGE:
            subject, body = OPENED_URGE
        elif d.old_flow or d.merchant_due_at is None:
            subject, body = OPENED_OLD_FLOW
        else:
            subject, body = OPENED_ANSWER
        params = {
            **_params(d),
            "complaint": _quoted(d.complaint),
            "proposal": Dispute.Verdict(d.proposed_verdict).label if d.proposed_verdict else "—",
        }
        notice = Notice(STAFF, subject, body, link=_merchant_link(d), params=params)
        return _event(d, [notice], opened_at=_iso(d.opened_at))

    return _rendered(payloads, build)


# --- the plan, the consumer's window -----------------------------------------------------------


def _plan_lines(c: dict) -> list[str]:
    lines = [_("The shop's plan: %(plan)s.") % c]
    if c["date"]:
        lines.append(_("It agrees to issue the invoice by %(date)s.") % c)
    if c["note"] != "—":
        lines.append(_("Its note: %(note)s") % c)
    return lines


@event_kind(
    "plan_proposed",
    label=gettext_lazy("The shop proposed a settlement plan (和解方案) for a dispute"),
    audiences=(CONSUMER,),
)
def render_plan_proposed(payloads: list[dict]) -> list[Event | None]:
    def build(d: Dispute, payload: dict) -> Event:
        c = _params(d)

        def body(c: dict = c) -> str:
            return "\n\n".join(
                [
                    _("The shop answered your dispute (纠纷) on order %(order)s.") % c,
                    *_plan_lines(c),
                    _(
                        "Accept the plan, or reject it with your reason so that the platform "
                        "judges the dispute, by %(consumer_deadline)s (China time). If you do "
                        "nothing by then, the plan counts as accepted and the dispute closes."
                    )
                    % c,
                ]
            )

        notice = Notice(
            to=CONSUMER,
            subject=gettext_noop(
                "The shop proposed a plan for order %(order)s: answer by %(consumer_deadline)s"
            ),
            body=body,
            link=_consumer_link(d),
            params=c,
        )
        return _event(d, [notice], plan_note=d.plan_note)

    return _rendered(payloads, build)


@event_kind(
    "plan_reminder",
    label=gettext_lazy("Reminder: a settlement plan awaits your answer"),
    audiences=(CONSUMER,),
)
def render_plan_reminder(payloads: list[dict]) -> list[Event | None]:
    """None once the dispute no longer awaits the consumer (or its window is over)."""
    now = timezone.now()

    def build(d: Dispute, payload: dict) -> Event | None:
        if d.consumer_due_at is None or d.consumer_due_at < now:
            return None
        c = _params(d)

        def body(c: dict = c) -> str:
            return "\n\n".join(
                [
                    _(
                        "The shop's settlement plan for your dispute on order %(order)s still "
                        "awaits your answer."
                    )
                    % c,
                    *_plan_lines(c),
                    _(
                        "Accept or reject it by %(consumer_deadline)s (China time). If you do "
                        "nothing by then, the plan counts as accepted and the dispute closes."
                    )
                    % c,
                ]
            )

        notice = Notice(
            to=CONSUMER,
            subject=gettext_noop(
                "Reminder: answer the shop's plan for order %(order)s by %(consumer_deadline)s"
            ),
            body=body,
            link=_consumer_link(d),
            params=c,
        )
        lead = settings.JDPOP_DISPUTE_CONSUMER_REMINDER.total_seconds() / 3600
        return _event(d, [notice], lead=f"{lead:g}h")

    return _rendered(payloads, build, state=State.AWAITING_CONSUMER)


# --- to the platform ----------------------------------------------------------------------------

ESCALATED = {
    "merchant_timed_out": (
        (
            gettext_noop("Dispute on order %(order)s went to the platform: no answer in time"),
            gettext_noop(
                "The dispute (纠纷) on order %(order)s was not answered by %(merchant_deadline)s "
                "(China time), so the platform now judges it, and a penalty for not answering is "
                "proposed against the shop (an arbitrator confirms or waives it). You can still "
                "add your evidence on the dispute page."
            ),
        ),
        (
            gettext_noop("The platform now judges your dispute on order %(order)s"),
            gettext_noop(
                "The shop did not answer your dispute on order %(order)s by "
                "%(merchant_deadline)s (China time), so the platform judges it. You can add your "
                "evidence on the dispute page; we will tell you the judgment."
            ),
        ),
    ),
    "sent_to_platform": (
        (
            gettext_noop("Dispute on order %(order)s is with the platform"),
            gettext_noop(
                "The shop answered the dispute (纠纷) on order %(order)s with the no-fault "
                "evidence plan (无责举证方案), so the platform judges it from the evidence. We "
                "will tell you the judgment."
            ),
        ),
        (
            gettext_noop("The shop asked the platform to judge your dispute on order %(order)s"),
            gettext_noop(
                "The shop answered that it cannot settle your dispute on order %(order)s and "
                "submitted its evidence, so the platform judges it. You can add your own "
                "evidence on the dispute page; we will tell you the judgment."
            ),
        ),
    ),
    "settlement_rejected": (
        (
            gettext_noop("The consumer rejected your plan for order %(order)s"),
            gettext_noop(
                "The consumer rejected your settlement plan “%(plan)s” for the dispute (纠纷) on "
                "order %(order)s, so the platform now judges it. The consumer's reason: "
                "%(reason)s\n\nYou can add your evidence on the dispute page."
            ),
        ),
        (
            gettext_noop("The platform now judges your dispute on order %(order)s"),
            gettext_noop(
                "You rejected the shop's plan “%(plan)s” for order %(order)s, so the platform "
                "judges the dispute. You can add your evidence on the dispute page; we will tell "
                "you the judgment."
            ),
        ),
    ),
    "reopened": (
        (
            gettext_noop("The consumer sent the dispute on order %(order)s to the platform"),
            gettext_noop(
                "The shop agreed to issue the invoice for order %(order)s by %(date)s and did "
                "not, so the consumer reopened the settled dispute (纠纷): the platform now "
                "judges it. Upload the invoice now, and add your evidence on the dispute page."
            ),
        ),
        (
            gettext_noop("The platform now judges your dispute on order %(order)s"),
            gettext_noop(
                "You sent your dispute on order %(order)s to the platform: the shop did not "
                "issue the invoice by the agreed date %(date)s. You can add your evidence on the "
                "dispute page; we will tell you the judgment."
            ),
        ),
    ),
}


@event_kind(
    "dispute_escalated",
    label=gettext_lazy("A dispute went to the platform to be judged"),
    audiences=(STAFF, CONSUMER),
)
def render_dispute_escalated(payloads: list[dict]) -> list[Event | None]:
    def build(d: Dispute, payload: dict) -> Event:
        via = payload.get("via", "sent_to_platform")
        staff, consumer = ESCALATED.get(via, ESCALATED["sent_to_platform"])
        c = {**_params(d), "reason": d.consumer_note or "—"}
        notices = [
            Notice(STAFF, *staff, link=_merchant_link(d), params=c),
            Notice(CONSUMER, *consumer, link=_consumer_link(d), params=c),
        ]
        return _event(d, notices, via=via, platform_since=_iso(d.platform_since))

    return _rendered(payloads, build)


# --- the outcome ---------------------------------------------------------------------------------

JUDGED_SUBJECT = gettext_noop("The dispute on order %(order)s was judged: %(verdict)s")
JUDGED_STAFF = {
    Dispute.Verdict.LIABLE: gettext_noop(
        "The platform judged the dispute (纠纷) on order %(order)s: %(verdict)s (%(code)s).\n\n"
        "The arbitrator's reason: %(reason)s\n\nA penalty is recorded against the shop; its "
        "owners are told of it."
    ),
    Dispute.Verdict.NOT_LIABLE: gettext_noop(
        "The platform judged the dispute (纠纷) on order %(order)s: %(verdict)s (%(code)s).\n\n"
        "The arbitrator's reason: %(reason)s"
    ),
}
JUDGED_CONSUMER = gettext_noop(
    "The platform judged your dispute (纠纷) on order %(order)s: %(verdict)s (%(code)s).\n\n"
    "The arbitrator's reason: %(reason)s"
)


@event_kind(
    "dispute_judged",
    label=gettext_lazy("A dispute was judged"),
    audiences=(STAFF, CONSUMER),
)
def render_dispute_judged(payloads: list[dict]) -> list[Event | None]:
    def build(d: Dispute, payload: dict) -> Event | None:
        if d.verdict not in Dispute.JUDGMENT_VERDICTS:
            return None
        c = {
            **_params(d),
            "verdict": Dispute.Verdict(d.verdict).label,
            "code": Dispute.ReasonCode(d.reason_code).label,
            "reason": d.reason,
        }
        notices = [
            Notice(STAFF, JUDGED_SUBJECT, JUDGED_STAFF[d.verdict], _merchant_link(d), c),
            Notice(CONSUMER, JUDGED_SUBJECT, JUDGED_CONSUMER, _consumer_link(d), c),
        ]
        return _event(
            d,
            notices,
            reason=d.reason,
            judged_at=_iso(d.judged_at),
            automatic=d.judged_by_id is None,
        )

    return _rendered(payloads, build)


def _closed_words(outcome: str, to: str, c: dict[str, Any]) -> Callable[[], str]:
    """The body of a closed dispute's notice, for its outcome and audience."""

    def body() -> str:
        if outcome == Outcome.WITHDRAWN:
            return (
                _(
                    "The consumer withdrew the dispute (纠纷) on order %(order)s; it is closed and "
                    "needs nothing more from you."
                )
                % c
            )
        if outcome == Outcome.SETTLED:
            lines = [
                _(
                    "The consumer accepted your settlement plan “%(plan)s” for the dispute on "
                    "order %(order)s; the dispute is closed, settled."
                )
                % c
            ]
        elif to == STAFF:
            lines = [
                _(
                    "The consumer did not answer your settlement plan “%(plan)s” for order "
                    "%(order)s by %(consumer_deadline)s (China time), so it counts as accepted "
                    "and the dispute is closed, settled."
                )
                % c
            ]
        else:
            lines = [
                _(
                    "You did not answer the shop's settlement plan “%(plan)s” for order "
                    "%(order)s by %(consumer_deadline)s (China time), so it counts as accepted "
                    "and the dispute is closed."
                )
                % c
            ]
        if c["date"]:
            lines.append(
                _("As agreed, the shop issues the invoice by %(date)s.") % c
                if to == CONSUMER
                else _("As agreed, issue the invoice by %(date)s.") % c
            )
        return "\n\n".join(lines)

    return body


CLOSED_SUBJECTS = {
    (Outcome.SETTLED, STAFF): gettext_noop("The consumer accepted your plan for order %(order)s"),
    (Outcome.SETTLED_BY_LAPSE, STAFF): gettext_noop(
        "Dispute on order %(order)s closed: your plan counts as accepted"
    ),
    (Outcome.SETTLED_BY_LAPSE, CONSUMER): gettext_noop(
        "Your dispute on order %(order)s is closed: the shop's plan counts as accepted"
    ),
    (Outcome.WITHDRAWN, STAFF): gettext_noop(
        "The consumer withdrew the dispute on order %(order)s"
    ),
}


@event_kind(
    "dispute_closed",
    label=gettext_lazy("A dispute was settled or withdrawn"),
    audiences=(STAFF, CONSUMER),
)
def render_dispute_closed(payloads: list[dict]) -> list[Event | None]:
    """The staff hear how the consumer closed it; the consumer only of a lapse (the other two
    were the consumer's own acts)."""

    def build(d: Dispute, payload: dict) -> Event | None:
        c = _params(d)
        links = {STAFF: _merchant_link(d), CONSUMER: _consumer_link(d)}
        notices = [
            Notice(to, subject, _closed_words(outcome, to, c), links[to], c)
            for (outcome, to), subject in CLOSED_SUBJECTS.items()
            if outcome == d.outcome
        ]
        if not notices:  # judged: that is `dispute_judged`
            return None
        return _event(d, notices, closed_at=_iso(d.closed_at))

    return _rendered(payloads, build, state=State.CLOSED)


# --- a broken promise -------------------------------------------------------------------------


@event_kind(
    "dispute_promise_broken",
    label=gettext_lazy("An agreed issue date passed without an invoice (承诺不履约)"),
    audiences=(STAFF, CONSUMER),
)
def render_dispute_promise_broken(payloads: list[dict]) -> list[Event | None]:
    """The staff hear of the penalty; the consumer that the dispute can go to the platform."""

    def build(d: Dispute, payload: dict) -> Event:
        c = _params(d)
        notices = [
            Notice(
                STAFF,
                gettext_noop("Promise broken (承诺不履约) for order %(order)s"),
                gettext_noop(
                    "The consumer accepted your plan to issue the invoice for order %(order)s "
                    "by %(date)s, and no invoice was uploaded. A broken-promise penalty is "
                    "proposed; upload the invoice now."
                ),
                _merchant_link(d),
                c,
            ),
            Notice(
                CONSUMER,
                gettext_noop("The shop did not keep its promise for order %(order)s"),
                gettext_noop(
                    "The shop agreed to issue your invoice for order %(order)s by %(date)s and "
                    "did not. The platform recorded it. You can send the dispute to the "
                    "platform with one click on the dispute page."
                ),
                _consumer_link(d),
                c,
            ),
        ]
        return _event(
            d,
            notices,
            promise_state=d.promise_state,
            promise_broken_at=_iso(d.promise_broken_at),
        )

    return _rendered(payloads, build)


# --- the receivers: queued in the transaction of the change -----------------------------------

DISPUTE = {"dispute_id": "s.id", "request_id": "s.request_id", "shop_id": "s.shop_id"}
REMINDER_KEY = "'dispute:' || s.id || ':plan-reminder'"


def _payload(dispute: Dispute, **more: Any) -> dict[str, Any]:
    return {
        "dispute_id": dispute.pk,
        "request_id": dispute.request_id,
        "shop_id": dispute.shop_id,
        **more,
    }


def on_dispute_opened(*, dispute: Dispute, at: datetime, **kwargs: Any) -> None:
    queue_one(f"dispute:{dispute.pk}:opened", "dispute_opened", _payload(dispute), at=at)


def on_plan_proposed(*, dispute: Dispute, at: datetime, **kwargs: Any) -> None:
    # A plan is proposed once: awaiting_merchant, the only state it comes from, never returns.
    queue_one(f"dispute:{dispute.pk}:plan-proposed", "plan_proposed", _payload(dispute), at=at)


def on_plan_reminders_due(*, ids: list[int], at: datetime, **kwargs: Any) -> dict[str, int]:
    """Every run of the job reports the disputes inside the reminder window again: the key
    keeps one reminder per dispute (its consumer deadline is set once, with the plan). Those
    already queued are left out first (one indexed look-up), so a run that finds nothing new
    writes nothing (not even a skipped insert, which would still use up a sequence value)."""
    keys = {pk: f"dispute:{pk}:plan-reminder" for pk in ids}  # = REMINDER_KEY, in Python
    queued = set(OutboxMessage.objects.filter(key__in=keys.values()).values_list("key", flat=True))
    new = [pk for pk, key in keys.items() if key not in queued]
    n = 0
    if new:
        n = queue_each(
            Dispute,
            new,
            kind="plan_reminder",
            key=REMINDER_KEY,
            payload=DISPUTE,
            at=at,
        )
    return {"plan_reminders": n}


def on_dispute_escalated(*, dispute: Dispute, action: str, at: datetime, **kwargs: Any) -> None:
    queue_one(
        f"dispute:{dispute.pk}:escalated",
        "dispute_escalated",
        _payload(dispute, via=action),
        at=at,
    )


def on_disputes_timed_out(*, ids: list[int], at: datetime, **kwargs: Any) -> None:
    # No counts back: the job's report stays what the disputes and penalties did.
    queue_each(
        Dispute,
        ids,
        kind="dispute_escalated",
        key="'dispute:' || s.id || ':escalated'",
        payload={**DISPUTE, "via": "'merchant_timed_out'"},
        at=at,
    )


def on_dispute_closed(*, dispute: Dispute, outcome: str, at: datetime, **kwargs: Any) -> None:
    queue_one(
        f"dispute:{dispute.pk}:closed", "dispute_closed", _payload(dispute, outcome=outcome), at=at
    )


def on_disputes_settled_by_lapse(*, ids: list[int], at: datetime, **kwargs: Any) -> None:
    queue_each(
        Dispute,
        ids,
        kind="dispute_closed",
        key="'dispute:' || s.id || ':closed'",
        payload={**DISPUTE, "outcome": "'settled_by_lapse'"},
        at=at,
    )


def on_dispute_judged(
    *, dispute: Dispute, verdict: str, reason_code: str, at: datetime, **kwargs: Any
) -> None:
    queue_one(
        f"dispute:{dispute.pk}:judged",
        "dispute_judged",
        _payload(dispute, verdict=verdict, reason_code=reason_code),
        at=at,
    )


def on_dispute_promises_broken(*, ids: list[int], at: datetime, **kwargs: Any) -> None:
    # A dispute's promise is broken at most once (pending -> broken), so the key is the step.
    queue_each(
        Dispute,
        ids,
        kind="dispute_promise_broken",
        key="'dispute:' || s.id || ':promise-broken'",
        payload=DISPUTE,
        at=at,
    )


def connect() -> None:
    for signal, receiver in (
        (dispute_opened, on_dispute_opened),
        (plan_proposed, on_plan_proposed),
        (plan_reminders_due, on_plan_reminders_due),
        (dispute_escalated, on_dispute_escalated),
        (disputes_timed_out, on_disputes_timed_out),
        (dispute_closed, on_dispute_closed),
        (disputes_settled_by_lapse, on_disputes_settled_by_lapse),
        (dispute_judged, on_dispute_judged),
        (dispute_promises_broken, on_dispute_promises_broken),
    ):
        signal.connect(receiver, dispatch_uid=f"notifications.{receiver.__name__}")
