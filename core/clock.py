"""China time (spec 9): every deadline is computed and shown in Asia/Shanghai, stored in UTC.

The one place that knows the zone, how an instant is written for people, where a China day
ends, and how a command's `--as-of` is read.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateparse import parse_datetime

CHINA = ZoneInfo("Asia/Shanghai")
MINUTES = "%Y-%m-%d %H:%M"
SECONDS = "%Y-%m-%d %H:%M:%S"


def in_china(at: datetime) -> datetime:
    """`at` (aware) as China wall-clock time."""
    return timezone.localtime(at, CHINA)


def china_time(at: datetime | None, fmt: str = MINUTES, *, empty: str = "—") -> str:
    """`at` written for people, in China time: "2026-11-30 09:30" (`empty` when None)."""
    return in_china(at).strftime(fmt) if at is not None else empty


def china_date(at: datetime | None = None) -> date:
    """The China calendar date of `at` (default: now)."""
    return in_china(at or timezone.now()).date()


def end_of_china_day(day: date) -> datetime:
    """The first instant after `day` in China time: a promise for `day` is broken from here."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=CHINA)


def parse_as_of(value: str) -> datetime:
    """An ISO 8601 date-time for a command's `--as-of`; without an offset it is China time.

    Raises ValueError with a message for people when `value` is not one.
    """
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValueError(f"not an ISO 8601 date-time: {value!r}")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, CHINA)
    return parsed
