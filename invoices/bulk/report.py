"""The outcomes of a file and the report, in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy

from ..matching import Mismatch
from ..models import BulkUpload


class Outcome:
    ISSUED = "issued"
    MISMATCH = "mismatch"
    NO_MATCH = "no_match"
    ALREADY_ISSUED = "already_issued"
    UNREADABLE = "unreadable"
    BAD_FILE = "bad_file"


OUTCOMES = {
    Outcome.ISSUED: gettext_lazy("issued"),
    Outcome.MISMATCH: gettext_lazy("mismatch"),
    Outcome.NO_MATCH: gettext_lazy("no matching request"),
    Outcome.ALREADY_ISSUED: gettext_lazy("already issued"),
    Outcome.UNREADABLE: gettext_lazy("unreadable"),
    Outcome.BAD_FILE: gettext_lazy("bad file"),
}
HOW = {
    "remarks": gettext_lazy("order number in the remarks"),
    "file_name": gettext_lazy("file name"),
    "contents": gettext_lazy("buyer and total"),
}
# What a report line's `note` says (rendered in the reader's language, with the line's data).
NOTES = {
    "unchecked": gettext_lazy(
        "Issued, but not machine-checked: too little could be read to compare it."
    ),
    "ambiguous": gettext_lazy(
        "%(count)s pending requests have this buyer and total; name the file by its order "
        "number, or print the order number in the remarks."
    ),
    "no_request": gettext_lazy(
        "No pending request of this shop has the order number of its remarks or file name, "
        "or its buyer and total."
    ),
    "not_pending": gettext_lazy("The request for order %(order)s is %(state)s, not pending."),
    "already_issued": gettext_lazy("Order %(order)s already has an invoice (number %(number)s)."),
    "damaged": gettext_lazy("The file is damaged in the archive (%(error)s)."),
    "no_number": gettext_lazy(
        "No invoice number could be read, so it cannot be issued from here; upload it on the "
        "request's page with its number."
    ),
}


@dataclass(frozen=True)
class ReportRow:
    n: int
    name: str
    outcome: str
    label: str
    order: str
    request: int | None
    number: str
    how: str
    messages: list[str]


def report_rows(bulk: BulkUpload, outcome: str = "") -> list[ReportRow]:
    """The report, one row per file, its messages in the active language."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    rows = []
    for n, line in enumerate(bulk.report, 1):
        if outcome and line.get("outcome") != outcome:
            continue
        messages = [Mismatch(**m).message for m in line.get("mismatches", ())]
        rendered = line.get("messages") or {}
        messages += rendered.get(language) or rendered.get(settings.LANGUAGE_CODE) or []
        if line.get("note") in NOTES:
            messages.append(str(NOTES[line["note"]]) % line.get("params", {}))
        rows.append(
            ReportRow(
                n=n,
                name=line.get("name", ""),
                outcome=line.get("outcome", ""),
                label=str(OUTCOMES.get(line.get("outcome", ""), line.get("outcome", ""))),
                order=line.get("order", ""),
                request=line.get("request"),
                number=line.get("number", ""),
                how=str(HOW.get(line.get("how", ""), "")),
                messages=messages,
            )
        )
    return rows


def outcome_counts(bulk: BulkUpload) -> list[tuple[str, str, int]]:
    """(outcome, label, files) for each outcome, in the order of OUTCOMES."""
    counts = bulk.counts or {}
    return [(key, str(label), counts.get(key, 0)) for key, label in OUTCOMES.items()]
