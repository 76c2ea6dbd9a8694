"""The platform's order feed (spec 3, 12): orders and their state changes, upserted by number.

Each message is the order as the platform last saw it: number, state, amount, what was returned,
the consumer (by login name, the account the platform knows), the shop (by its JD shop id), the
completion time once completed, and `changed_at`, the platform's time of that state. Messages
may arrive twice or out of order: an order takes a message only when its `changed_at` is newer
than the last one it took (`Order.platform_updated_at`), so nothing ever moves backwards. A batch
of up to `MAX_BATCH` messages is one transaction of a few statements, whatever its size:

1. one INSERT ... ON CONFLICT (number) DO UPDATE ... WHERE older (PostgreSQL and SQLite alike)
   writes the orders, returning those it wrote;
2. the pending requests of the orders that became cancelled or returned are cancelled, with a
   history entry each, and the apps above hear of it (`signals.requests_cancelled_with_order`:
   the tickets app closes their tickets without a penalty);
3. the overdue instant of the other written orders' pending requests is computed again in one
   UPDATE (`overdue.overdue_at_expression`): a completion sets it, on day 12 already past.

A consumer the platform names that has no account yet gets one (no usable password). Bad input
changes nothing: every message is checked before anything is written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import TextChoices
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from core.errors import DomainError
from core.history import history_rows
from core.models import Shop
from core.sql import postgres, run, timestamp

from .models import CLOSED_ORDER_STATES, InvoiceRequest, Order
from .overdue import overdue_at_expression
from .signals import requests_cancelled_with_order

MAX_BATCH = 1000
# A message from further ahead than this is refused: it would freeze its order until then.
CLOCK_SKEW = timedelta(minutes=5)
MAX_AMOUNT = Decimal("9999999999.99")
NUMBER = re.compile(r"[0-9A-Za-z_-]{1,32}")  # order numbers and JD shop ids
LOGIN = re.compile(r"[\w.@+-]{1,150}")  # Django's user names
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
PENDING = InvoiceRequest.State.PENDING
State = Order.State
STATES = frozenset(State.values)


class Outcome(TextChoices):
    CREATED = "created", pgettext_lazy("order feed outcome", "created")
    UPDATED = "updated", pgettext_lazy("order feed outcome", "updated")
    IGNORED = "ignored", gettext_lazy("ignored: not newer than the order's last change")


@dataclass(frozen=True)
class OrderMessage:
    """One checked message of the feed."""

    number: str
    state: str
    amount: Decimal
    returned_amount: Decimal
    consumer: str
    shop: str
    completed_at: datetime | None
    changed_at: datetime
    placed_at: datetime


@dataclass(frozen=True)
class FeedResult:
    number: str
    outcome: str
    order_id: int | None


class TooManyOrders(DomainError):
    status = 413

    def __init__(self, n: int) -> None:
        super().__init__(
            "too_many_orders",
            _("At most %(max)d orders per call; this one has %(n)d."),
            max=MAX_BATCH,
            n=n,
        )


# --- checking the messages --------------------------------------------------------------------


def _moment(value: Any, field: str, add: Any) -> datetime | None:
    if not isinstance(value, str):
        add(field, _("Give a date and time in ISO 8601 with its offset."))
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        add(field, _("Give a date and time in ISO 8601 with its offset."))
        return None
    if moment.tzinfo is None:
        add(field, _("Give the time with its offset (e.g. +08:00)."))
        return None
    if moment < EARLIEST:
        add(field, _("The time is before the year 2000."))
        return None
    return moment


def _money(value: Any, field: str, add: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        add(field, _('Give an amount in yuan, e.g. "199.00".'))
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        add(field, _('Give an amount in yuan, e.g. "199.00".'))
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        add(field, _("The amount must be between 0 and %(max)s.") % {"max": MAX_AMOUNT})
        return None
    if amount.as_tuple().exponent < -2:
        add(field, _("At most two decimal places."))
        return None
    return amount


def _text(value: Any, field: str, add: Any, *, max_length: int) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        add(field, _("This field is required."))
        return ""
    if len(value) > max_length:
        add(field, _("At most %(n)d characters.") % {"n": max_length})
        return ""
    return value


def _message(item: Any, add: Any, now: datetime) -> OrderMessage | None:
    """Check one message; report each problem through `add(field, message)`."""
    if not isinstance(item, dict):
        add("non_field_errors", _("Each order is a JSON object."))
        return None
    number = _text(item.get("number"), "number", add, max_length=32)
    if number and not NUMBER.fullmatch(number):
        add("number", _("An order number is letters, digits, '-' and '_' only."))
    state = item.get("state")
    if state not in STATES:
        add("state", _("The state is one of: %(states)s.") % {"states": ", ".join(State.values)})
    amount = _money(item.get("amount"), "amount", add)
    returned = item.get("returned_amount")
    returned_amount = (
        _money(returned, "returned_amount", add)
        if returned is not None
        else (amount if state == State.RETURNED else Decimal(0))
    )
    if amount is not None and returned_amount is not None and returned_amount > amount:
        add("returned_amount", _("The returned amount cannot exceed the amount."))
    consumer = _text(item.get("consumer"), "consumer", add, max_length=150)
    if consumer and not LOGIN.fullmatch(consumer):
        add("consumer", _("A login name is letters, digits and @ . + - _ only."))
    shop = _text(item.get("shop"), "shop", add, max_length=32)
    if shop and not NUMBER.fullmatch(shop):
        add("shop", _("A JD shop id is letters, digits, '-' and '_' only."))
    changed_at = _moment(item.get("changed_at"), "changed_at", add)
    if changed_at is not None and changed_at > now + CLOCK_SKEW:
        add("changed_at", _("The change cannot be in the future."))
    completed_at = None
    if item.get("completed_at") is not None:
        completed_at = _moment(item["completed_at"], "completed_at", add)
        if state not in (State.COMPLETED, State.RETURNED):
            add("completed_at", _("Only a completed or returned order has a completion time."))
    elif state == State.COMPLETED:
        add("completed_at", _("A completed order needs its completion time."))
    placed_at = changed_at
    if item.get("placed_at") is not None:
        placed_at = _moment(item["placed_at"], "placed_at", add)
    if None in (amount, returned_amount, changed_at, placed_at) or not (number and consumer):
        return None
    return OrderMessage(
        number=number,
        state=state,
        amount=amount,
        returned_amount=returned_amount,
        consumer=consumer,
        shop=shop,
        completed_at=completed_at,
        changed_at=changed_at,
        placed_at=placed_at,
    )


def clean_order_messages(data: Any, *, now: datetime) -> list[OrderMessage]:
    """The feed's input (one order as a JSON object, or a list of up to `MAX_BATCH`) checked;
    a ValidationError naming each bad field (`<index>.<field>` in a list) otherwise."""
    single = isinstance(data, dict)
    items = [data] if single else data
    if not isinstance(items, list):
        raise ValidationError(_("Send one order (a JSON object) or a list of orders."))
    if not items:
        raise ValidationError(_("The list of orders is empty."))
    if len(items) > MAX_BATCH:
        raise TooManyOrders(len(items))
    errors: dict[str, list[str]] = {}
    messages = []
    for i, item in enumerate(items):
        prefix = "" if single else f"{i}."

        def add(field: str, message: str, prefix: str = prefix) -> None:
            errors.setdefault(f"{prefix}{field}", []).append(message)

        messages.append(_message(item, add, now))
    if errors:
        raise ValidationError(errors)
    return messages


# --- writing them ------------------------------------------------------------------------------


def _shop_ids(messages: list[OrderMessage], *, single: bool) -> dict[str, int]:
    wanted = {m.shop for m in messages}
    found = dict(
        Shop.objects.for_system().filter(jd_shop_id__in=wanted).values_list("jd_shop_id", "pk")
    )
    errors = {
        "shop" if single else f"{i}.shop": [
            _("No shop has the JD shop id %(shop)s.") % {"shop": m.shop}
        ]
        for i, m in enumerate(messages)
        if m.shop not in found
    }
    if errors:
        raise ValidationError(errors)
    return found


def _consumer_ids(messages: list[OrderMessage]) -> dict[str, int]:
    """The consumers' user ids by login name; the accounts the platform names and we have not
    seen yet are created (without a usable password)."""
    User = get_user_model()
    wanted = {m.consumer for m in messages}
    users = User.objects.filter(username__in=wanted)
    found = dict(users.values_list("username", "pk"))
    missing = wanted - found.keys()
    if missing:
        User.objects.bulk_create(
            [User(username=name, password=make_password(None)) for name in sorted(missing)],
            ignore_conflicts=True,
        )
        found = dict(users.values_list("username", "pk"))
    return found


_COLUMNS = (
    "number, shop_id, consumer_id, amount, returned_amount, state, created_at, completed_at, "
    "platform_updated_at"
)
_UPDATE = """
    ON CONFLICT (number) DO UPDATE SET
        amount = excluded.amount,
        returned_amount = excluded.returned_amount,
        state = excluded.state,
        completed_at = CASE WHEN excluded.state = 'returned'
            THEN COALESCE(excluded.completed_at, {table}.completed_at)
            ELSE excluded.completed_at END,
        platform_updated_at = excluded.platform_updated_at
    WHERE {table}.platform_updated_at IS NULL
        OR {table}.platform_updated_at < excluded.platform_updated_at
"""


def _upsert_sql() -> str:
    table = Order._meta.db_table
    update = _UPDATE.format(table=table)
    if postgres():
        return (
            f"INSERT INTO {table} ({_COLUMNS}) SELECT m.number, m.shop_id, m.consumer_id, "
            "m.amount, m.returned_amount, m.state, m.placed_at, m.completed_at, m.changed_at "
            "FROM jsonb_to_recordset(%s::jsonb) AS m(number text, shop_id bigint, "
            "consumer_id integer, amount numeric, returned_amount numeric, state text, "
            "placed_at timestamptz, completed_at timestamptz, changed_at timestamptz) "
            f"{update} RETURNING id, number, state, (xmax = 0)"
        )
    fields = (
        "number",
        "shop_id",
        "consumer_id",
        "amount",
        "returned_amount",
        "state",
        "placed_at",
        "completed_at",
        "changed_at",
    )
    values = ", ".join(f"json_extract(value, '$.{f}')" for f in fields)
    # (WHERE true: SQLite's parser needs it between a SELECT and ON CONFLICT.)
    return (
        f"INSERT INTO {table} ({_COLUMNS}) SELECT {values} FROM json_each(%s) WHERE true "
        f"{update} RETURNING id, number, state, NULL"
    )


def _rows(
    messages: list[OrderMessage], shops: dict[str, int], consumers: dict[str, int]
) -> list[dict]:
    """The messages as the upsert's JSON rows (times as the database compares them: ISO 8601
    for PostgreSQL's timestamptz, Django's UTC text on SQLite)."""
    moment = datetime.isoformat if postgres() else timestamp

    def at(value: datetime | None) -> str | None:
        return None if value is None else moment(value)

    return [
        {
            "number": m.number,
            "shop_id": shops[m.shop],
            "consumer_id": consumers[m.consumer],
            "amount": str(m.amount),
            "returned_amount": str(m.returned_amount),
            "state": m.state,
            "placed_at": at(m.placed_at),
            "completed_at": at(m.completed_at),
            "changed_at": at(m.changed_at),
        }
        for m in messages
    ]


def _latest_per_number(messages: list[OrderMessage]) -> list[OrderMessage]:
    """One message per order number (an INSERT cannot touch a row twice): its latest change,
    the first of equals, sorted by number."""
    latest: dict[str, OrderMessage] = {}
    for m in messages:
        if m.number not in latest or m.changed_at > latest[m.number].changed_at:
            latest[m.number] = m
    # In number order: two batches at once lock their common orders in the same order, so
    # they wait for each other instead of deadlocking.
    return sorted(latest.values(), key=lambda m: m.number)


def _cancel_requests(order_ids: list[int], *, at: datetime) -> list[int]:
    """Cancel the pending requests of the orders that were cancelled or returned, each with its
    history entry, and tell the apps above. Returns the cancelled requests' ids."""
    requests = InvoiceRequest.objects.for_system()
    pending = requests.filter(order_id__in=order_ids, state=PENDING)
    if postgres():
        pending = pending.select_for_update(no_key=True, of=("self",))
    found = list(pending.values_list("pk", "order__state"))
    if not found:
        return []
    ids = [pk for pk, _state in found]
    requests.filter(pk__in=ids, state=PENDING).update(
        state=InvoiceRequest.State.CANCELLED, cancelled_at=at
    )
    history_rows(
        [
            {
                "request_id": pk,
                "subject": "request",
                "subject_id": pk,
                "action": "cancelled_with_order",
                "state_from": PENDING,
                "state_to": InvoiceRequest.State.CANCELLED,
                "data": {"order_state": order_state},
            }
            for pk, order_state in found
        ],
        at=at,
    )
    requests_cancelled_with_order.send(sender=InvoiceRequest, ids=ids, at=at)
    return ids


def orders_feed(*, data: Any, now: datetime | None = None) -> list[FeedResult]:
    """Take the platform's order messages (see the module docstring): one result per message,
    in order: created, updated, or ignored (not newer than what the order already has)."""
    now = now or timezone.now()
    messages = clean_order_messages(data, now=now)
    shops = _shop_ids(messages, single=isinstance(data, dict))
    latest = _latest_per_number(messages)
    with transaction.atomic():
        consumers = _consumer_ids(latest)
        existing: set[str] = set()
        if not postgres():  # (PostgreSQL says it in the RETURNING: xmax = 0 on an insert)
            numbers = [m.number for m in latest]
            existing = set(
                Order.objects.for_system()
                .filter(number__in=numbers)
                .values_list("number", flat=True)
            )
        payload = json.dumps(_rows(latest, shops, consumers))
        written = [
            (pk, number, state, created if created is not None else number not in existing)
            for pk, number, state, created in run(_upsert_sql(), [payload])
        ]
        # (a new order has no requests yet)
        closed = [pk for pk, _n, state, new in written if state in CLOSED_ORDER_STATES and not new]
        others = [
            pk for pk, _n, state, new in written if state not in CLOSED_ORDER_STATES and not new
        ]
        if closed:
            _cancel_requests(closed, at=now)
        if others:
            InvoiceRequest.objects.for_system().filter(order_id__in=others, state=PENDING).update(
                overdue_at=overdue_at_expression()
            )
    outcome = {
        number: (Outcome.CREATED if new else Outcome.UPDATED, pk)
        for pk, number, _state, new in written
    }
    taken = {number: m for number, m in ((m.number, m) for m in latest)}
    results = []
    for m in messages:
        if m.number in outcome and taken[m.number] is m:
            kind, pk = outcome.pop(m.number)
            results.append(FeedResult(m.number, kind, pk))
        else:
            results.append(FeedResult(m.number, Outcome.IGNORED, None))
    return results
