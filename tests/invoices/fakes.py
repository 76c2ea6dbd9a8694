"""Invoices for tests, made on the spot (no real invoice is in the repository).

- `Fields(...)`: what an invoice says (keyword arguments, every one with a default): number
  (20-digit 数电票 number, generated), code ("" for a 数电票; 10 or 12 digits with an 8-digit
  number for an older e-invoice), issued_on (today, China time), buyer_name, buyer_tax_id,
  seller_name, seller_tax_id, total (价税合计, Decimal), remarks (备注), check_code (校验码).
  `fields.kind` is the QR code's kind: "32" for a 数电票, "10" for an older e-invoice.
- `fields_for(invoice_request, **overrides) -> Fields`: the fields that match the request (its
  title and tax id, the shop's name and tax id, the order amount, issued today China time,
  remarks "订单号：<order number>"), with `overrides`.
- `invoice_pdf(fields, *, text=True, qr=True) -> bytes`: a PDF laid out like an 电子发票（普通发票）
  (labels 发票号码, 开票日期, 购买方/销售方 名称 and 统一社会信用代码/纳税人识别号, 价税合计（小写）
  ¥…, 备注) in the CID font STSong-Light, with the QR code "01,<kind>,<code>,<number>,<amount>,
  <YYYYMMDD>,<check code>,<crc>" top left (as on real invoices, an older e-invoice's QR carries
  the amount without tax). `text=False`: the QR code only; `qr=False`: the text only;
  `qr=<other Fields>`: a QR code that says something else than the text.
- `invoice_ofd(fields) -> bytes`: an OFD (GB/T 33190) zip: OFD.xml (with the invoice's
  CustomDatas) → Doc_0/Document.xml → Doc_0/Pages/Page_0/Content.xml (TextObjects), and
  Doc_0/CustomTags.xml → Doc_0/Tags/CustomTag.xml naming the TextObjects of each field.
- `invoice_xml(fields) -> bytes`: a 数电票 XML file (root EInvoice).
- `scanned_pdf(fields) -> bytes`, `scanned_png(fields) -> bytes`: the invoice as a blurred
  image: no text layer, no readable QR code.
- `corrupt_pdf() -> bytes`: starts like a PDF, is not one.
- `zip_of({name: bytes}) -> bytes`; `zip_bomb(unpacked=...) -> bytes` (a tiny zip unpacking to
  hundreds of MB); `zip_traversal() -> bytes` (members like ../../x.pdf);
  `zip_of_many(n, make=...) -> bytes` (`make(i)` returns the bytes of file i, named
  "<i>.pdf", or a (name, bytes) pair; by default a fresh invoice PDF each).
"""

from __future__ import annotations

import io
import itertools
import random
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from django.utils import timezone

from tests.factories import VALID_USCC

DEFAULT_SELLER_TAX_ID = "91110108MA01C2XJ7Q"
_numbers = itertools.count(random.SystemRandom().randrange(10**9))


def new_number() -> str:
    """A fresh 20-digit 数电票 number."""
    return f"2611{next(_numbers) % 10**16:016d}"


def _today() -> date:
    return timezone.localdate()  # TIME_ZONE is Asia/Shanghai


def _check_code() -> str:
    return "".join(random.choice("0123456789") for _ in range(20))


@dataclass(frozen=True)
class Fields:
    number: str = field(default_factory=new_number)
    code: str = ""
    issued_on: date = field(default_factory=_today)
    buyer_name: str = "北京示例科技有限公司"
    buyer_tax_id: str = VALID_USCC
    seller_name: str = "测试旗舰店"
    seller_tax_id: str = DEFAULT_SELLER_TAX_ID
    total: Decimal = Decimal("199.00")
    remarks: str = ""
    check_code: str = field(default_factory=_check_code)

    @property
    def kind(self) -> str:
        return "10" if self.code else "32"

    @property
    def amount_without_tax(self) -> Decimal:
        return (Decimal(self.total) / Decimal("1.13")).quantize(Decimal("0.01"))

    @property
    def tax(self) -> Decimal:
        return Decimal(self.total) - self.amount_without_tax

    def qr_text(self) -> str:
        """The QR code's content; an older e-invoice's carries the amount without tax."""
        amount = self.total if self.kind == "32" else self.amount_without_tax
        body = (
            f"01,{self.kind},{self.code},{self.number},{Decimal(amount):.2f},"
            f"{self.issued_on:%Y%m%d},{self.check_code if self.code else ''}"
        )
        return f"{body},{zlib.crc32(body.encode()) & 0xFFFF:04X}"


def fields_for(invoice_request: Any, **overrides: Any) -> Fields:
    """Fields that match `invoice_request`, changed by `overrides`."""
    organisation = invoice_request.title_type == "organisation"
    base = Fields(
        buyer_name=invoice_request.title,
        buyer_tax_id=invoice_request.tax_id if organisation else "",
        seller_name=invoice_request.shop.name,
        seller_tax_id=invoice_request.shop.tax_id or DEFAULT_SELLER_TAX_ID,
        total=Decimal(invoice_request.order.amount),
        remarks=f"订单号：{invoice_request.order.number}",
    )
    return replace(base, **overrides)


# ---------------------------------------------------------------------------------------- PDF

_DIGITS_CN = "零壹贰叁肆伍陆柒捌玖"


def _in_words(amount: Decimal) -> str:
    """价税合计（大写）, good enough for a test invoice."""
    yuan = int(amount)
    fen = int((Decimal(amount) * 100) % 100)
    units = ["", "拾", "佰", "仟", "万", "拾", "佰", "仟", "亿"]
    digits = str(yuan)
    words = "".join(_DIGITS_CN[int(d)] + units[len(digits) - i - 1] for i, d in enumerate(digits))
    words = words or "零"
    jiao, cents = divmod(fen, 10)
    if not fen:
        return f"{words}圆整"
    return f"{words}圆{_DIGITS_CN[jiao]}角{_DIGITS_CN[cents]}分"


def _canvas(out: io.BytesIO):
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return canvas.Canvas(out, pagesize=(240 * mm, 140 * mm)), mm


def _draw_qr(c, fields: Fields, mm: float) -> None:
    import segno
    from reportlab.lib.utils import ImageReader

    png = io.BytesIO()
    segno.make(fields.qr_text(), error="m", micro=False).save(png, kind="png", scale=4, border=2)
    png.seek(0)
    c.drawImage(ImageReader(png), 8 * mm, 112 * mm, 24 * mm, 24 * mm)


def _draw_text(c, fields: Fields, mm: float) -> None:
    font = "STSong-Light"
    c.setFont(font, 16)
    title = "电子发票（普通发票）" if fields.kind == "32" else "电子普通发票"
    c.drawCentredString(120 * mm, 128 * mm, title)
    c.setFont(font, 9)
    right = 165 * mm
    y = 128 * mm
    if fields.code:
        c.drawString(right, y, f"发票代码：{fields.code}")
        y -= 5 * mm
    c.drawString(right, y, f"发票号码：{fields.number}")
    y -= 5 * mm
    day = fields.issued_on
    c.drawString(right, y, f"开票日期：{day.year}年{day.month:02d}月{day.day:02d}日")
    if fields.code:
        y -= 5 * mm
        c.drawString(right, y, f"校 验 码：{fields.check_code}")

    c.rect(8 * mm, 82 * mm, 224 * mm, 26 * mm)
    c.line(120 * mm, 82 * mm, 120 * mm, 108 * mm)
    for x, who, name, tax_id in (
        (10 * mm, "购买方信息", fields.buyer_name, fields.buyer_tax_id),
        (122 * mm, "销售方信息", fields.seller_name, fields.seller_tax_id),
    ):
        c.drawString(x, 102 * mm, who)
        c.drawString(x + 4 * mm, 96 * mm, f"名称：{name}")
        c.drawString(x + 4 * mm, 89 * mm, f"统一社会信用代码/纳税人识别号：{tax_id}")

    c.rect(8 * mm, 40 * mm, 224 * mm, 42 * mm)
    headers = ("项目名称", "规格型号", "单位", "数量", "单价", "金额", "税率/征收率", "税额")
    for i, header in enumerate(headers):
        c.drawString((10 + i * 27) * mm, 76 * mm, header)
    row = (
        "*日用品*商品",
        "",
        "件",
        "1",
        f"{fields.amount_without_tax:.2f}",
        f"{fields.amount_without_tax:.2f}",
        "13%",
        f"{fields.tax:.2f}",
    )
    for i, cell in enumerate(row):
        c.drawString((10 + i * 27) * mm, 70 * mm, cell)
    c.drawString(10 * mm, 44 * mm, "合    计")
    c.drawString(145 * mm, 44 * mm, f"¥{fields.amount_without_tax:.2f}")
    c.drawString(199 * mm, 44 * mm, f"¥{fields.tax:.2f}")

    c.rect(8 * mm, 30 * mm, 224 * mm, 10 * mm)
    c.drawString(10 * mm, 34 * mm, "价税合计（大写）")
    c.drawString(45 * mm, 34 * mm, f"ⓧ{_in_words(Decimal(fields.total))}")
    c.drawString(160 * mm, 34 * mm, f"（小写）¥{Decimal(fields.total):.2f}")

    c.rect(8 * mm, 12 * mm, 224 * mm, 18 * mm)
    c.drawString(10 * mm, 24 * mm, "备")
    c.drawString(10 * mm, 17 * mm, "注")
    c.drawString(20 * mm, 24 * mm, fields.remarks)
    c.drawString(10 * mm, 6 * mm, "开票人：张三")


def invoice_pdf(
    fields: Fields | None = None, *, text: bool = True, qr: bool | Fields = True
) -> bytes:
    """The invoice as a PDF with a text layer (`text`) and a QR code (`qr`; `qr=<Fields>`: a
    QR code saying other fields than the text, as on an edited PDF)."""
    fields = fields or Fields()
    out = io.BytesIO()
    c, mm = _canvas(out)
    c.setTitle("电子发票")
    if qr:
        _draw_qr(c, qr if isinstance(qr, Fields) else fields, mm)
    if text:
        _draw_text(c, fields, mm)
    c.showPage()
    c.save()
    return out.getvalue()


def _scan(fields: Fields):
    """The invoice as a blurred greyscale picture (what a phone photo of a print gives)."""
    import pypdfium2 as pdfium
    from PIL import ImageFilter

    pdf = pdfium.PdfDocument(invoice_pdf(fields))
    try:
        image = pdf[0].render(scale=100 / 72).to_pil().convert("L")
    finally:
        pdf.close()
    return image.filter(ImageFilter.GaussianBlur(2.5)).rotate(1.5, fillcolor=255)


def scanned_png(fields: Fields | None = None) -> bytes:
    out = io.BytesIO()
    _scan(fields or Fields()).save(out, "PNG")
    return out.getvalue()


def scanned_pdf(fields: Fields | None = None) -> bytes:
    """A PDF holding only a picture of the invoice: no text layer, no readable QR code."""
    from reportlab.lib.utils import ImageReader

    out = io.BytesIO()
    c, mm = _canvas(out)
    c.drawImage(ImageReader(_scan(fields or Fields())), 0, 0, 240 * mm, 140 * mm)
    c.showPage()
    c.save()
    return out.getvalue()


def corrupt_pdf() -> bytes:
    """First bytes of a PDF, then nothing a PDF reader can use."""
    return b"%PDF-1.7\n" + bytes(random.Random(7).randrange(256) for _ in range(2000))


# ---------------------------------------------------------------------------------------- OFD

_OFD_NS = "http://www.ofdspec.org/2016"
_FP_NS = "http://www.edrm.org.cn/schema/e-invoice/2019"


def _ofd_fields(fields: Fields) -> list[tuple[str, str, str, float, float]]:
    """(custom tag, label, value, x mm, y mm) of each field printed on the page."""
    day = fields.issued_on
    rows = [
        ("InvoiceNo", "发票号码：", fields.number, 165, 18),
        ("IssueDate", "开票日期：", f"{day.year}年{day.month:02d}月{day.day:02d}日", 165, 24),
        ("BuyerName", "名称：", fields.buyer_name, 14, 40),
        ("BuyerTaxID", "统一社会信用代码/纳税人识别号：", fields.buyer_tax_id, 14, 47),
        ("SellerName", "名称：", fields.seller_name, 126, 40),
        ("SellerTaxID", "统一社会信用代码/纳税人识别号：", fields.seller_tax_id, 126, 47),
        ("TaxInclusiveTotalAmount", "（小写）¥", f"{Decimal(fields.total):.2f}", 160, 108),
        ("Note", "备注：", fields.remarks, 10, 118),
    ]
    if fields.code:
        rows.insert(0, ("InvoiceCode", "发票代码：", fields.code, 165, 12))
    return rows


def invoice_ofd(fields: Fields | None = None) -> bytes:
    """The invoice as an OFD file, as the tax bureau's OFD e-invoices are laid out."""
    fields = fields or Fields()
    rows = _ofd_fields(fields)
    objects, tags = [], []
    next_id = itertools.count(10)
    for tag, label, value, x, y in rows:
        label_id, value_id = next(next_id), next(next_id)
        for object_id, text, left in ((label_id, label, x), (value_id, value, x + 30)):
            objects.append(
                f'<ofd:TextObject ID="{object_id}" Boundary="{left} {y} 60 5" Font="3" '
                f'Size="3.175"><ofd:TextCode X="0" Y="4">{escape(text)}</ofd:TextCode>'
                f"</ofd:TextObject>"
            )
        tags.append(f'<fp:{tag}><fp:ObjectRef PageRef="1">{value_id}</fp:ObjectRef></fp:{tag}>')
    custom_datas = {
        "发票代码": fields.code,
        "发票号码": fields.number,
        "开票日期": f"{fields.issued_on:%Y年%m月%d日}",
        "合计金额": f"{fields.amount_without_tax:.2f}",
        "合计税额": f"{fields.tax:.2f}",
        "校验码": fields.check_code if fields.code else "",
        "购买方纳税人识别号": fields.buyer_tax_id,
        "销售方纳税人识别号": fields.seller_tax_id,
    }
    datas = "".join(
        f'<ofd:CustomData Name="{name}">{escape(value)}</ofd:CustomData>'
        for name, value in custom_datas.items()
    )
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    files = {
        "OFD.xml": (
            f'{head}<ofd:OFD xmlns:ofd="{_OFD_NS}" Version="1.1" DocType="OFD"><ofd:DocBody>'
            f"<ofd:DocInfo><ofd:DocID>{fields.number}</ofd:DocID>"
            f"<ofd:Title>电子发票</ofd:Title><ofd:Creator>EInvoice</ofd:Creator>"
            f"<ofd:CustomDatas>{datas}</ofd:CustomDatas></ofd:DocInfo>"
            f"<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
        ),
        "Doc_0/Document.xml": (
            f'{head}<ofd:Document xmlns:ofd="{_OFD_NS}"><ofd:CommonData>'
            f"<ofd:MaxUnitID>{next(next_id)}</ofd:MaxUnitID>"
            f"<ofd:PageArea><ofd:PhysicalBox>0 0 240 140</ofd:PhysicalBox></ofd:PageArea>"
            f"<ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData>"
            f'<ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>'
            f"<ofd:CustomTags>CustomTags.xml</ofd:CustomTags></ofd:Document>"
        ),
        "Doc_0/PublicRes.xml": (
            f'{head}<ofd:Res xmlns:ofd="{_OFD_NS}" BaseLoc="Res"><ofd:Fonts>'
            f'<ofd:Font ID="3" FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>'
        ),
        "Doc_0/Pages/Page_0/Content.xml": (
            f'{head}<ofd:Page xmlns:ofd="{_OFD_NS}"><ofd:Content>'
            f'<ofd:Layer ID="2" Type="Body">{"".join(objects)}</ofd:Layer>'
            f"</ofd:Content></ofd:Page>"
        ),
        "Doc_0/CustomTags.xml": (
            f'{head}<ofd:CustomTags xmlns:ofd="{_OFD_NS}"><ofd:CustomTag NameSpace="{_FP_NS}">'
            f"<ofd:FileLoc>Tags/CustomTag.xml</ofd:FileLoc></ofd:CustomTag></ofd:CustomTags>"
        ),
        "Doc_0/Tags/CustomTag.xml": (
            f'{head}<fp:eInvoice xmlns:fp="{_FP_NS}">{"".join(tags)}</fp:eInvoice>'
        ),
    }
    return zip_of({name: text.encode() for name, text in files.items()})


# ---------------------------------------------------------------------------------------- XML


def invoice_xml(fields: Fields | None = None) -> bytes:
    """The invoice as a 数电票 XML file (EInvoice: Header, EInvoiceData with the seller, the
    buyer, the basic information and the items, TaxSupervisionInfo with number and date)."""
    fields = fields or Fields()
    e = escape
    total = Decimal(fields.total)
    text = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<EInvoice>"
        f"<Header><EIid>{fields.number}</EIid><EInvoiceTag>SWEI3200</EInvoiceTag>"
        "<Version>0.1</Version><InherentLabel><EInvoiceType><LabelCode>02</LabelCode>"
        "<LabelName>普通发票</LabelName></EInvoiceType></InherentLabel></Header>"
        "<EInvoiceData>"
        f"<SellerInformation><SellerIdNum>{e(fields.seller_tax_id)}</SellerIdNum>"
        f"<SellerName>{e(fields.seller_name)}</SellerName></SellerInformation>"
        f"<BuyerInformation><BuyerIdNum>{e(fields.buyer_tax_id)}</BuyerIdNum>"
        f"<BuyerName>{e(fields.buyer_name)}</BuyerName></BuyerInformation>"
        "<BasicInformation>"
        f"<TotalAmWithoutTax>{fields.amount_without_tax:.2f}</TotalAmWithoutTax>"
        f"<TotalTaxAm>{fields.tax:.2f}</TotalTaxAm>"
        f"<TotalTax-includedAmount>{total:.2f}</TotalTax-includedAmount>"
        f"<TotalTax-includedAmountInChinese>{_in_words(total)}"
        "</TotalTax-includedAmountInChinese>"
        f"<Drawer>张三</Drawer><RequestTime>{fields.issued_on:%Y-%m-%d} 10:00:00</RequestTime>"
        "</BasicInformation>"
        "<IssuItemInformation><ItemName>*日用品*商品</ItemName><Quantity>1</Quantity>"
        f"<Amount>{fields.amount_without_tax:.2f}</Amount><TaxRate>0.13</TaxRate>"
        f"<ComTaxAm>{fields.tax:.2f}</ComTaxAm></IssuItemInformation>"
        f"<AdditionalInformation><Remark>{e(fields.remarks)}</Remark></AdditionalInformation>"
        "</EInvoiceData>"
        f"<TaxSupervisionInfo><InvoiceNumber>{fields.number}</InvoiceNumber>"
        f"<IssueTime>{fields.issued_on:%Y-%m-%d}</IssueTime>"
        "<TaxBureauCode>14400000000</TaxBureauCode><TaxBureauName>国家税务总局广东省税务局"
        "</TaxBureauName></TaxSupervisionInfo>"
        "</EInvoice>"
    )
    return text.encode()


# ---------------------------------------------------------------------------------------- zips


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            z.writestr(name, content)
    return out.getvalue()


@cache
def zip_bomb(unpacked: int = 512 * 1024 * 1024) -> bytes:
    """A zip of a few hundred KB whose one member unpacks to `unpacked` bytes of zeros."""
    out = io.BytesIO()
    chunk = bytes(1024 * 1024)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("invoice.pdf", "w", force_zip64=True) as member:
            for _ in range(unpacked // len(chunk)):
                member.write(chunk)
    return out.getvalue()


def zip_traversal(content: bytes | None = None) -> bytes:
    """A zip whose members' names climb out of the folder it is unpacked in."""
    content = content or invoice_pdf()
    return zip_of({"../../x.pdf": content, "a/../../../y.pdf": content, "/etc/z.pdf": content})


def zip_of_many(n: int, make: Callable[[int], bytes | tuple[str, bytes]] | None = None) -> bytes:
    """A zip of `n` files: `make(i)` gives file i's bytes (named "<i>.pdf") or (name, bytes)."""
    files = {}
    for i in range(n):
        made = make(i) if make else invoice_pdf()
        name, content = made if isinstance(made, tuple) else (f"{i:04d}.pdf", made)
        files[name] = content
    return zip_of(files)
