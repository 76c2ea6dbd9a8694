"""Which pending request of the shop a file belongs to: the order number in its remarks, its
file name, or its buyer and total (read once per run, then looked up in memory)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from ..models import InvoiceRequest
from ..reading import InvoiceReading

_SPACES = re.compile(r"\s+")
_WIDE = str.maketrans("（）【】，．：", "()[],.:")
_RUNS = re.compile(r"\d{6,32}")


def name_key(name: str) -> str:
    """A buyer name as `matching.same_name` compares it (spaces, full-width brackets, case)."""
    return _SPACES.sub("", (name or "").translate(_WIDE)).casefold()


def _id_key(value: str) -> str:
    return _SPACES.sub("", value or "").upper()


@dataclass(frozen=True)
class Candidate:
    pk: int
    order: str
    tax_id: str
    amount: Decimal


@dataclass(frozen=True)
class Found:
    """Which pending request a file belongs to (`pk` None: none, or `ambiguous` several)."""

    pk: int | None = None
    order: str = ""
    how: str = ""  # a key of HOW
    ambiguous: int = 0
    numbers: tuple[str, ...] = ()  # order numbers the file names (remarks, file name)


@dataclass
class PendingIndex:
    """The shop's pending requests, read once per run: by order number and by buyer name."""

    shop_id: int
    by_order: dict[str, Candidate] = field(default_factory=dict)
    by_name: dict[str, list[Candidate]] = field(default_factory=lambda: defaultdict(list))
    by_pk: dict[int, tuple[Candidate, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, shop_id: int) -> PendingIndex:
        index = cls(shop_id)
        rows = (
            InvoiceRequest.objects.for_system()
            .filter(shop_id=shop_id, state=InvoiceRequest.State.PENDING)
            .values_list("pk", "order__number", "title", "tax_id", "order__amount")
        )
        for pk, order, title, tax_id, amount in rows.iterator(chunk_size=5000):
            candidate = Candidate(pk, order, tax_id, amount)
            index.by_order[order] = candidate
            index.by_name[name_key(title)].append(candidate)
            index.by_pk[pk] = (candidate, name_key(title))
        return index

    def drop(self, pk: int) -> None:
        """The request is no longer pending (issued by this run, or found otherwise)."""
        if pk not in self.by_pk:
            return
        candidate, key = self.by_pk.pop(pk)
        self.by_order.pop(candidate.order, None)
        self.by_name[key].remove(candidate)

    def find(self, reading: InvoiceReading | None, stem: str) -> Found:
        remarks = _RUNS.findall(reading.remarks) if reading else []
        in_name = [stem.strip()] if stem.strip().isdigit() else []
        in_name += [n for n in _RUNS.findall(stem) if n not in in_name]
        numbers = tuple(dict.fromkeys(remarks + in_name))
        for how, found in (("remarks", remarks), ("file_name", in_name)):
            for number in found:
                if number in self.by_order:
                    c = self.by_order[number]
                    return Found(c.pk, c.order, how, numbers=numbers)
        if reading is None or not reading.buyer_name or reading.total is None:
            return Found(numbers=numbers)
        tolerance = settings.JDPOP_INVOICE_TOTAL_TOLERANCE
        candidates = [
            c
            for c in self.by_name.get(name_key(reading.buyer_name), ())
            if c.amount - tolerance <= reading.total <= c.amount
        ]
        if reading.buyer_tax_id and len(candidates) > 1:
            same = [c for c in candidates if _id_key(c.tax_id) == _id_key(reading.buyer_tax_id)]
            candidates = same or candidates
        if len(candidates) == 1:
            c = candidates[0]
            return Found(c.pk, c.order, "contents", numbers=numbers)
        return Found(ambiguous=len(candidates) if len(candidates) > 1 else 0, numbers=numbers)

    def elsewhere(
        self, found: Found, reading: InvoiceReading | None
    ) -> tuple[str, str, str] | None:
        """The shop's request, not pending, that the file names (by order number) or whose
        invoice number it has: (state, order number, invoice number), or None."""
        requests = InvoiceRequest.objects.for_system().filter(shop_id=self.shop_id)
        fields = ("state", "order__number", "invoice_number")
        if found.numbers:
            hit = (
                requests.filter(order__number__in=found.numbers)
                .exclude(state=InvoiceRequest.State.PENDING)
                .order_by("-requested_at", "-pk")
                .values_list(*fields)
                .first()
            )
            if hit:
                return hit
        if reading is not None and reading.number:
            issued = requests.filter(
                state=InvoiceRequest.State.ISSUED, invoice_number=reading.number
            )
            if reading.code:
                issued = issued.filter(invoice_code=reading.code)
            return issued.values_list(*fields).first()
        return None
