"""Demo data, pure generator: each consumer case (orders, requests, their history)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from invoices.models import Order
from invoices.overdue import overdue_at_for

from .people import consumer_username, demo_consumer_plans, person_name, seeded, uscc
from .words import (
    BANKS,
    CITIES,
    COMPANY_FORMS,
    COMPANY_WORDS,
    DAY,
    DEMO_INVOICE_PATH,
    HOUR,
    INDUSTRIES,
    INSTITUTIONS,
    MINUTE,
    ORG_KIND_WEIGHTS,
    ORG_KINDS,
    PERSON_KIND_WEIGHTS,
    PERSON_KINDS,
    REFUSE_REASONS,
    ROADS,
    R,
)


class CaseMaker:
    """Turns random draws into one order with its requests and their history."""

    def __init__(self, seed: int, shops: list[dict[str, Any]], now: datetime, invoice_file: str):
        self.seed = seed
        self.rng = seeded(seed, "cases")
        self.now = now
        self.invoice_file = invoice_file
        self.shops = shops
        self._flow_since = [s["new_flow_since"] for s in shops]
        self.orders = 0
        self._order_offset = seeded(seed, "orders").randrange(10**11)

    # -- single fields --

    def order_number(self) -> str:
        self.orders += 1
        # A bijection of the counter onto 11 digits: unique and not sequential-looking.
        return f"2{(self.orders * 48_271_979 + self._order_offset) % 10**11:011d}"

    def amount(self) -> Decimal:
        rng = self.rng
        yuan = min(max(int(math.exp(rng.gauss(5.0, 1.2))), 1), 60_000)
        cents = rng.choice((0, 0, 0, 90, 99, 50, rng.randrange(100)))
        return Decimal(f"{yuan}.{cents:02d}")

    def company(self) -> tuple[str, str, tuple]:
        """(name, tax id, city) of an organisation title."""
        rng = self.rng
        city = rng.choice(CITIES)
        district, division = rng.choice(city[3])
        roll = rng.random()
        if roll < 0.93:
            name = (
                f"{city[0]}{rng.choice(COMPANY_WORDS)}{rng.choice(INDUSTRIES)}"
                f"{rng.choice(COMPANY_FORMS)}"
            )
            authority = "91"
        elif roll < 0.97:
            name = f"{city[1].split('省')[-1]}{rng.choice(INSTITUTIONS)}"
            authority = "12"
        else:
            name = f"{city[0]}市{rng.choice(COMPANY_WORDS)}农业专业合作社"
            authority = "93"
        return name, uscc(rng, authority=authority, division=division), (city, district)

    def title_fields(
        self, consumer: int, title_type: str | None = None, invoice_kind: str | None = None
    ) -> dict[str, Any]:
        rng = self.rng
        if title_type is None:
            title_type = R.TitleType.PERSON if rng.random() < 0.55 else R.TitleType.ORGANISATION
        if invoice_kind is None:
            if title_type == R.TitleType.PERSON:
                invoice_kind = rng.choices(PERSON_KINDS, PERSON_KIND_WEIGHTS)[0]
            else:
                invoice_kind = rng.choices(ORG_KINDS, ORG_KIND_WEIGHTS)[0]
        fields = {
            "title_type": str(title_type),
            "tax_id": "",
            "tax_id_warning": "",
            "invoice_kind": str(invoice_kind),
            "email": "",
            "registered_address": "",
            "registered_phone": "",
            "bank_name": "",
            "bank_account": "",
        }
        if title_type == R.TitleType.PERSON:
            fields["title"] = "".join(person_name(self.seed, consumer))
            if invoice_kind in R.ELECTRONIC_KINDS or rng.random() < 0.3:
                fields["email"] = f"{consumer_username(consumer)}@example.com"
            return fields
        name, tax_id, (city, district) = self.company()
        fields["title"] = name
        fields["tax_id"] = tax_id
        if invoice_kind in R.ELECTRONIC_KINDS or rng.random() < 0.3:
            fields["email"] = f"fp{rng.randrange(1000, 99999)}@example.org"
        if invoice_kind in R.SPECIAL_KINDS or rng.random() < 0.25:
            fields["registered_address"] = (
                f"{city[1]}{district}{rng.choice(ROADS)}{rng.randint(1, 999)}号"
                + (
                    f"{rng.randint(1, 30)}楼{rng.randint(1, 20):02d}室"
                    if rng.random() < 0.6
                    else ""
                )
            )
            fields["registered_phone"] = f"{city[2]}-{rng.randint(5000_0000, 8999_9999)}"
            branch = district.removesuffix("新区").removesuffix("区")
            fields["bank_name"] = f"{rng.choice(BANKS)}{city[0]}{branch}支行"
            fields["bank_account"] = str(rng.randrange(10**15, 10**19))
        return fields

    def invoice_number(self, invoice_kind: str, at: datetime) -> tuple[str, str]:
        rng = self.rng
        if invoice_kind in (R.InvoiceKind.DIGITAL_ORDINARY, R.InvoiceKind.DIGITAL_SPECIAL):
            return "", f"{at:%y}{rng.randint(11, 65)}{rng.randrange(10**16):016d}"
        code_len = 10 if invoice_kind == R.InvoiceKind.VAT_SPECIAL else 12
        return f"{rng.randrange(10 ** (code_len - 1), 10**code_len)}", f"{rng.randrange(10**8):08d}"

    def _after(self, start: datetime, low: timedelta, high: timedelta) -> datetime | None:
        """A random instant `low`-`high` after `start`, or None when it would be in the future."""
        room = self.now - start
        if room <= low:
            return None
        span = min(high, room) - low
        return start + low + span * self.rng.random()

    def _merchant_actor(self, shop: int) -> str:
        return "operator" if shop == 0 and self.rng.random() < 0.4 else "owner"

    # -- one request with its history --

    def request(
        self,
        *,
        consumer: int,
        shop: int,
        state: str,
        requested_at: datetime,
        fields: dict[str, Any],
        reissue_of: int | None = None,
    ) -> dict[str, Any] | None:
        """A request of `state` requested at `requested_at`; None if its outcome cannot fit
        before now."""
        rng = self.rng
        row: dict[str, Any] = {
            **fields,
            "kind": "reissue" if reissue_of is not None else "original",
            "reissue_of": reissue_of,
            "state": str(state),
            "requested_at": requested_at,
            # Its order completed before it was asked for (see `case`): the request decides.
            "overdue_at": overdue_at_for(
                requested_at=requested_at,
                flow_since=self._flow_since[shop],
                completed_at=requested_at,
            ),
            "issued_at": None,
            "invoice_code": "",
            "invoice_number": "",
            "invoice_file": "",
            "invoice_content_type": "",
            # The demo's invoice files are placeholders: issued before checks, not read back.
            "invoice_check": "",
            "invoice_read": {},
            "replaced_at": None,
            "exchange_reason": "",
            "exchange_note": "",
            "refused_at": None,
            "refuse_reason": "",
            "cancelled_at": None,
        }
        history = [
            {
                "action": "reissue_requested" if reissue_of is not None else "requested",
                "actor": "consumer",
                "state_from": "",
                "state_to": "pending",
                "at": requested_at,
                "data": {"invoice_kind": fields["invoice_kind"], "title": fields["title"]},
            }
        ]
        if state == R.State.ISSUED:
            at = self._after(requested_at, 10 * MINUTE, timedelta(days=rng.choice((1, 2, 4, 9))))
            if at is None:
                return None
            code, number = self.invoice_number(fields["invoice_kind"], at)
            row.update(
                issued_at=at,
                invoice_code=code,
                invoice_number=number,
                invoice_file=self.invoice_file,
                invoice_content_type="application/pdf",
            )
            data = {"invoice_code": code, "invoice_number": number, "file": self.invoice_file}
            history.append(self._event("issued", self._merchant_actor(shop), state, at, data))
        elif state == R.State.REFUSED:
            at = self._after(requested_at, 30 * MINUTE, 3 * DAY)
            if at is None:
                return None
            reason = rng.choice(REFUSE_REASONS)
            row.update(refused_at=at, refuse_reason=reason)
            data = {"reason": reason}
            history.append(self._event("refused", self._merchant_actor(shop), state, at, data))
        elif state == R.State.CANCELLED:
            at = self._after(requested_at, 2 * MINUTE, 2 * DAY)
            if at is None:
                return None
            row.update(cancelled_at=at)
            history.append(self._event("cancelled", "consumer", state, at, {}))
        row["history"] = history
        return row

    @staticmethod
    def _event(action: str, actor: str, state: str, at: datetime, data: dict) -> dict[str, Any]:
        return {
            "action": action,
            "actor": actor,
            "state_from": "pending",
            "state_to": str(state),
            "at": at,
            "data": data,
        }

    def order(self, *, consumer: int, shop: int, state: str, done_before: datetime) -> dict:
        rng = self.rng
        completed_at = done_before - timedelta(minutes=rng.randint(5, 5 * 24 * 60))
        created_at = completed_at - timedelta(minutes=rng.randint(12 * 60, 8 * 24 * 60))
        return {
            "consumer": consumer,
            "shop": shop,
            "number": self.order_number(),
            "amount": self.amount(),
            "state": str(state),
            "created_at": created_at,
            "completed_at": completed_at if state == Order.State.COMPLETED else None,
        }

    def case(
        self,
        *,
        consumer: int,
        shop: int,
        state: str,
        age: timedelta,
        then: str | None = None,
        title_type: str | None = None,
        invoice_kind: str | None = None,
    ) -> dict[str, Any]:
        """An order with its first request (and, after a refusal, maybe a re-issue)."""
        requested_at = self.now - age
        fields = self.title_fields(consumer, title_type, invoice_kind)
        first = self.request(
            consumer=consumer, shop=shop, state=state, requested_at=requested_at, fields=fields
        )
        if first is None:  # too recent to have been answered: still pending
            first = self.request(
                consumer=consumer,
                shop=shop,
                state=R.State.PENDING,
                requested_at=requested_at,
                fields=fields,
            )
        requests = [first]
        if then is not None and first["state"] == R.State.REFUSED:
            again = self._after(first["refused_at"], HOUR, 3 * DAY)
            if again is not None:
                second = self.request(
                    consumer=consumer,
                    shop=shop,
                    state=then,
                    requested_at=again,
                    fields=fields,
                    reissue_of=0,
                ) or self.request(
                    consumer=consumer,
                    shop=shop,
                    state=R.State.PENDING,
                    requested_at=again,
                    fields=fields,
                    reissue_of=0,
                )
                requests.append(second)
        order = self.order(
            consumer=consumer, shop=shop, state=Order.State.COMPLETED, done_before=requested_at
        )
        return {"order": order, "requests": requests}

    def bare_order(self, *, consumer: int, shop: int, state: str, age: timedelta) -> dict:
        """An order with no invoice request (completed recently, or not completed at all)."""
        return {
            "order": self.order(
                consumer=consumer, shop=shop, state=state, done_before=self.now - age
            ),
            "requests": [],
        }


def iter_cases(
    *,
    seed: int,
    shops: list[dict[str, Any]],
    consumers: int,
    requests: int,
    now: datetime,
    invoice_file: str = DEMO_INVOICE_PATH,
    bulk: bool = True,
    maker: CaseMaker | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield the demo orders, each {"order": {...}, "requests": [{..., "history": [...]}]},
    until `requests` invoice requests have been yielded. Pure: same arguments, same rows.

    Shops and consumers are referred to by index (consumer 0 is the demo login `consumer`);
    a re-issue's `reissue_of` is the index of the refused request in the same case. With
    `bulk` false, only the demo consumer's cases (the rest is made in SQL, `demo.bulk`).
    """
    make = maker or CaseMaker(seed, shops, now, invoice_file)
    rng = make.rng
    left = requests
    # The demo consumer first: every state, overdue requests, and orders left to request on.
    for plan in demo_consumer_plans(shops):
        if left <= 0:
            break
        case = make.case(
            consumer=0,
            shop=plan.shop,
            state=plan.state,
            age=plan.age + timedelta(minutes=rng.randint(0, 300)),
            then=plan.then if left >= 2 else None,
            title_type=plan.title_type,
            invoice_kind=plan.invoice_kind,
        )
        left -= len(case["requests"])
        yield case
    for age_hours, state in (
        (30, "completed"),
        (52, "completed"),
        (100, "completed"),
        (20, "shipped"),
    ):
        yield make.bare_order(consumer=0, shop=0, state=state, age=timedelta(hours=age_hours))
    if not bulk:
        return

    n_shops = len(shops)
    while left > 0:
        consumer = rng.randint(1, consumers) if consumers else 0
        shop = rng.randrange(n_shops)
        extra = rng.random()
        if extra < 0.03:  # some orders never get a request, or were never completed
            state = rng.choice(("completed", "paid", "shipped", "cancelled"))
            yield make.bare_order(
                consumer=consumer, shop=shop, state=state, age=timedelta(hours=rng.randint(1, 900))
            )
            continue
        roll = rng.random()
        then = None
        if roll < 0.55:
            state = R.State.PENDING
            # Most pending requests are recent; some are well past the 10-day mark.
            days = rng.uniform(0, 10) if rng.random() < 0.7 else rng.uniform(10, 60)
        else:
            days = rng.uniform(0, 60)
            if roll < 0.85:
                state = R.State.ISSUED
            elif roll < 0.95:
                state = R.State.REFUSED
                if left >= 2 and rng.random() < 0.3:
                    then = rng.choice((R.State.PENDING, R.State.ISSUED, R.State.ISSUED))
            else:
                state = R.State.CANCELLED
        case = make.case(
            consumer=consumer, shop=shop, state=state, age=timedelta(days=days), then=then
        )
        left -= len(case["requests"])
        yield case
