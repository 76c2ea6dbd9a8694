"""One file of the archive: read it out (bounded), check it, read it back, match it, issue its
request through the single-upload service; its report line."""

from __future__ import annotations

import logging
import zipfile
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import translation

from core.errors import Conflict, DomainError
from core.uploads import detect_upload

from ..matching import MISMATCH, check
from ..models import InvoiceRequest
from ..reading import InvoiceReading, read_invoice
from ..services import invoice_request_issue
from .archive import posix
from .index import PendingIndex
from .report import Outcome

logger = logging.getLogger(__name__)


class _Damaged(Exception):
    pass


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    """The member's bytes, never more than its header announced nor than an invoice may be
    (the headers were checked at upload; this holds even if they lie)."""
    limit = min(member.file_size, settings.INVOICE_UPLOAD_MAX_BYTES)
    try:
        with archive.open(member) as content:
            data = content.read(limit + 1)
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as e:
        raise _Damaged(str(e)[:120]) from e
    except Exception as e:  # zlib.error and the like: the member is damaged
        raise _Damaged(f"{type(e).__name__}: {e}"[:120]) from e
    if len(data) > limit:
        raise _Damaged("larger than announced")
    return data


def _in_every_language(error: ValidationError | DomainError) -> dict[str, list[str]]:
    """An error's messages in each of the site's languages (the report is read in either)."""
    rendered = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            if isinstance(error, DomainError):
                rendered[code] = [error.message]  # already in the language it was raised in
            else:
                rendered[code] = [str(m) for m in error.messages]
    return rendered


def _read_safely(data: bytes, detected: Any) -> InvoiceReading | None:
    try:
        return read_invoice(data, detected)
    except Exception:  # a reader's failure on a strange file: the file is unreadable
        logger.exception("reading an invoice failed")
        return None


def process_member(
    archive: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    *,
    by: AbstractBaseUser,
    index: PendingIndex,
) -> dict[str, Any]:
    """Read one file of the archive, match it, issue its request; its report line."""
    path = posix(member.filename)
    line: dict[str, Any] = {"name": path}
    try:
        data = _read_member(archive, member)
    except _Damaged as e:
        return {**line, "outcome": Outcome.BAD_FILE, "note": "damaged", "params": {"error": str(e)}}
    base = PurePosixPath(path).name
    upload = ContentFile(data, name=base)
    try:
        detected = detect_upload(upload)
    except ValidationError as e:
        return {**line, "outcome": Outcome.BAD_FILE, "messages": _in_every_language(e)}
    reading = _read_safely(data, detected)
    if reading is not None:
        line["number"] = reading.number
    found = index.find(reading, PurePosixPath(path).stem)

    if found.pk is None:
        other = index.elsewhere(found, reading)
        if other is not None:
            state, order, number = other
            if state == InvoiceRequest.State.ISSUED:
                return {
                    **line,
                    "outcome": Outcome.ALREADY_ISSUED,
                    "order": order,
                    "note": "already_issued",
                    "params": {"order": order, "number": number},
                }
            return {
                **line,
                "outcome": Outcome.NO_MATCH,
                "order": order,
                "note": "not_pending",
                "params": {"order": order, "state": state},
            }
        if reading is None or not reading.number:
            return {**line, "outcome": Outcome.UNREADABLE, "note": "no_number"}
        if found.ambiguous:
            return {
                **line,
                "outcome": Outcome.NO_MATCH,
                "note": "ambiguous",
                "params": {"count": found.ambiguous},
            }
        return {**line, "outcome": Outcome.NO_MATCH, "note": "no_request"}

    line.update(request=found.pk, order=found.order, how=found.how)
    if reading is None or not reading.number:
        return {**line, "outcome": Outcome.UNREADABLE, "note": "no_number"}
    invoice_request = (
        InvoiceRequest.objects.for_system().select_related("order", "shop").get(pk=found.pk)
    )
    result = check(
        invoice_request, reading, invoice_code=reading.code, invoice_number=reading.number
    )
    if result.outcome == MISMATCH:
        return {
            **line,
            "outcome": Outcome.MISMATCH,
            "mismatches": [m.as_json() for m in result.mismatches],
        }
    try:
        issued = invoice_request_issue(
            invoice_request=invoice_request,
            by=by,
            file=upload,
            invoice_code=reading.code,
            invoice_number=reading.number,
            reading=reading,
        )
    except Conflict:
        index.drop(found.pk)
        state, order, number = (
            InvoiceRequest.objects.for_system()
            .filter(pk=found.pk)
            .values_list("state", "order__number", "invoice_number")
            .get()
        )
        if state == InvoiceRequest.State.ISSUED:
            return {
                **line,
                "outcome": Outcome.ALREADY_ISSUED,
                "note": "already_issued",
                "params": {"order": order, "number": number},
            }
        return {
            **line,
            "outcome": Outcome.NO_MATCH,
            "note": "not_pending",
            "params": {"order": order, "state": state},
        }
    except (ValidationError, DomainError) as e:
        return {
            **line,
            "outcome": Outcome.MISMATCH,
            "messages": _in_every_language(e),
        }
    index.drop(found.pk)
    line.update(outcome=Outcome.ISSUED, check=issued.invoice_check)
    if issued.invoice_check != InvoiceRequest.Check.VERIFIED:
        line["note"] = "unchecked"
    return line
