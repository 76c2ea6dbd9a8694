"""Timelines in words (spec 9, issue 11): every history entry a consumer or a merchant reads is
a sentence in the page's language, never an internal code.

Each app says what its own actions mean: its `timeline` module registers one describer per
action with `@describes("action", ...)`. This floor finds those modules by name the first time
a sentence is asked for (like the admin's autodiscovery), so it never imports the apps above it.

A describer gets the entry and a `Reader` (who reads, the shop's name, how to write a day or a
moment in the page's language) and returns a `Words`: the sentence and, apart, what a person
wrote (a note, a complaint), shown as quoted text under it. An action nobody describes still
reads as a sentence ("The shop / the platform updated the record.").

Readers: `consumer` (the request's consumer: "You …"; the shop by its name, never a staff
login), `merchant` (shop staff: a colleague by name), `platform` (the admin: both, and the
admin shows the raw code beside the sentence).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from threading import Lock

from django.utils import dateformat, timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .clock import china_date, in_china
from .models import HistoryEntry

CONSUMER, MERCHANT, PLATFORM = "consumer", "merchant", "platform"
AUDIENCES = (CONSUMER, MERCHANT, PLATFORM)


@dataclass(frozen=True)
class Words:
    """What one entry says: `text` (one sentence) and `note`, what a person wrote, if any."""

    text: str
    note: str = ""


@dataclass(frozen=True)
class Line:
    """One entry of a timeline as shown: when (China time, for people and as ISO) and its words."""

    at: datetime
    when: str
    text: str
    note: str
    entry: HistoryEntry = field(repr=False)


@dataclass(frozen=True)
class Reader:
    """Who reads the timeline, and of which shop."""

    audience: str
    shop_name: str = ""

    # --- who did it ------------------------------------------------------------------------

    def shop(self, entry: HistoryEntry) -> str:
        """The shop's side, as this reader names it: the consumer reads the shop's name; shop
        staff read their colleague's name; the platform reads both."""
        shop = self.shop_name or _("The shop")
        person = _person(entry)
        if self.audience == MERCHANT and person:
            return person
        if self.audience == PLATFORM and person:
            return _("%(shop)s (%(person)s)") % {"shop": shop, "person": person}
        return shop

    def consumer(self) -> str:
        """The consumer: "You" to the consumer, "The consumer" to everyone else."""
        return _("You") if self.audience == CONSUMER else _("The consumer")

    def platform(self, entry: HistoryEntry) -> str:
        """The platform (an arbitrator, or the system); the admin also reads the login."""
        person = _person(entry)
        if self.audience == PLATFORM and person:
            return _("The platform (%(person)s)") % {"person": person}
        return _("The platform")

    # --- when --------------------------------------------------------------------------------

    def day(self, value: date | str | None) -> str:
        return format_day(value)

    def moment(self, value: datetime | str | None) -> str:
        return format_moment(value)


def _person(entry: HistoryEntry) -> str:
    actor = entry.actor if entry.actor_id else None
    if actor is None:
        return ""
    full = actor.get_full_name() if hasattr(actor, "get_full_name") else ""
    return full or actor.get_username()


# --- dates in the page's language, China time ------------------------------------------------

_DAY_FORMATS = {"zh": ("n 月 j 日", "Y 年 n 月 j 日"), "": ("j M", "j M Y")}


def _formats() -> tuple[str, str]:
    lang = (get_language() or "").lower()
    return _DAY_FORMATS["zh"] if lang.startswith("zh") else _DAY_FORMATS[""]


def format_day(value: date | str | None) -> str:
    """A calendar day for people: "12 月 3 日" / "3 Dec" (with the year when not this year)."""
    if isinstance(value, str):
        value = parse_date(value[:10])
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = in_china(value).date()
    short, long = _formats()
    return dateformat.format(value, short if value.year == china_date().year else long)


def format_moment(value: datetime | str | None) -> str:
    """An instant for people, in China time: "12 月 3 日 14:05" / "3 Dec 14:05"."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is None:
        return ""
    if timezone.is_naive(value):  # a database's own text of a UTC timestamp (SQLite)
        value = timezone.make_aware(value, UTC)
    local = in_china(value)
    return f"{format_day(local.date())} {local:%H:%M}"


# --- the registry ----------------------------------------------------------------------------

Describer = Callable[[HistoryEntry, Reader], Words | str]
_DESCRIBERS: dict[str, Describer] = {}
_discovered = False
_lock = Lock()


def then(text: str, more: str) -> str:
    """Two sentences one after the other: a space between them in English, none after a
    Chinese full stop."""
    return f"{text}{more}" if text.endswith(("。", "！", "？", "：")) else f"{text} {more}"


def describes(*actions: str) -> Callable[[Describer], Describer]:
    """Register the decorated function as the describer of `actions`."""

    def register(fn: Describer) -> Describer:
        for action in actions:
            _DESCRIBERS[action] = fn
        return fn

    return register


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    with _lock:
        if not _discovered:
            from django.utils.module_loading import autodiscover_modules

            autodiscover_modules("timeline")
            _discovered = True


def known_actions() -> set[str]:
    """Every action some app describes."""
    _discover()
    return set(_DESCRIBERS)


def _generic(entry: HistoryEntry, reader: Reader) -> Words:
    """An action nobody describes: still a sentence, never the code (nor a staff login for the
    consumer)."""
    if entry.actor_id is None:
        return Words(_("The platform updated the record."))
    if reader.audience == CONSUMER:
        return Words(_("The record was updated."))
    return Words(_("%(who)s updated the record.") % {"who": _person(entry)})


def describe(entry: HistoryEntry, reader: Reader) -> Words:
    """The words of one entry for `reader`."""
    _discover()
    fn = _DESCRIBERS.get(entry.action)
    said = fn(entry, reader) if fn is not None else None
    if said is None:
        return _generic(entry, reader)
    return Words(said) if isinstance(said, str) else said


def timeline(entries: Iterable[HistoryEntry], *, audience: str, shop_name: str = "") -> list[Line]:
    """The lines of a timeline, in the entries' order, for one kind of reader."""
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    reader = Reader(audience=audience, shop_name=shop_name)
    lines = []
    for entry in entries:
        words = describe(entry, reader)
        lines.append(
            Line(
                at=entry.at,
                when=format_moment(entry.at),
                text=words.text,
                note=words.note,
                entry=entry,
            )
        )
    return lines


def sentence(entry: HistoryEntry, *, audience: str = PLATFORM, shop_name: str = "") -> str:
    """One entry's sentence (the admin's column)."""
    return describe(entry, Reader(audience=audience, shop_name=shop_name)).text


# --- this floor's own actions: a shop's staff ------------------------------------------------


def _role_label(role: str) -> str:
    from .models import ShopMembership

    try:
        return str(ShopMembership.Role(role).label)
    except ValueError:
        return _("another role")


@describes("staff_added", "staff_role_changed", "staff_removed")
def _staff(entry: HistoryEntry, reader: Reader) -> str:
    who = reader.shop(entry)
    member = entry.data.get("username") or _("someone")
    if entry.action == "staff_added":
        return _("%(who)s added %(member)s to the staff as %(role)s.") % {
            "who": who,
            "member": member,
            "role": _role_label(entry.state_to),
        }
    if entry.action == "staff_removed":
        return _("%(who)s removed %(member)s from the staff.") % {"who": who, "member": member}
    return _("%(who)s changed the role of %(member)s from %(was)s to %(now)s.") % {
        "who": who,
        "member": member,
        "was": _role_label(entry.state_from),
        "now": _role_label(entry.state_to),
    }
