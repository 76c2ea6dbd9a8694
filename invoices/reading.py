"""Reading an uploaded invoice back (spec 11): the invoice number (20-digit 数电票, or 发票代码 +
发票号码 of an older e-invoice), the issue date, the buyer's and seller's names and tax ids, the
total with tax (价税合计) and the remarks (备注), from what the file carries: a PDF's text layer
and the QR code printed on it, an OFD's XML, a 数电票 XML file.

`read_invoice` returns None when nothing machine-readable is found (a scan, an unknown layout):
such a file is accepted but marked "not machine-checked".

A PDF is read from its first page: the text layer (pypdfium2) and the QR code (zxing-cpp on a
render of the page's top left corner, where the tax bureau prints it, then of the whole page).
The QR code says "01,<kind>,<code>,<number>,<amount>,<YYYYMMDD>,<check code>,<crc>"; where
the text and the QR code disagree, the QR code is taken for the number, code and date, and
for the total of a 数电票 (kind 31, 32). An older e-invoice's QR code carries the amount
without tax, so its total comes from the text. An OFD is read from the custom tags that name
the text objects of each field (GB/T 33190 e-invoices), then its CustomDatas, then its text;
a 数电票 XML from its elements. Every XML is parsed by defusedxml (no DTD, no entities), and
an OFD's members are read up to a bounded size.
"""

from __future__ import annotations

import io
import posixpath
import re
import threading
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from core.uploads import OFD_MAX_MEMBERS, DetectedFile


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


# ------------------------------------------------------------------------------- the text

_CN_DATE = re.compile(r"(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})\s*日?")
_AMOUNT = re.compile(r"-?\d[\d,]*(?:\.\d{1,2})?")
_TEXT_PATTERNS = {
    "code": re.compile(r"发\s*票\s*代\s*码\s*[:：]?\s*(\d{10,12})"),
    "number": re.compile(r"发\s*票\s*号\s*码\s*[:：]?\s*(\d{20}|\d{8})(?!\d)"),
    "issued_on": re.compile(r"开\s*票\s*日\s*期\s*[:：]?\s*(\d{4}\s*[年\-/.][^\r\n]{3,8})"),
    "total": re.compile(r"[（(]\s*小\s*写\s*[）)]\s*[¥￥]?\s*(-?[\d,]+\.\d{2})"),
}
# On a 数电票 the buyer's block comes before the seller's, both with the same labels.
_NAME = re.compile(r"名\s*称\s*[:：]\s*([^\r\n]*?)\s*(?:[\r\n]|$)")
_TAX_ID = re.compile(
    r"(?:统一社会信用代码\s*/\s*)?纳\s*税\s*人\s*识\s*别\s*号\s*[:：]\s*([0-9A-Z]{15,20})"
)
_BUYER_NAME = re.compile(r"购\s*买\s*方\s*名\s*称\s*[:：]\s*([^\r\n]*?)\s*(?:[\r\n]|$)")
_SELLER_NAME = re.compile(r"销\s*售\s*方\s*名\s*称\s*[:：]\s*([^\r\n]*?)\s*(?:[\r\n]|$)")
_REMARKS = re.compile(r"备\s*注\s*[:：]?\s*(.*?)\s*(?:开\s*票\s*人|收\s*款\s*人|复\s*核|$)", re.S)


def _date(value: str) -> date | None:
    value = (value or "").strip()
    match = _CN_DATE.search(value)
    try:
        if match:
            return date(*(int(g) for g in match.groups()))
        if re.fullmatch(r"\d{8}", value):
            return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None
    return None


def _amount(value: str) -> Decimal | None:
    match = _AMOUNT.search((value or "").replace("¥", "").replace("￥", ""))
    if not match:
        return None
    try:
        return Decimal(match.group().replace(",", "")).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def _clean(value: str) -> str:
    return re.sub(r"\s+", " ", value or "").strip()


def from_text(text: str, source: str = "text") -> InvoiceReading | None:
    """The fields an invoice's printed labels give (名称：…, 发票号码：…, （小写）¥…)."""
    if not text or not text.strip():
        return None
    found: dict[str, Any] = {}
    for field, pattern in _TEXT_PATTERNS.items():
        match = pattern.search(text)
        if match:
            found[field] = match.group(1)
    names = [_clean(m) for m in _NAME.findall(text)]
    tax_ids = _TAX_ID.findall(text)
    buyer = _BUYER_NAME.search(text)
    seller = _SELLER_NAME.search(text)
    remarks = _REMARKS.search(text)
    reading = InvoiceReading(
        number=found.get("number", ""),
        code=found.get("code", ""),
        issued_on=_date(found.get("issued_on", "")),
        buyer_name=_clean(buyer.group(1)) if buyer else (names[0] if names else ""),
        buyer_tax_id=tax_ids[0] if tax_ids else "",
        seller_name=_clean(seller.group(1)) if seller else (names[1] if len(names) > 1 else ""),
        seller_tax_id=tax_ids[1] if len(tax_ids) > 1 else "",
        total=_amount(found["total"]) if "total" in found else None,
        remarks=_clean(remarks.group(1))[:500] if remarks else "",
        sources=(source,),
    )
    return reading if _has_fields(reading) else None


def _has_fields(reading: InvoiceReading) -> bool:
    return any(
        (
            reading.number,
            reading.issued_on,
            reading.buyer_name,
            reading.buyer_tax_id,
            reading.seller_tax_id,
            reading.total is not None,
        )
    )


# ------------------------------------------------------------------------------ the QR code

DIGITAL_KINDS = frozenset({"31", "32"})  # 数电票 (special, ordinary): the amount is the total


@dataclass(frozen=True)
class QrCode:
    kind: str
    code: str
    number: str
    amount: Decimal | None
    issued_on: date | None
    check_code: str


def parse_qr(text: str) -> QrCode | None:
    """The fields of an invoice's QR code, or None when `text` is not one."""
    parts = [p.strip() for p in (text or "").split(",")]
    if len(parts) < 7 or parts[0] != "01":
        return None
    kind, code, number, amount, day, check_code = parts[1:7]
    if not re.fullmatch(r"\d{20}|\d{8}", number) or (code and not code.isdigit()):
        return None
    return QrCode(kind, code, number, _amount(amount), _date(day), check_code)


def _qr_from_images(images: Iterable[Any]) -> QrCode | None:
    import zxingcpp

    for image in images:
        for barcode in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
            qr = parse_qr(barcode.text)
            if qr is not None:
                return qr
    return None


def _with_qr(reading: InvoiceReading | None, qr: QrCode | None) -> InvoiceReading | None:
    """`reading` (from the text) with the QR code's number, code, date and, for a 数电票,
    total taking precedence."""
    if qr is None:
        return reading
    base = reading or InvoiceReading()
    total = base.total
    if qr.amount is not None and (qr.kind in DIGITAL_KINDS or total is None and not qr.code):
        total = qr.amount
    return replace(
        base,
        number=qr.number,
        code=qr.code,
        issued_on=qr.issued_on or base.issued_on,
        total=total,
        sources=(*base.sources, "qr"),
    )


# ------------------------------------------------------------------------------------- PDF

QR_SCALE = 2.0  # 144 dpi: a printed QR code's modules are 3-4 pixels wide
QR_CORNER = (0.45, 0.5)  # the share of the width and height where the QR code is printed
MAX_RENDER_PIXELS = 6_000_000  # a page of absurd size is rendered smaller, never huge
# PDFium is not thread-safe: one reading at a time per process.
_pdfium_lock = threading.Lock()


def _read_pdf(content: bytes) -> InvoiceReading | None:
    import pypdfium2 as pdfium

    with _pdfium_lock:
        try:
            document = pdfium.PdfDocument(content)
        except pdfium.PdfiumError:
            return None
        try:
            if len(document) == 0:
                return None
            page = document[0]
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            textpage.close()
            width, height = page.get_size()
            scale = min(QR_SCALE, (MAX_RENDER_PIXELS / max(width * height, 1.0)) ** 0.5)

            def renders() -> Iterable[Any]:
                corner_w, corner_h = QR_CORNER
                crop = (0, height * (1 - corner_h), width * (1 - corner_w), 0)
                yield page.render(scale=scale, crop=crop, grayscale=True).to_pil()
                yield page.render(scale=scale, grayscale=True).to_pil()

            qr = _qr_from_images(renders())
            page.close()
        except pdfium.PdfiumError:
            return None
        finally:
            document.close()
    return _with_qr(from_text(text), qr)


# ----------------------------------------------------------------------------------- images

MAX_QR_IMAGE_SIDE = 2400


def _read_image(content: bytes) -> InvoiceReading | None:
    """A picture of an invoice: only its QR code can be read (no OCR)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as image:
            image.thumbnail((MAX_QR_IMAGE_SIDE, MAX_QR_IMAGE_SIDE))
            qr = _qr_from_images([image.convert("L")])
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    return _with_qr(None, qr)


# -------------------------------------------------------------------------------------- XML

MAX_XML_MEMBER = 4 * 1024 * 1024  # one XML member of an OFD, read at most


def _parse_xml(data: bytes) -> Element | None:
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        return fromstring(data, forbid_dtd=True)
    except (DefusedXmlException, ParseError, ValueError):
        return None


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _first_texts(root: Element) -> dict[str, str]:
    """Each element's local name → the text of its first occurrence."""
    texts: dict[str, str] = {}
    for element in root.iter():
        name = _local(element.tag)
        if name not in texts and element.text and element.text.strip():
            texts[name] = element.text.strip()
    return texts


def _read_xml(content: bytes) -> InvoiceReading | None:
    """A 数电票 XML file (EInvoice)."""
    root = _parse_xml(content)
    if root is None or _local(root.tag) != "EInvoice":
        return None
    t = _first_texts(root)
    reading = InvoiceReading(
        number=t.get("InvoiceNumber") or t.get("EIid", ""),
        code=t.get("InvoiceCode", ""),
        issued_on=_date(t.get("IssueTime", "")) or _date(t.get("RequestTime", "")),
        buyer_name=t.get("BuyerName", ""),
        buyer_tax_id=t.get("BuyerIdNum", ""),
        seller_name=t.get("SellerName", ""),
        seller_tax_id=t.get("SellerIdNum", ""),
        total=_amount(t.get("TotalTax-includedAmount", "")),
        remarks=t.get("Remark", ""),
        sources=("xml",),
    )
    return reading if _has_fields(reading) else None


# -------------------------------------------------------------------------------------- OFD

# The custom tags of a GB/T 33190 e-invoice (Doc_0/Tags/CustomTag.xml) → our fields.
OFD_TAGS = {
    "InvoiceNo": "number",
    "InvoiceCode": "code",
    "IssueDate": "issued_on",
    "BuyerName": "buyer_name",
    "BuyerTaxID": "buyer_tax_id",
    "SellerName": "seller_name",
    "SellerTaxID": "seller_tax_id",
    "TaxInclusiveTotalAmount": "total",
    "Note": "remarks",
}
# The CustomDatas of OFD.xml's DocInfo → our fields (合计金额 + 合计税额 make the total).
OFD_CUSTOM_DATAS = {
    "发票号码": "number",
    "发票代码": "code",
    "开票日期": "issued_on",
    "购买方纳税人识别号": "buyer_tax_id",
    "销售方纳税人识别号": "seller_tax_id",
    "价税合计": "total",
}


class _Ofd:
    """An OFD package read with bounds: its members' names, and XML members parsed safely."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.names = {info.filename.lstrip("/"): info for info in archive.infolist()}

    def xml(self, name: str) -> Element | None:
        info = self.names.get(name)
        if info is None or info.file_size > MAX_XML_MEMBER:
            return None
        with self.archive.open(info) as member:
            return _parse_xml(member.read(MAX_XML_MEMBER + 1))

    @staticmethod
    def resolve(base: str, location: str) -> str:
        location = (location or "").strip().replace("\\", "/")
        path = location.lstrip("/") if location.startswith("/") else posixpath.join(base, location)
        path = posixpath.normpath(path)
        return "" if path.startswith("..") else path


def _children(element: Element | None, name: str) -> list[Element]:
    if element is None:
        return []
    return [e for e in element.iter() if _local(e.tag) == name]


def _text_of(element: Element | None, name: str) -> str:
    found = _children(element, name)
    return (found[0].text or "").strip() if found else ""


def _fields(values: dict[str, str], source: str) -> InvoiceReading | None:
    total = values.get("total", "")
    reading = InvoiceReading(
        number=re.sub(r"\s", "", values.get("number", "")),
        code=re.sub(r"\s", "", values.get("code", "")),
        issued_on=_date(values.get("issued_on", "")),
        buyer_name=_clean(values.get("buyer_name", "")),
        buyer_tax_id=re.sub(r"\s", "", values.get("buyer_tax_id", "")),
        seller_name=_clean(values.get("seller_name", "")),
        seller_tax_id=re.sub(r"\s", "", values.get("seller_tax_id", "")),
        total=_amount(total) if total else None,
        remarks=_clean(values.get("remarks", "")),
        sources=(source,),
    )
    return reading if _has_fields(reading) else None


def _read_ofd(content: bytes) -> InvoiceReading | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if len(archive.infolist()) > OFD_MAX_MEMBERS:
                return None
            return _read_ofd_package(_Ofd(archive))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        return None


def _read_ofd_package(ofd: _Ofd) -> InvoiceReading | None:
    root = ofd.xml("OFD.xml")
    if root is None:
        return None
    doc_root = ofd.resolve("", _text_of(root, "DocRoot"))
    doc_dir = posixpath.dirname(doc_root)
    document = ofd.xml(doc_root) if doc_root else None

    # The page's text objects, by id, in the order they are drawn.
    objects: dict[str, str] = {}
    for page in _children(document, "Page"):
        content = ofd.xml(ofd.resolve(doc_dir, page.get("BaseLoc", "")))
        for obj in _children(content, "TextObject"):
            objects[obj.get("ID", "")] = "".join(
                (code.text or "") for code in _children(obj, "TextCode")
            )

    # 1. The custom tags naming the text object of each field.
    tagged: dict[str, str] = {}
    tags_loc = _text_of(document, "CustomTags")
    if tags_loc:
        tags_path = ofd.resolve(doc_dir, tags_loc)
        tags_index = ofd.xml(tags_path)
        for file_loc in _children(tags_index, "FileLoc"):
            tags = ofd.xml(ofd.resolve(posixpath.dirname(tags_path), file_loc.text or ""))
            for element in tags if tags is not None else []:
                field = OFD_TAGS.get(_local(element.tag))
                if field is None:
                    continue
                refs = _children(element, "ObjectRef")
                value = "".join(objects.get((r.text or "").strip(), "") for r in refs)
                tagged[field] = value or (element.text or "").strip()
    reading = _fields(tagged, "ofd")

    # 2. DocInfo's CustomDatas (number, code, date, tax ids, amounts).
    datas = {e.get("Name", ""): (e.text or "").strip() for e in _children(root, "CustomData")}
    values = {field: datas[name] for name, field in OFD_CUSTOM_DATAS.items() if datas.get(name)}
    if "total" not in values:
        amount, tax = _amount(datas.get("合计金额", "")), _amount(datas.get("合计税额", ""))
        if amount is not None and tax is not None:
            values["total"] = str(amount + tax)
    from_datas = _fields(values, "ofd")

    # 3. The printed labels, as in a PDF's text layer.
    from_page = from_text("\n".join(objects.values()), "ofd")
    return _merge(reading, from_datas, from_page)


def _merge(*readings: InvoiceReading | None) -> InvoiceReading | None:
    """The first non-empty value of each field, in the order given."""
    present = [r for r in readings if r is not None]
    if not present:
        return None
    merged: dict[str, Any] = {}
    for reading in present:
        for field, value in vars(reading).items():
            if field != "sources" and merged.get(field) in (None, "") and value not in (None, ""):
                merged[field] = value
    return InvoiceReading(**merged, sources=present[0].sources)


# -------------------------------------------------------------------------------------- all


def read_invoice(content: bytes, detected: DetectedFile) -> InvoiceReading | None:
    """What `content` (already checked by `core.uploads.detect_upload` as `detected`) says, or
    None when nothing machine-readable is in it."""
    reader = {
        "pdf": _read_pdf,
        "ofd": _read_ofd,
        "xml": _read_xml,
        "png": _read_image,
        "jpg": _read_image,
    }.get(detected.extension)
    if reader is None:
        return None
    reading = reader(content)
    return reading if reading is not None and _has_fields(reading) else None
