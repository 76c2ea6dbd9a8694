"""Demo activity on top of `seed_demo`'s requests: urge tickets in every state, penalties and
disputes, so that the workbench and the arbitrators' queue have something to show. Everything
goes through the real jobs and services (never run in production)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from core.clock import china_date
from core.models import ShopMembership
from disputes.models import Dispute
from disputes.services import dispute_open, dispute_opening_problem
from invoices.models import InvoiceRequest
from tickets.jobs import flag_broken_promises, flag_missed_replies, open_overdue_tickets
from tickets.models import UrgeTicket
from tickets.rules import promise_due_at
from tickets.services import ticket_reply

DAY = timedelta(days=1)


def _writer(shop_id: int):
    membership = (
        ShopMembership.objects.for_system()
        .filter(shop_id=shop_id, role__in=ShopMembership.WRITERS)
        .select_related("user")
        .order_by("id")
        .first()
    )
    return membership.user if membership else None


def demo_activity(*, now: datetime | None = None, disputes: int = 3) -> dict[str, int]:
    """Open the tickets of requests overdue two days ago (as the job would have), answer a few
    of them (one with a promise that then breaks), flag the rest as missed, open today's tickets,
    and open `disputes` disputes of each kind. Returns what it did."""
    now = now or timezone.now()
    earlier = now - 2 * DAY
    counts = {"tickets": open_overdue_tickets(now=earlier)["opened"]}

    answered = 0
    for ticket in UrgeTicket.objects.for_system().filter(state="awaiting_reply").order_by("id")[:4]:
        by = _writer(ticket.shop_id)
        if by is None:
            continue
        # Two hours after it opened, but on the China day it opened: the promise is for the
        # next day, which must have ended by `now` (tickets opened at 22:00 or later would
        # otherwise be answered, and promise, a day later).
        day_end = promise_due_at(china_date(ticket.opened_at))
        at = min(ticket.opened_at + timedelta(hours=2), day_end - timedelta(minutes=1))
        if answered % 2 == 0:
            ticket_reply(
                ticket=ticket,
                by=by,
                resolution="date_agreed",
                note="已与顾客电话沟通，约定次日开具",
                promised_date=china_date(at) + DAY,
                at=at,
            )
        else:
            ticket_reply(
                ticket=ticket,
                by=by,
                resolution="cannot_issue",
                note="该商品为赠品，无法开票",
                at=at,
            )
        answered += 1
    counts["answered"] = answered
    counts["breached"] = flag_missed_replies(now=now)["flagged"]
    counts["promises_broken"] = flag_broken_promises(now=now)["flagged"]
    counts["tickets"] += open_overdue_tickets(now=now)["opened"]

    requests = InvoiceRequest.objects.for_system().select_related("consumer")
    opened = 0
    for kind, candidates, complaint in (
        (
            Dispute.Kind.REFUSED,
            requests.filter(state="refused").order_by("consumer__username", "id"),
            "订单已完成，商家以不支持开票为由拒绝，要求开具发票。",
        ),
        (
            Dispute.Kind.URGE,
            requests.filter(urge_ticket__state="breached").order_by("id"),
            "催开票后商家 24 小时内没有任何回复。",
        ),
    ):
        for request in candidates[:disputes]:
            if dispute_opening_problem(request=request, kind=kind) is None:
                dispute_open(request=request, by=request.consumer, kind=kind, complaint=complaint)
                opened += 1
    counts["disputes"] = opened
    return counts
