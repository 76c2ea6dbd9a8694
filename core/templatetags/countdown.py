"""The live countdown to a deadline (spec 4.6), for any page: `{% countdown deadline %}` renders

    <time class="countdown due-soon" datetime="ISO" data-deadline="ISO" data-h="小时" ...>
      11 小时 59 分钟</time>

with the time left in the page's language; `static/js/countdown.js` keeps every `.countdown` on
a page ticking and moves the class of its row (`[data-countdown-row]` or `tr`) at 12 h
(`due-soon`), 2 h (`due-urgent`) and past the deadline (`overdue`). The same text and classes
are rendered here, so a page without JavaScript shows them as of its loading.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import pgettext

register = template.Library()

DUE_SOON = timedelta(hours=12)
DUE_URGENT = timedelta(hours=2)


def deadline_class_at(deadline: datetime, now: datetime) -> str:
    """`overdue` strictly past `deadline`, else `due-urgent` within 2 h, `due-soon` within 12 h."""
    left = deadline - now
    if left < timedelta(0):
        return "overdue"
    if left <= DUE_URGENT:
        return "due-urgent"
    if left <= DUE_SOON:
        return "due-soon"
    return ""


def _units() -> dict[str, str]:
    return {
        "h": pgettext("countdown", "hours"),
        "m": pgettext("countdown", "minutes"),
        "s": pgettext("countdown", "seconds"),
        "past": pgettext("countdown", "time is up"),
    }


def time_left_text(deadline: datetime, now: datetime) -> str:
    """ "N 小时 M 分钟" (an hour or more), "M 分钟 S 秒" (less), or "已超时" once past: the text
    countdown.js writes, second for second."""
    units = _units()
    seconds = int((deadline - now).total_seconds())
    if deadline < now:
        return units["past"]
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} {units['h']} {minutes} {units['m']}"
    return f"{minutes} {units['m']} {secs} {units['s']}"


@register.filter
def deadline_class(deadline: datetime | None, now: datetime | None = None) -> str:
    """`{{ t.reply_due_at|deadline_class:now }}`: the row's class (see `deadline_class_at`)."""
    if deadline is None:
        return ""
    return deadline_class_at(deadline, now or timezone.now())


@register.simple_tag(takes_context=True)
def countdown(context: template.Context, deadline: datetime) -> SafeString:
    """`{% countdown deadline %}`: the ticking `<time>` (the page's `now`, else the clock's)."""
    now = context.get("now") or timezone.now()
    iso = deadline.isoformat(timespec="milliseconds")
    units = _units()
    return format_html(
        '<time class="countdown {}" datetime="{}" data-deadline="{}" data-h="{}" data-m="{}" '
        'data-s="{}" data-past="{}">{}</time>',
        deadline_class_at(deadline, now),
        iso,
        iso,
        units["h"],
        units["m"],
        units["s"],
        units["past"],
        time_left_text(deadline, now),
    )
