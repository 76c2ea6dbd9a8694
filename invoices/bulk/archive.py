"""The uploaded archive: checked from its headers before anything is kept, or packed from many
invoice files; its members to read."""

from __future__ import annotations

import hashlib
import re
import tempfile
import zipfile
from collections import Counter
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.utils.translation import gettext as _

MAX_RATIO = 100  # unpacked ÷ packed; invoices (PDF, OFD) barely compress, zip bombs by 1000×
RATIO_FLOOR = 1024 * 1024  # a small member may compress well (an XML file): no ratio below


def refusal(message: Any, code: str, **params: Any) -> ValidationError:
    return ValidationError({"files": [ValidationError(message, code=code, params=params or None)]})


def posix(name: str) -> str:
    return name.replace("\\", "/")


def is_ignored(name: str) -> bool:
    """Folders, macOS resource forks (`__MACOSX/`) and hidden files are not invoices."""
    parts = posix(name).split("/")
    return (
        name.endswith(("/", "\\"))
        or parts[0] == "__MACOSX"
        or parts[-1].startswith(".")
        or parts[-1] in ("Thumbs.db", "desktop.ini")
    )


def is_unsafe(name: str) -> bool:
    """A name that would leave the folder the archive is unpacked in."""
    path = posix(name)
    return path.startswith("/") or bool(re.match(r"^[A-Za-z]:", path)) or ".." in path.split("/")


def invoice_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The members of `archive` that are files to read, in the archive's order."""
    return [m for m in archive.infolist() if not m.is_dir() and not is_ignored(m.filename)]


def inspect_archive(f: File) -> int:
    """Check an uploaded zip from its headers (see the module docstring) and return how many
    invoice files it holds; raise ValidationError (on the `files` field) saying what is wrong."""
    limit = settings.JDPOP_BULK_UPLOAD_MAX_BYTES
    size = f.size or 0
    if size > limit:
        raise refusal(
            _("The archive is %(size)s bytes; at most %(limit)s bytes are accepted."),
            "bulk_too_large",
            size=size,
            limit=limit,
        )
    try:
        f.seek(0)
        with zipfile.ZipFile(f) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as e:
        raise refusal(_("This is not a zip archive."), "bulk_not_zip") from e
    finally:
        f.seek(0)
    for entry in entries:
        if is_unsafe(entry.filename):
            raise refusal(
                _("The archive has a file outside its own folder (%(name)s); nothing was kept."),
                "bulk_path",
                name=entry.filename[:100],
            )
    members = [m for m in entries if not m.is_dir() and not is_ignored(m.filename)]
    most = settings.JDPOP_BULK_UPLOAD_MAX_FILES
    if len(members) > most:
        raise refusal(
            _("The archive has %(count)s files; at most %(most)s are accepted at once."),
            "bulk_too_many",
            count=len(members),
            most=most,
        )
    if not members:
        raise refusal(_("The archive has no file in it."), "bulk_empty")
    per_file = settings.INVOICE_UPLOAD_MAX_BYTES
    unpacked = sum(m.file_size for m in entries)
    for m in members:
        bomb = m.file_size > per_file or (
            m.file_size > RATIO_FLOOR and m.file_size > MAX_RATIO * max(m.compress_size, 1)
        )
        if bomb:
            raise refusal(
                _(
                    "%(name)s unpacks to %(size)s bytes, more than an invoice file may be "
                    "(%(limit)s bytes): the archive is refused."
                ),
                "bulk_bomb",
                name=m.filename[:100],
                size=m.file_size,
                limit=per_file,
            )
    if unpacked > settings.JDPOP_BULK_UPLOAD_MAX_UNPACKED or (
        unpacked > RATIO_FLOOR and unpacked > MAX_RATIO * max(size, 1)
    ):
        raise refusal(
            _("The archive unpacks to %(size)s bytes, far more than its invoices could be."),
            "bulk_bomb",
            size=unpacked,
        )
    return len(members)


# The first bytes of what may be packed: PDF, PNG, JPEG, zip (OFD), XML (with a BOM perhaps).
_SIGNATURES = (b"%PDF-", b"\x89PNG", b"\xff\xd8\xff", b"PK\x03\x04")


def _looks_like_an_invoice(head: bytes) -> bool:
    return head.startswith(_SIGNATURES) or head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _is_ofd(f: File) -> bool:
    try:
        f.seek(0)
        with zipfile.ZipFile(f) as z:
            return any(n.lstrip("/") == "OFD.xml" for n in z.namelist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False
    finally:
        f.seek(0)


def _head(f: File) -> bytes:
    f.seek(0)
    head = f.read(16)
    f.seek(0)
    return head


def is_archive(f: File) -> bool:
    """An upload is the archive itself (not an invoice to pack) when it is named .zip or is a
    zip that is not an OFD invoice (an OFD is a zip too)."""
    name = (getattr(f, "name", "") or "").lower()
    return name.endswith(".zip") or (_head(f).startswith(b"PK\x03\x04") and not _is_ofd(f))


def pack_files(files: list[File]) -> File:
    """Many uploaded invoice files as one zip (stored, not compressed: they are already), each
    under its own base name (made unique); refuses anything that is not an invoice file."""
    most = settings.JDPOP_BULK_UPLOAD_MAX_FILES
    if len(files) > most:
        raise refusal(
            _("You chose %(count)s files; at most %(most)s are accepted at once."),
            "bulk_too_many",
            count=len(files),
            most=most,
        )
    per_file = settings.INVOICE_UPLOAD_MAX_BYTES
    out = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    seen: Counter[str] = Counter()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for f in files:
            base = PurePosixPath(posix(f.name or "invoice")).name or "invoice"
            if (f.size or 0) > per_file:
                raise refusal(
                    _("%(name)s is %(size)s bytes; an invoice file may be %(limit)s at most."),
                    "file_too_large",
                    name=base[:100],
                    size=f.size,
                    limit=per_file,
                )
            if not _looks_like_an_invoice(_head(f)):
                raise refusal(
                    _(
                        "%(name)s is neither an invoice file (PDF, OFD, XML, PNG, JPEG) nor a "
                        "zip archive of them."
                    ),
                    "bulk_not_zip",
                    name=base[:100],
                )
            seen[base] += 1
            if seen[base] > 1:
                stem, dot, ext = base.rpartition(".")
                base = f"{stem} ({seen[base]}).{ext}" if dot else f"{base} ({seen[base]})"
            with archive.open(base, "w") as member:
                f.seek(0)
                for chunk in f.chunks():
                    member.write(chunk)
    out.seek(0)
    return File(out, name="files.zip")


def digest_of(f: File) -> str:
    sha = hashlib.sha256()
    f.seek(0)
    for chunk in f.chunks():
        sha.update(chunk)
    f.seek(0)
    return sha.hexdigest()
