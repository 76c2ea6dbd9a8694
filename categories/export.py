"""A category's month as CSV or xlsx (openpyxl): one row per shop, the same figures as the
page, the last 12 months' sales at the end."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from django.http import HttpResponse
from django.utils.translation import gettext as _
from openpyxl import Workbook

from penalties.scorecard import penalty_kinds

from .selectors import Overview


def _header(overview: Overview) -> list[str]:
    return [
        _("rank"),
        _("JD shop id"),
        _("shop"),
        _("tier"),
        _("sales last month"),
        _("share of the category (%)"),
        _("target"),
        _("sales to date"),
        _("progress (%)"),
        _("compliance"),
        _("replies on time (%)"),
        _("median hours to invoice"),
        _("disputes lost"),
        _("penalties"),
        *[str(kind.label) for kind in penalty_kinds()],
        *[f"{m:%Y-%m}" for m in overview.months],
    ]


def rows(overview: Overview) -> list[list]:
    """The header and one row per shop, by rank."""
    out: list[list] = [_header(overview)]
    for line in overview.lines:
        card = line.card
        out.append(
            [
                line.rank,
                line.shop.jd_shop_id,
                line.shop.name,
                str(line.tier.label),
                line.last_month,
                line.share_percent,
                line.target,
                line.to_date,
                line.progress_percent,
                str(card.grade.label) if card else "",
                card.on_time_percent if card else None,
                card.median_hours_to_invoice if card else None,
                card.disputes_lost if card else 0,
                card.penalties if card else 0,
                *[n for _kind, n in line.penalties_by_kind],
                *line.months,
            ]
        )
    return out


def _filename(overview: Overview, ext: str) -> str:
    return f"category-{overview.category.code}-{overview.month:%Y-%m}.{ext}"


def as_csv(overview: Overview) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(overview, "csv")}"'
    response.write("\ufeff")  # Excel reads UTF-8 (the Chinese names) only with the BOM
    writer = csv.writer(response)
    for row in rows(overview):
        writer.writerow("" if v is None else v for v in row)
    return response


def as_xlsx(overview: Overview) -> HttpResponse:
    book = Workbook()
    sheet = book.active
    sheet.title = f"{overview.month:%Y-%m}"
    for row in rows(overview):
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(
        out.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(overview, "xlsx")}"'
    return response
