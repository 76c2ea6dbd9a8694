"""Uploaded files (spec 3): checked by content and size, stored under a generated name through
Django's storage API (object storage can replace the disk), served only as attachments.

One helper for every upload (invoices, reply attachments, dispute evidence): `check_upload`
collects the file's errors with the form's others, `saved_upload` stores it and deletes it
again if the change that needed it fails, `serve_upload` hands it out under a generated name
with the extension of its detected type.
"""

from __future__ import annotations

import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class DetectedFile:
    # "application/pdf" | "application/ofd" | "application/xml" | "image/png" | "image/jpeg"
    content_type: str
    extension: str  # "pdf" | "ofd" | "xml" | "png" | "jpg"


PDF = DetectedFile("application/pdf", "pdf")
OFD = DetectedFile("application/ofd", "ofd")
XML = DetectedFile("application/xml", "xml")  # a 数电票 XML file (root EInvoice)
PNG = DetectedFile("image/png", "png")
JPEG = DetectedFile("image/jpeg", "jpg")
BY_EXTENSION = {d.extension: d for d in (PDF, OFD, XML, PNG, JPEG)}


# Keys that make a PDF do something: scripts (document-level or in any action, /OpenAction and
# /AA included, whose dictionaries the walk enters), launching programs, embedded files, forms
# that submit, rich media, jumps into other files. An invoice needs none of them.
ACTIVE_PDF_KEYS = frozenset(
    {
        "/JavaScript",
        "/JS",
        "/Launch",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/RichMedia",
        "/XFA",
        "/SubmitForm",
        "/ImportData",
        "/GoToR",
        "/GoToE",
    }
)
MAX_PDF_OBJECTS = 20_000  # an invoice has dozens; a walk stops long before it costs anything
MAX_IMAGE_PIXELS = 40_000_000
# An OFD file is a zip of XML, images and fonts; nothing in it runs.
OFD_MEMBER_TYPES = frozenset(
    {"xml", "png", "jpg", "jpeg", "bmp", "tif", "tiff", "gif", "jb2", "ttf", "otf", "ttc", "ofd"}
)
OFD_MAX_MEMBERS = 2_000
OFD_MAX_UNPACKED = 50 * 1024 * 1024
# A 数电票 XML file is a few KB; no DTD, no entities (defusedxml refuses them).
XML_MAX_BYTES = 1024 * 1024
XML_ROOTS = frozenset({"EInvoice"})
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"PK\x03\x04")


def _refuse(message: str, **params: object) -> ValidationError:
    return ValidationError(message, code="file_content", params=params or None)


def _check_pdf(f: File) -> None:
    """The whole file must be a PDF pypdf can read, and have no active content."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    try:
        reader = PdfReader(f, strict=False)
        if len(reader.pages) == 0:
            raise _refuse(_("This PDF has no page."))
        pending: list = [reader.trailer]
        seen: set = set()
        while pending:
            obj = pending.pop()
            if isinstance(obj, IndirectObject):
                if (obj.idnum, obj.generation) in seen:
                    continue
                seen.add((obj.idnum, obj.generation))
                if len(seen) > MAX_PDF_OBJECTS:
                    raise _refuse(_("This PDF is too complex to be an invoice."))
                obj = obj.get_object()
            if isinstance(obj, DictionaryObject):
                active = ACTIVE_PDF_KEYS.intersection(obj.keys())
                if active:
                    raise _refuse(
                        _("This PDF has active content (%(keys)s), which an invoice never has."),
                        keys=", ".join(sorted(k.lstrip("/") for k in active)),
                    )
                pending.extend(obj.values())
            elif isinstance(obj, ArrayObject):
                pending.extend(obj)
    except ValidationError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:
        raise _refuse(
            _("This is not a PDF that can be read (%(error)s)."), error=str(e)[:80]
        ) from e


def _check_image(f: File, expected: DetectedFile) -> None:
    """The whole file must decode as the image its first bytes announce, of sane dimensions."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(f) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise _refuse(
                    _("This image is too large (%(w)d × %(h)d pixels)."),
                    w=image.width,
                    h=image.height,
                )
            if BY_EXTENSION.get({"PNG": "png", "JPEG": "jpg"}.get(image.format, "")) != expected:
                raise _refuse(_("This file is not the image its first bytes claim."))
            image.verify()
    except ValidationError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as e:
        raise _refuse(_("This image cannot be read (%(error)s)."), error=str(e)[:80]) from e


def _check_ofd(f: File) -> None:
    """An OFD is a zip with OFD.xml at its root; every member is XML, an image or a font, under
    its own folder (no absolute or `..` path), and the whole unpacks to a bounded size."""
    try:
        with zipfile.ZipFile(f) as z:
            members = z.infolist()
            if len(members) > OFD_MAX_MEMBERS:
                raise _refuse(_("This OFD has too many files in it."))
            if sum(m.file_size for m in members) > OFD_MAX_UNPACKED:
                raise _refuse(_("This OFD unpacks to far more than an invoice (a zip bomb?)."))
            names = [m.filename for m in members]
            if "OFD.xml" not in (n.lstrip("/") for n in names):
                raise ValidationError(
                    _("This ZIP file is not an OFD invoice: it has no OFD.xml."), code="file_type"
                )
            for member in members:
                name = member.filename
                if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/"):
                    raise _refuse(
                        _("This OFD has a file outside its own folder: %(name)s."), name=name[:80]
                    )
                if member.is_dir():
                    continue
                extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
                if extension not in OFD_MEMBER_TYPES:
                    raise _refuse(
                        _("This OFD holds a file an invoice never has: %(name)s."), name=name[:80]
                    )
                with z.open(member) as content:
                    if content.read(4).startswith(EXECUTABLE_MAGIC):
                        raise _refuse(_("This OFD holds a program: %(name)s."), name=name[:80])
    except ValidationError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as e:
        raise ValidationError(
            _("This ZIP file is not an OFD invoice: it has no OFD.xml."), code="file_type"
        ) from e


def _looks_like_xml(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _check_xml(f: File) -> None:
    """A 数电票 XML file: well-formed, small, with no DTD or entity, its root EInvoice."""
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    if f.size > XML_MAX_BYTES:
        raise ValidationError(
            _("The XML file is %(size)s bytes; at most %(limit)s bytes are accepted."),
            code="file_too_large",
            params={"size": f.size, "limit": XML_MAX_BYTES},
        )
    try:
        root = fromstring(f.read(), forbid_dtd=True)
    except DefusedXmlException as e:
        raise _refuse(
            _("This XML file declares a DTD or entities, which an invoice never has.")
        ) from e
    except (ParseError, ValueError) as e:
        raise ValidationError(
            _("Upload the invoice as a PDF, OFD, XML, PNG or JPEG file."), code="file_type"
        ) from e
    if root.tag.rsplit("}", 1)[-1] not in XML_ROOTS:
        raise ValidationError(
            _("This XML file is not an electronic invoice (its root is not EInvoice)."),
            code="file_type",
        )


def detect_upload(f: File) -> DetectedFile:
    """The type of an uploaded PDF, OFD, 数电票 XML, PNG or JPEG file, judged by its whole
    content (not only its first bytes: HTML behind `%PDF-` is not a PDF) and its size, and
    refused when it holds active content (scripts, programs, embedded files, XML entities);
    raises ValidationError saying what is wrong."""
    limit = settings.INVOICE_UPLOAD_MAX_BYTES
    size = f.size
    if not size:
        raise ValidationError(_("The file is empty."), code="file_empty")
    if size > limit:
        raise ValidationError(
            _("The file is %(size)s bytes; at most %(limit)s bytes are accepted."),
            code="file_too_large",
            params={"size": size, "limit": limit},
        )
    try:
        f.seek(0)
        head = f.read(8)
        f.seek(0)
        if head.startswith(b"%PDF-"):
            _check_pdf(f)
            return PDF
        for signature, detected in ((b"\x89PNG\r\n\x1a\n", PNG), (b"\xff\xd8\xff", JPEG)):
            if head.startswith(signature):
                _check_image(f, detected)
                return detected
        if head.startswith(b"PK\x03\x04"):
            _check_ofd(f)
            return OFD
        if _looks_like_xml(head):
            _check_xml(f)
            return XML
    finally:
        f.seek(0)
    raise ValidationError(
        _("Upload the invoice as a PDF, OFD, XML, PNG or JPEG file."), code="file_type"
    )


def check_upload(f: File | None, errors: dict[str, list], field: str) -> DetectedFile | None:
    """`detect_upload` for a form's file field: its errors join `errors[field]`."""
    if f is None:
        return None
    try:
        return detect_upload(f)
    except ValidationError as e:
        errors[field] = e.error_list
        return None


@contextmanager
def saved_upload(f: File | None, detected: DetectedFile | None, *, folder: str) -> Iterator[str]:
    """Store `f` as `<folder>/<random>.<ext>` and yield the stored name ("" when there is no
    file); if the block raises (the change that needed it failed), delete it again."""
    if f is None or detected is None:
        yield ""
        return
    name = default_storage.save(f"{folder}/{uuid.uuid4().hex}.{detected.extension}", f)
    try:
        yield name
    except BaseException:
        default_storage.delete(name)
        raise


def serve_upload(name: str, *, download_as: str) -> FileResponse:
    """A stored upload as an attachment named `<download_as>.<ext>`, the extension and content
    type those of the type detected at upload (the stored name carries it), never the
    uploader's own file name; the browser must not guess another type."""
    if not name or not default_storage.exists(name):
        raise Http404
    detected = BY_EXTENSION.get(name.rsplit(".", 1)[-1].lower())
    if detected is None:
        raise Http404
    response = FileResponse(
        default_storage.open(name, "rb"),
        as_attachment=True,
        filename=f"{download_as}.{detected.extension}",
        content_type=detected.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
