"""Free text people type (titles, notes, reasons, complaints): bounded, and cleaned of what
cannot be seen. A title of zero-width spaces is an empty title; a 9 MB note is refused.

Invisible means Unicode format characters (zero-width spaces and joiners, direction marks,
the BOM), other control characters, and private-use or unassigned code points; line breaks
and tabs stay in multi-line text. Surrounding white space goes.
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

NOTE_MAX = 2000  # a note, a reason, a complaint
KEEP_IN_MULTILINE = {"\n", "\t"}


def visible(value: str | None, *, multiline: bool = False) -> str:
    """`value` without invisible characters (see the module docstring), stripped."""
    text = unicodedata.normalize("NFC", value or "").replace("\r\n", "\n")
    kept = (
        c
        for c in text
        if (multiline and c in KEEP_IN_MULTILINE)
        or unicodedata.category(c) not in ("Cf", "Cc", "Co", "Cn", "Cs", "Zl", "Zp")
    )
    return "".join(kept).strip()


def clean_text(
    value: str | None,
    *,
    max_length: int = NOTE_MAX,
    required: bool = False,
    multiline: bool = True,
    required_message: str | None = None,
) -> str:
    """`value` cleaned (`visible`) and checked: ValidationError when it is required but empty,
    or longer than `max_length` characters."""
    text = visible(value, multiline=multiline)
    if required and not text:
        raise ValidationError(required_message or _("This field is required."), code="required")
    if len(text) > max_length:
        raise ValidationError(
            _("At most %(n)d characters (this has %(given)d)."),
            code="max_length",
            params={"n": max_length, "given": len(text)},
        )
    return text


def text_field(data: dict, name: str, errors: dict[str, list], **rules: object) -> str:
    """`clean_text(data[name], **rules)`, its error filed under `errors[name]` (then "")."""
    try:
        return clean_text(data.get(name), **rules)  # type: ignore[arg-type]
    except ValidationError as e:
        errors.setdefault(name, []).extend(e.error_list)
        return ""
