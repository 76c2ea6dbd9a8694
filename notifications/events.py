"""The kinds of event (spec 10) and what each becomes: who hears of it, in which words, with
which link, and what a shop's webhook receives.

An event is an outbox row (`core.outbox`): a kind, a unique key and a small payload of ids,
written in the transaction of the change that caused it. Each kind registers here, at start-up,
a renderer that turns many payloads at once (a few queries per batch) into `Event`s: the shop
and the object it concerns, the webhook data, and one `Notice` per audience (the shop's staff,
its owners only, or the consumer), each with its own words and link. A renderer returns None
for an event that no longer needs to go out (a reminder for a ticket already answered).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext

STAFF, OWNERS, CONSUMER = "staff", "owners", "consumer"
AUDIENCES = (STAFF, OWNERS, CONSUMER)


Words = str | Callable[[], str]


@dataclass(frozen=True)
class Notice:
    """What one audience of an event reads, rendered once per language (inside
    `translation.override`): `subject` and `body` are either a message marked with
    `gettext_noop`, translated then filled with `params`, or a function that returns the text
    (for words that depend on the case)."""

    to: str  # STAFF (every member of the shop, viewers too), OWNERS or CONSUMER
    subject: Words
    body: Words
    link: str  # a path on this site
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, part: str, translated: dict[str, str] | None = None) -> str:
        """The subject or body in the active language; `translated`, if given, keeps the
        translations of messages already looked up (one per message and language)."""
        words = getattr(self, part)
        if callable(words):
            return str(words())
        if translated is None:
            return gettext(words) % self.params
        text = translated.get(words)
        if text is None:
            text = translated[words] = gettext(words)
        return text % self.params


@dataclass
class Event:
    """What a renderer makes of one outbox row."""

    object: str  # the object it concerns, e.g. "ticket:12": deliveries for one object keep order
    data: dict[str, Any]  # the webhook's `data` (ids, states, deadlines; no personal data)
    notices: list[Notice] = field(default_factory=list)
    shop_id: int | None = None  # whose webhooks get it, and whose staff read it
    consumer_id: int | None = None
    webhook: bool = True  # False: the shop's webhooks do not get it (it is about them)


Renderer = Callable[[list[dict]], list[Event | None]]


@dataclass(frozen=True)
class Kind:
    name: str
    label: Promise | str  # shown on the settings page
    audiences: tuple[str, ...]  # who may hear of it (for the settings page)
    render: Renderer


KINDS: dict[str, Kind] = {}


def event_kind(
    name: str, *, label: Promise | str, audiences: tuple[str, ...]
) -> Callable[[Renderer], Renderer]:
    """Register the renderer of an event kind (idempotent, so `ready()` may run twice)."""

    def register(render: Renderer) -> Renderer:
        KINDS[name] = Kind(name=name, label=label, audiences=audiences, render=render)
        return render

    return register


def kinds_for(*, merchant: bool, owner: bool, consumer: bool) -> list[Kind]:
    """The kinds a person can receive, for their settings page."""
    wanted = {STAFF} if merchant else set()
    wanted |= {OWNERS} if owner else set()
    wanted |= {CONSUMER} if consumer else set()
    return [k for k in KINDS.values() if wanted & set(k.audiences)]
