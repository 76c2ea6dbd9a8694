"""Matching an invoice read back to its request (spec 11).

`check` compares what `reading.read_invoice` found with the request, its order and its shop:

- the invoice number typed = the number read (and the 发票代码, when both carry one);
- the buyer name = the request's title (spaces and full-width brackets aside);
- the buyer tax id = the request's tax id (an organisation's request);
- the seller tax id = the shop's (when the shop has given it);
- the total with tax = the order amount, or up to JDPOP_INVOICE_TOTAL_TOLERANCE yuan lower
  (a partial refund); never higher;
- the issue date is not before the day of the request (China time).

The outcome is `verified` (every field compared matches, and at least the number and the total
were read), `mismatch` (the upload is refused: each `Mismatch` names one difference in the
active language), or `unreadable` (nothing, or too little, could be read: accepted, marked "not
machine-checked"). A field the file does not carry is not compared.

`side_by_side` lays the stored reading beside the request, field by field, for the
arbitrator's page and the invoice detail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import InvoiceRequest
from .reading import InvoiceReading

Check = InvoiceRequest.Check
MISMATCH = "mismatch"  # an outcome, never stored: a mismatching upload is refused

# The fields compared, in the order they are shown, with their labels.
FIELDS: dict[str, Any] = {
    "number": gettext_lazy("invoice number"),
    "code": gettext_lazy("invoice code"),
    "buyer_name": gettext_lazy("buyer name"),
    "buyer_tax_id": gettext_lazy("buyer tax id"),
    "seller_name": gettext_lazy("seller name"),
    "seller_tax_id": gettext_lazy("seller tax id"),
    "total": gettext_lazy("total with tax"),
    "issued_on": gettext_lazy("issue date"),
}


@dataclass(frozen=True)
class Mismatch:
    """One difference between the invoice read and what it should say."""

    field: str  # a key of FIELDS
    read: str
    expected: str

    @property
    def message(self) -> str:
        """The difference in words, in the active language."""
        params = {"read": self.read, "expected": self.expected}
        messages = {
            "number": _("The invoice number read is %(read)s, not %(expected)s as typed."),
            "code": _("The invoice code read is %(read)s, not %(expected)s as typed."),
            "buyer_name": _("The buyer name is %(read)s, not %(expected)s as in the request."),
            "buyer_tax_id": _(
                "The buyer's tax id is %(read)s, not %(expected)s as in the request."
            ),
            "seller_tax_id": _("The seller's tax id is %(read)s, not the shop's %(expected)s."),
            "total": _("The total with tax is %(read)s, not the order amount %(expected)s."),
            "issued_on": _(
                "The invoice is dated %(read)s, before the request was made (%(expected)s)."
            ),
        }
        return messages[self.field] % params

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "read": self.read, "expected": self.expected}


@dataclass(frozen=True)
class Result:
    outcome: str  # Check.VERIFIED | Check.UNREADABLE | MISMATCH
    mismatches: tuple[Mismatch, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome != MISMATCH


_SPACES = re.compile(r"\s+")
_WIDE = str.maketrans("（）【】，．：", "()[],.:")


def same_name(a: str, b: str) -> bool:
    """Two names are the same one, whatever their spaces and full-width brackets."""
    return (
        _SPACES.sub("", a.translate(_WIDE)).casefold()
        == _SPACES.sub("", b.translate(_WIDE)).casefold()
    )


def _digits(value: str) -> str:
    return _SPACES.sub("", value or "").upper()


def _request_day(invoice_request: InvoiceRequest) -> date:
    return timezone.localtime(invoice_request.requested_at).date()


def expected_fields(invoice_request: InvoiceRequest) -> dict[str, str]:
    """What the invoice of `invoice_request` should say, as text ("" where nothing is asked)."""
    organisation = invoice_request.title_type == InvoiceRequest.TitleType.ORGANISATION
    return {
        "number": invoice_request.invoice_number,
        "code": invoice_request.invoice_code,
        "buyer_name": invoice_request.title,
        "buyer_tax_id": invoice_request.tax_id if organisation else "",
        "seller_name": invoice_request.shop.name,
        "seller_tax_id": invoice_request.shop.tax_id,
        "total": f"{invoice_request.order.amount:.2f}",
        "issued_on": _request_day(invoice_request).isoformat(),
    }


def check(
    invoice_request: InvoiceRequest,
    reading: InvoiceReading | None,
    *,
    invoice_code: str = "",
    invoice_number: str = "",
) -> Result:
    """Compare `reading` with `invoice_request` (and the number and code typed with the upload;
    by default the request's own, for an invoice already issued)."""
    if reading is None:
        return Result(Check.UNREADABLE)
    typed_number = _digits(invoice_number or invoice_request.invoice_number)
    typed_code = _digits(invoice_code or invoice_request.invoice_code)
    expected = expected_fields(invoice_request)
    found: list[Mismatch] = []

    if reading.number and typed_number and _digits(reading.number) != typed_number:
        found.append(Mismatch("number", reading.number, typed_number))
    if reading.code and typed_code and _digits(reading.code) != typed_code:
        found.append(Mismatch("code", reading.code, typed_code))
    if reading.buyer_name and not same_name(reading.buyer_name, expected["buyer_name"]):
        found.append(Mismatch("buyer_name", reading.buyer_name, expected["buyer_name"]))
    if (
        reading.buyer_tax_id
        and expected["buyer_tax_id"]
        and _digits(reading.buyer_tax_id) != _digits(expected["buyer_tax_id"])
    ):
        found.append(Mismatch("buyer_tax_id", reading.buyer_tax_id, expected["buyer_tax_id"]))
    if (
        reading.seller_tax_id
        and expected["seller_tax_id"]
        and _digits(reading.seller_tax_id) != _digits(expected["seller_tax_id"])
    ):
        found.append(Mismatch("seller_tax_id", reading.seller_tax_id, expected["seller_tax_id"]))
    if reading.total is not None:
        amount = invoice_request.order.amount
        tolerance = settings.JDPOP_INVOICE_TOTAL_TOLERANCE
        if not (amount - tolerance <= reading.total <= amount):
            found.append(Mismatch("total", f"{reading.total:.2f}", expected["total"]))
    if reading.issued_on is not None and reading.issued_on < _request_day(invoice_request):
        found.append(Mismatch("issued_on", reading.issued_on.isoformat(), expected["issued_on"]))

    if found:
        return Result(MISMATCH, tuple(found))
    if not reading.number or reading.total is None:
        return Result(Check.UNREADABLE)  # too little to call it checked
    return Result(Check.VERIFIED)


@dataclass(frozen=True)
class Row:
    """One line of the side-by-side view."""

    field: str
    label: str
    read: str  # "" when the file did not carry it
    expected: str  # "" when the request asks nothing of it
    ok: bool | None  # None: not compared


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except (InvalidOperation, ValueError):
        return None


def reading_from_json(data: dict[str, Any]) -> InvoiceReading | None:
    """The reading stored in `InvoiceRequest.invoice_read` (None when nothing was read)."""
    if not data:
        return None
    issued_on = data.get("issued_on")
    try:
        day = date.fromisoformat(issued_on) if issued_on else None
    except (TypeError, ValueError):
        day = None
    return InvoiceReading(
        number=data.get("number") or "",
        code=data.get("code") or "",
        issued_on=day,
        buyer_name=data.get("buyer_name") or "",
        buyer_tax_id=data.get("buyer_tax_id") or "",
        seller_name=data.get("seller_name") or "",
        seller_tax_id=data.get("seller_tax_id") or "",
        total=_decimal(data.get("total")),
        remarks=data.get("remarks") or "",
        sources=tuple(data.get("sources") or ()),
    )


def side_by_side(invoice_request: InvoiceRequest) -> list[Row]:
    """The stored reading of the request's invoice beside what it should say, with each
    difference marked (`ok` False), for the arbitrator and the invoice detail."""
    reading = reading_from_json(invoice_request.invoice_read or {})
    if reading is None:
        return []
    expected = expected_fields(invoice_request)
    wrong = {m.field for m in check(invoice_request, reading).mismatches}
    read = reading.as_json()
    rows = []
    for field, label in FIELDS.items():
        value = read.get(field) or ""
        compared = bool(value) and bool(expected[field]) and field != "seller_name"
        rows.append(
            Row(
                field=field,
                label=str(label),
                read=str(value),
                expected=expected[field],
                ok=(field not in wrong) if compared else None,
            )
        )
    return rows
