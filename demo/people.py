"""Demo data, pure generators: shops, consumers and who orders where (no database)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from invoices.validators import uscc_check_char

from .words import (
    BRANDS,
    CITIES,
    CONSUMER,
    DISTRIBUTORS,
    GIVEN,
    MERCHANT,
    ORG_CODE_LETTERS,
    ORG_CODE_WEIGHTS,
    SURNAMES,
    R,
)

# --- pure generators -------------------------------------------------------------------------


def seeded(seed: int, part: str) -> random.Random:
    # String seeds are hashed with SHA-512: stable across runs and Python processes.
    return random.Random(f"jdpop-demo:{seed}:{part}")


def uscc(rng: random.Random, *, authority: str = "91", division: str = "310115") -> str:
    """A valid 18-character unified social credit code (GB 32100-2015), with a valid
    organisation code (GB 11714) inside it."""
    body = "".join(
        rng.choice(ORG_CODE_LETTERS) if i == 0 and rng.random() < 0.1 else str(rng.randrange(10))
        for i in range(8)
    )
    total = sum(
        (int(c) if c.isdigit() else ord(c) - 55) * w
        for c, w in zip(body, ORG_CODE_WEIGHTS, strict=True)
    )
    check = 11 - total % 11
    org_code = body + ("X" if check == 10 else "0" if check == 11 else str(check))
    first17 = authority + division + org_code
    return first17 + uscc_check_char(first17)


def person_name(seed: int, index: int) -> tuple[str, str]:
    """(surname, given name) of demo consumer `index`, derived without any state."""
    h = (index * 2654435761 + seed * 40503 + 12345) & 0xFFFFFFFF
    surname = SURNAMES[h % len(SURNAMES)]
    given = GIVEN[(h >> 8) % len(GIVEN)]
    if (h >> 16) % 3:
        given += GIVEN[(h >> 20) % len(GIVEN)]
    return surname, given


def consumer_username(index: int) -> str:
    """Login of demo consumer `index` (0 is the demo login `consumer`)."""
    return CONSUMER if index == 0 else f"c{index:06d}"


def shop_rows(*, seed: int, shops: int, now: datetime) -> list[dict[str, Any]]:
    """The demo shops: Chinese names, 8-digit JD shop ids, all but the last on the new flow."""
    rng = seeded(seed, "shops")
    ids = rng.sample(range(10_000_000, 100_000_000), shops)
    names: set[str] = set()
    rows = []
    for i in range(shops):
        for attempt in range(30):
            brand = rng.choice(BRANDS)
            kind = rng.random()
            if i == 0 or kind < 0.55:
                name = f"{brand}官方旗舰店"
            elif kind < 0.85:
                name = f"{brand}{rng.choice(DISTRIBUTORS)}专营店"
            else:
                name = f"{brand}{rng.choice(CITIES)[0]}自营店"
            if attempt == 29:  # the lists run out after ~2,000 shops: number the rest
                name = f"{brand}{rng.choice(DISTRIBUTORS)}{i}号专营店"
            if name not in names:
                break
        names.add(name)
        old_flow = shops >= 2 and i == shops - 1
        rows.append(
            {
                "index": i,
                "jd_shop_id": str(ids[i]),
                "name": name,
                "tax_id": uscc(rng),  # the seller tax id its invoices carry
                "created_at": now
                - timedelta(days=rng.randint(200, 1500), hours=rng.randint(0, 23)),
                "new_flow_since": None
                if old_flow
                else now - timedelta(days=90 + rng.randint(0, 5), hours=rng.randint(9, 18)),
                "owner": MERCHANT if i == 0 else f"shop{ids[i]}",
            }
        )
    return rows


def consumer_rows(*, seed: int, consumers: int, now: datetime) -> Iterator[dict[str, Any]]:
    """The bulk demo consumers c000001 … (the demo login `consumer` is index 0, made apart)."""
    for i in range(1, consumers + 1):
        surname, given = person_name(seed, i)
        h = (i * 2246822519 + seed) & 0xFFFFFFFF
        yield {
            "username": consumer_username(i),
            "last_name": surname,
            "first_name": given,
            "email": f"{consumer_username(i)}@example.com",
            "date_joined": now - timedelta(days=61 + h % 2000, seconds=h % 86400),
        }


@dataclass
class Plan:
    """What the demo consumer's hand-made cases are: state, age, shop and extras."""

    state: str
    age: timedelta
    shop: int
    then: str | None = None  # a re-issue after a refusal, in this state
    title_type: str | None = None
    invoice_kind: str | None = None


def demo_consumer_plans(shops: list[dict[str, Any]]) -> list[Plan]:
    new_flow = [s["index"] for s in shops if s["new_flow_since"] is not None]
    old_flow = [s["index"] for s in shops if s["new_flow_since"] is None]
    other = new_flow[1] if len(new_flow) > 1 else new_flow[0]
    org = R.TitleType.ORGANISATION
    plans = [
        Plan(R.State.PENDING, timedelta(days=25, hours=3), 0),  # overdue
        Plan(R.State.PENDING, timedelta(days=14, hours=6), 0, title_type=org),  # overdue
        Plan(R.State.PENDING, timedelta(days=11, hours=2), other),  # overdue
        Plan(R.State.PENDING, timedelta(days=2, hours=5), 0),  # not yet overdue
        Plan(R.State.ISSUED, timedelta(days=30), 0),
        Plan(R.State.ISSUED, timedelta(days=8), other, title_type=org),
        Plan(
            R.State.ISSUED,
            timedelta(days=40),
            0,
            title_type=org,
            invoice_kind=R.InvoiceKind.VAT_SPECIAL,
        ),
        Plan(R.State.REFUSED, timedelta(days=16), 0, title_type=org),
        Plan(R.State.REFUSED, timedelta(days=9), 0, then=R.State.PENDING),
        Plan(R.State.REFUSED, timedelta(days=35), other, then=R.State.ISSUED),
        Plan(R.State.CANCELLED, timedelta(days=6), 0),
        Plan(R.State.PENDING, timedelta(days=19, hours=4), 0),  # overdue
    ]
    if old_flow:  # old flow: pending for weeks, yet never overdue
        plans.insert(4, Plan(R.State.PENDING, timedelta(days=20), old_flow[0]))
    return plans
