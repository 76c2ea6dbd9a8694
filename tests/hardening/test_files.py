"""Issue 8, item 4: a file with a valid header and hostile content is not stored. The whole
file is checked for its type, active content is refused, and an OFD's zip may hold nothing but
XML, images and fonts, inside its own folder, of a bounded size."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from core.uploads import detect_upload
from tests.factories import JPEG_BYTES, PDF_BYTES, PNG_BYTES, InvoiceRequestFactory, merchant_of

OFD_XML = "<ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'/>"


def upload(content: bytes, name: str = "invoice.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def refusal(content: bytes) -> str:
    """Why the file is refused, in English (the pages say it in Chinese first)."""
    with translation.override("en"), pytest.raises(ValidationError) as e:
        detect_upload(upload(content))
    with translation.override("en"):
        return " ".join(e.value.messages)


def script_on_open(writer: PdfWriter) -> None:
    """A JavaScript action run when the document opens (what pypdf's add_js used to make)."""
    action = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert(1)"),
        }
    )
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)


def script_on_page(writer: PdfWriter) -> None:
    """The same, hidden in a page's additional actions."""
    action = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("1")}
    )
    writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): action})


def pdf(build) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=420)
    build(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def ofd(members: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in {"OFD.xml": OFD_XML, **members}.items():
            z.writestr(name, content)
    return out.getvalue()


def test_real_files_of_each_type_pass():
    assert detect_upload(upload(PDF_BYTES)).extension == "pdf"
    assert detect_upload(upload(PNG_BYTES)).extension == "png"
    assert detect_upload(upload(JPEG_BYTES)).extension == "jpg"
    assert detect_upload(upload(ofd({"Doc_0/Document.xml": "<x/>", "Res/logo.png": PNG_BYTES})))


@pytest.mark.parametrize(
    "build",
    [
        script_on_open,
        script_on_page,
        lambda w: w.add_attachment("evil.exe", b"MZ\x90\x00"),
    ],
    ids=["javascript on open", "javascript on a page", "embedded file"],
)
def test_a_pdf_with_active_content_is_refused(build):
    assert "active content" in refusal(pdf(build))


def test_html_behind_a_pdf_header_is_refused():
    html = b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>\n"
    assert "not a PDF" in refusal(html)


def test_an_image_that_is_not_what_its_header_says_is_refused():
    assert "cannot be read" in refusal(b"\x89PNG\r\n\x1a\n" + b"<html>" * 50)
    assert "cannot be read" in refusal(b"\xff\xd8\xff" + b"not a jpeg" * 10)


@pytest.mark.parametrize(
    ("members", "says"),
    [
        ({"Doc_0/run.exe": b"MZ\x90\x00 program"}, "never has"),
        ({"Doc_0/Document.xml": b"MZ\x90\x00 a program named like XML"}, "program"),
        ({"Doc_0/Document.xml": b"\x7fELF binary"}, "program"),
        ({"../../etc/cron.d/x.xml": "<x/>"}, "outside its own folder"),
        ({"/abs.xml": "<x/>"}, "outside its own folder"),
        ({"Doc_0/big.xml": b"\x00" * (51 * 1024 * 1024)}, "zip bomb"),
    ],
    ids=["exe", "disguised", "elf", "traversal", "absolute", "bomb"],
)
def test_an_ofd_holding_something_else_is_refused(members, says):
    assert says in refusal(ofd(members))


@pytest.mark.django_db
def test_a_refused_file_changes_nothing_and_stores_nothing(client, tmp_path, settings):
    r = InvoiceRequestFactory()
    client.force_login(merchant_of(r.shop))
    hostile = pdf(script_on_open)
    response = client.post(
        f"/merchant/requests/{r.pk}/issue",
        {"invoice_number": "1" * 20, "file": upload(hostile)},
    )
    assert response.status_code == 400
    r.refresh_from_db()
    assert r.state == "pending"
    media = settings.MEDIA_ROOT
    assert not any(p.is_file() for p in media.rglob("*")) if media.exists() else True
