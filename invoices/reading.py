"""Reading an uploaded invoice back (spec 11): the invoice number (20-digit 数电票, or 发票代码 +
发票号码 of an older e-invoice), the issue date, the buyer's and seller's names and tax ids, the
total with tax (价税合计) and the remarks (备注), from what the file carries: a PDF's text layer
and the QR code printed on it, an OFD's XML, a 数电票 XML file.

`read_invoice` returns None when nothing machine-readable is found (a scan, an unknown layout):
such a file is accepted but marked "not machine-checked".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from core.uploads import DetectedFile


@dataclass(frozen=True)
class InvoiceReading:
    """What was read from one invoice file ("" / None: not found)."""

    number: str = ""  # 20 digits (数电票), or the 8 digits of an older e-invoice
    code: str = ""  # 发票代码 (10 or 12 digits) of an older e-invoice; "" for a 数电票
    issued_on: date | None = None
    buyer_name: str = ""
    buyer_tax_id: str = ""
    seller_name: str = ""
    seller_tax_id: str = ""
    total: Decimal | None = None  # 价税合计
    remarks: str = ""  # 备注, where many shops print the order number
    sources: tuple[str, ...] = ()  # where it was read: "text", "qr", "ofd", "xml"

    def as_json(self) -> dict[str, Any]:
        """For `InvoiceRequest.invoice_read` and the history."""
        return {
            "number": self.number,
            "code": self.code,
            "issued_on": self.issued_on.isoformat() if self.issued_on else None,
            "buyer_name": self.buyer_name,
            "buyer_tax_id": self.buyer_tax_id,
            "seller_name": self.seller_name,
            "seller_tax_id": self.seller_tax_id,
            "total": str(self.total) if self.total is not None else None,
            "remarks": self.remarks,
            "sources": list(self.sources),
        }


def read_invoice(content: bytes, detected: DetectedFile) -> InvoiceReading | None:
    """What `content` (already checked by `core.uploads.detect_upload` as `detected`) says, or
    None when nothing machine-readable is in it."""
    return None  # (to be written: PDF text + QR, OFD, XML)
