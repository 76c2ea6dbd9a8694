"""Reads of urge tickets for the pages and the API: the role scopes (`core.scoping`) with what
a row shows, and the workbench filter. A ticket is visible exactly when its shop or its
request is; everything else answers 404."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case, F, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils.translation import gettext_lazy as _
from django_filters import rest_framework as filters

from .models import TicketReply, UrgeTicket

# Tickets the merchant still owes an answer on: in the window, or past it without a reply.
OPEN_STATES = (UrgeTicket.State.AWAITING_REPLY, UrgeTicket.State.BREACHED)
OPEN = "open"
ALL = "all"


_ROW = ("request", "request__order", "shop")


def merchant_tickets(user: AbstractBaseUser | AnonymousUser) -> QuerySet[UrgeTicket]:
    """Tickets of the shops `user` works for, with what a list row shows."""
    return UrgeTicket.objects.for_merchant(user).select_related(*_ROW)


def consumer_tickets(user: AbstractBaseUser | AnonymousUser) -> QuerySet[UrgeTicket]:
    """Tickets on `user`'s own invoice requests."""
    return UrgeTicket.objects.for_consumer(user).select_related(*_ROW)


def with_replies(tickets: QuerySet[UrgeTicket]) -> QuerySet[UrgeTicket]:
    """`tickets` with their replies (and who sent each), in one more query."""
    replies = TicketReply.objects.for_prefetch().select_related("by")
    return tickets.prefetch_related(Prefetch("replies", queryset=replies))


# The workbench's three groups, in this order.
ANSWERABLE, PAST_WINDOW, CLOSED = 0, 1, 2


def workbench_order(tickets: QuerySet[UrgeTicket], now: datetime) -> QuerySet[UrgeTicket]:
    """The workbench's order (spec 4.6): first the tickets that can still be answered in time
    (awaiting a reply, window still open) by deadline, soonest first; then those past their
    window without a reply, the most recently missed first; then the closed ones (answered),
    latest deadline first. Each row carries `group` (ANSWERABLE, PAST_WINDOW or CLOSED)."""
    answerable = Q(state=UrgeTicket.State.AWAITING_REPLY, reply_due_at__gte=now)
    return tickets.annotate(
        group=Case(
            When(answerable, then=Value(ANSWERABLE)),
            When(state__in=OPEN_STATES, then=Value(PAST_WINDOW)),
            default=Value(CLOSED),
            output_field=IntegerField(),
        ),
        answerable_due=Case(When(answerable, then=F("reply_due_at")), default=None),
    ).order_by("group", F("answerable_due").asc(nulls_last=True), F("reply_due_at").desc(), "-id")


class TicketFilter(filters.FilterSet):
    """The workbench filter: open tickets (the default), one state, or all of them."""

    state = filters.ChoiceFilter(
        label=_("state"),
        choices=[(OPEN, _("open (awaiting a reply)")), *UrgeTicket.State.choices, (ALL, _("all"))],
        method="filter_state",
        empty_label=None,
    )
    order_number = filters.CharFilter(label=_("order number"), field_name="request__order__number")
    shop = filters.NumberFilter(label=_("shop"), field_name="shop_id")

    class Meta:
        model = UrgeTicket
        fields = ["state", "shop", "order_number"]

    def __init__(self, data=None, *args, **kwargs) -> None:
        data = data.copy() if data is not None else {}
        data.setdefault("state", OPEN)
        if not data.get("state"):
            data["state"] = OPEN
        super().__init__(data, *args, **kwargs)

    def filter_state(self, queryset: QuerySet[UrgeTicket], name: str, value: str):
        if value == ALL:
            return queryset
        if value == OPEN:
            return queryset.filter(state__in=OPEN_STATES)
        return queryset.filter(state=value)
