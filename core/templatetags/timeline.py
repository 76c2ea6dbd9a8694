"""`{% timeline_lines entries side=side shop=r.shop.name as lines %}`: a history as sentences
in the page's language for the consumer or shop staff (`core.timeline`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from django import template

from core.models import HistoryEntry
from core.timeline import CONSUMER, MERCHANT, Line, format_day, format_moment, timeline

register = template.Library()


@register.simple_tag
def timeline_lines(entries: Iterable[HistoryEntry], side: str = "", shop: str = "") -> list[Line]:
    """The lines for `side` ("consumer", or anything else: shop staff)."""
    return timeline(entries, audience=CONSUMER if side == CONSUMER else MERCHANT, shop_name=shop)


@register.filter
def day(value: date | str | None) -> str:
    """A calendar day in the page's language: "12 月 3 日" / "3 Dec"."""
    return format_day(value)


@register.filter
def moment(value: datetime | str | None) -> str:
    """An instant in China time, in the page's language: "12 月 3 日 14:05" / "3 Dec 14:05"."""
    return format_moment(value)
