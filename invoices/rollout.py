"""Gray release (灰度开放, spec 7): the new flow is turned on shop by shop.

Turning a shop on starts its clock: a pending request made before that moment becomes overdue
the overdue period after the shop was turned on, not at once. Turning it off returns the shop
to the old flow: no urge tickets are opened for it.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from core.history import actor_or_none
from core.models import Shop

from .models import InvoiceRequest, ShopFlowChange
from .overdue import overdue_at_expression


def rollout_bucket(jd_shop_id: str) -> int:
    """A stable bucket 0-99 per shop, so that raising the share only ever adds shops."""
    return zlib.crc32(jd_shop_id.encode()) % 100


def shops_set_new_flow(
    *,
    shops: Iterable[Shop],
    on: bool,
    by: AbstractBaseUser | None,
    now: datetime | None = None,
    note: str = "",
) -> int:
    """Turn the new flow on (or off) for `shops`; returns how many shops changed.

    Shops already in the asked-for state are left alone, so their clock does not restart.
    Each shop's change and the rescheduling of its pending requests are one transaction.
    """
    now = now or timezone.now()
    changed = 0
    shop_rows = Shop.objects.for_system()
    pending = InvoiceRequest.objects.for_system().filter(state=InvoiceRequest.State.PENDING)
    for shop in shops:
        with transaction.atomic():
            if on:
                won = shop_rows.filter(pk=shop.pk, new_flow_since__isnull=True).update(
                    new_flow_since=now
                )
                rescheduled = (
                    pending.filter(shop_id=shop.pk).update(overdue_at=overdue_at_expression(now))
                    if won
                    else 0
                )
            else:
                won = shop_rows.filter(pk=shop.pk, new_flow_since__isnull=False).update(
                    new_flow_since=None
                )
                rescheduled = pending.filter(shop_id=shop.pk).update(overdue_at=None) if won else 0
            if won:
                ShopFlowChange.objects.create(
                    shop_id=shop.pk,
                    on=on,
                    actor=actor_or_none(by),
                    at=now,
                    requests_rescheduled=rescheduled,
                    note=note,
                )
                changed += 1
    return changed


def shops_roll_out_share(
    *,
    percent: int,
    by: AbstractBaseUser | None,
    now: datetime | None = None,
) -> int:
    """Put every shop whose stable bucket is below `percent` on the new flow (never takes a
    shop off). Returns how many shops were turned on."""
    if not 0 <= percent <= 100:
        raise ValueError("percent must be between 0 and 100")
    candidates = [
        s
        for s in Shop.objects.for_system()
        .filter(new_flow_since__isnull=True)
        .only("pk", "jd_shop_id")
        if rollout_bucket(s.jd_shop_id) < percent
    ]
    return shops_set_new_flow(shops=candidates, on=True, by=by, now=now, note=f"share {percent}%")
