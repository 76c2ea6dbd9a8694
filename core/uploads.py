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
    content_type: str  # "application/pdf" | "application/ofd" | "image/png" | "image/jpeg"
    extension: str  # "pdf" | "ofd" | "png" | "jpg"


PDF = DetectedFile("application/pdf", "pdf")
OFD = DetectedFile("application/ofd", "ofd")
PNG = DetectedFile("image/png", "png")
JPEG = DetectedFile("image/jpeg", "jpg")
BY_EXTENSION = {d.extension: d for d in (PDF, OFD, PNG, JPEG)}
_SIGNATURES = ((b"%PDF-", PDF), (b"\x89PNG\r\n\x1a\n", PNG), (b"\xff\xd8\xff", JPEG))


def _has_ofd_xml(f: File) -> bool:
    """Whether the ZIP container has OFD.xml at its root (reads the directory, extracts nothing)."""
    try:
        with zipfile.ZipFile(f) as z:
            return any(name.lstrip("/") == "OFD.xml" for name in z.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError):
        return False


def detect_upload(f: File) -> DetectedFile:
    """The type of an uploaded PDF, OFD, PNG or JPEG file, judged by content and size; raises
    ValidationError saying what is wrong."""
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
        for signature, detected in _SIGNATURES:
            if head.startswith(signature):
                return detected
        if head.startswith(b"PK\x03\x04"):
            f.seek(0)
            if _has_ofd_xml(f):
                return OFD
            raise ValidationError(
                _("This ZIP file is not an OFD invoice: it has no OFD.xml."), code="file_type"
            )
    finally:
        f.seek(0)
    raise ValidationError(
        _("Upload the invoice as a PDF, OFD, PNG or JPEG file."), code="file_type"
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
