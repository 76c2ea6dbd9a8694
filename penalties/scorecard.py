"""The shop scorecard (spec 8): per shop and month, how well it answered, invoiced and argued,
and its penalties by kind.

One SQL query computes every column, the grade and the ranking, so the admin page costs the
same number of queries for ten shops or ten thousand. The months are China months: a request
at 23:30 on 30 November China time counts for November, though it is already 15:30 UTC.

**The compliance grade (合规), not a tier.** 重点 / A / B / 普通 are the category operators'
tiers by sales share (spec 13, `categories.tiers`: 重点 are the top sellers); the scorecard
grades invoice compliance in words that cannot be mistaken for them, worst first
(thresholds in `GRADE_RULES`, checked in this order):

- 需关注 needs attention: any dispute lost, or `ATTENTION_MIN_PENALTIES` penalties or more, or
  an on-time share below `ATTENTION_BELOW_PERCENT`;
- 良好 good: an on-time share of at least `GOOD_MIN_PERCENT` and no penalty;
- 一般 fair: any other shop with a ticket whose SLA is known, or with a penalty;
- 未评 not rated: nothing to grade yet (no ticket whose SLA is known, no penalty, no dispute
  lost: only invoices or open disputes).

**Penalties by kind.** One column per `Penalty.Kind`, read from the choices when the query is
built (a kind added to the model gets its column with no change here), counted with
`COUNT(*) FILTER (WHERE kind = …)` in the same pass over the month's penalties.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.apps import apps
from django.core.paginator import Paginator
from django.db import connection, models
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from core.clock import CHINA, china_date

from .models import Penalty


class Grade(models.TextChoices):
    """The invoice-compliance grade of a shop's month, the shops to watch first. Not the
    category tiers (重点 / A / B / 普通 rank shops by sales, `categories.tiers`)."""

    ATTENTION = "attention", _("需关注 needs attention")
    FAIR = "fair", _("一般 fair")
    GOOD = "good", _("良好 good")
    UNRATED = "unrated", _("未评 not rated")


# The thresholds, written once; the SQL below reads them as parameters.
GRADE_RULES = {
    "ATTENTION_BELOW_PERCENT": 80,
    "ATTENTION_MIN_PENALTIES": 3,
    "GOOD_MIN_PERCENT": 98,
}
# The order of the grades on the page: by risk, the shops to watch first.
GRADE_ORDER = [Grade.ATTENTION, Grade.FAIR, Grade.GOOD, Grade.UNRATED]


def penalty_kinds() -> list[Penalty.Kind]:
    """The penalty kinds the scorecard counts one by one: `Penalty.Kind`, in its order, read
    at call time."""
    return list(Penalty.Kind)


@dataclass(frozen=True)
class ScorecardRow:
    """One shop's month. Shares and medians are None when there is nothing to measure."""

    shop_id: int
    jd_shop_id: str
    shop_name: str
    tickets_opened: int
    # Tickets whose SLA is known (met, late or missed): the denominator of the share.
    tickets_decided: int
    tickets_on_time: int
    requests_issued: int
    median_hours_to_invoice: float | None
    disputes_opened: int
    disputes_lost: int
    penalties: int  # every kind, not waived
    # Kind value (`Penalty.Kind`) -> penalties not waived, every kind present, in its order.
    penalties_by_kind: dict[str, int]
    grade: Grade

    @property
    def on_time_share(self) -> float | None:
        """Tickets answered on time over tickets whose SLA is known, from 0 to 1."""
        if not self.tickets_decided:
            return None
        return self.tickets_on_time / self.tickets_decided

    @property
    def on_time_percent(self) -> float | None:
        share = self.on_time_share
        return None if share is None else round(share * 100, 1)

    @property
    def penalty_counts(self) -> list[tuple[Penalty.Kind, int]]:
        """(kind, count) for the kinds this shop was penalised for, in the kinds' order."""
        return [(Penalty.Kind(k), n) for k, n in self.penalties_by_kind.items() if n]


def _shift(month: date, by: int) -> date:
    """The first day of the month `by` months after `month`'s."""
    index = month.year * 12 + month.month - 1 + by
    return date(index // 12, index % 12 + 1, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The first instant of `month` and of the month after, in China time (TIME_ZONE)."""
    first, after = month.replace(day=1), _shift(month, 1)
    start = datetime(first.year, first.month, 1, tzinfo=CHINA)
    return start, datetime(after.year, after.month, 1, tzinfo=CHINA)


def _seconds_between(start: str, end: str) -> str:
    """SQL for the seconds from `start` to `end`: the one place the two databases differ."""
    if connection.vendor == "postgresql":
        # date_part is a double; EXTRACT a numeric, several times slower to sort (issue 14).
        return f"date_part('epoch', {end} - {start})"
    # SQLite keeps datetimes as UTC text; strftime('%s') reads them as whole epoch seconds.
    return f"(CAST(strftime('%%s', {end}) AS INTEGER) - CAST(strftime('%%s', {start}) AS INTEGER))"


def _table(model_label: str) -> str:
    return connection.ops.quote_name(apps.get_model(model_label)._meta.db_table)


# {by_kind}, {kind_columns} and {kinds} are one column per penalty kind (kind_0, kind_1, …).
_SQL = """
WITH
tickets AS (
    SELECT shop_id,
           COUNT(*) AS opened,
           SUM(CASE WHEN sla <> '' THEN 1 ELSE 0 END) AS decided,
           SUM(CASE WHEN sla = 'met' THEN 1 ELSE 0 END) AS on_time
    FROM {ticket}
    WHERE opened_at >= %(start)s AND opened_at < %(end)s {shops}
    GROUP BY shop_id
),
{medians}
disputes AS (
    SELECT shop_id,
           SUM(CASE WHEN opened_at >= %(start)s AND opened_at < %(end)s
                    THEN 1 ELSE 0 END) AS opened,
           SUM(CASE WHEN outcome = 'judged' AND verdict = 'liable'
                         AND closed_at >= %(start)s AND closed_at < %(end)s
                    THEN 1 ELSE 0 END) AS lost
    FROM {dispute}
    WHERE ((opened_at >= %(start)s AND opened_at < %(end)s)
           OR (closed_at >= %(start)s AND closed_at < %(end)s)) {shops}
    GROUP BY shop_id
),
penalties AS (
    SELECT shop_id, COUNT(*) AS n{by_kind}
    FROM {penalty}
    WHERE state <> 'waived' AND at >= %(start)s AND at < %(end)s {shops}
    GROUP BY shop_id
),
active AS (
    SELECT shop_id FROM tickets
    UNION SELECT shop_id FROM medians
    UNION SELECT shop_id FROM disputes
    UNION SELECT shop_id FROM penalties
),
card AS (
    SELECT shop.id AS shop_id, shop.jd_shop_id, shop.name AS shop_name,
           COALESCE(tickets.opened, 0) AS tickets_opened,
           COALESCE(tickets.decided, 0) AS tickets_decided,
           COALESCE(tickets.on_time, 0) AS tickets_on_time,
           COALESCE(medians.issued, 0) AS requests_issued,
           medians.median_secs,
           COALESCE(disputes.opened, 0) AS disputes_opened,
           COALESCE(disputes.lost, 0) AS disputes_lost,
           COALESCE(penalties.n, 0) AS penalties{kind_columns}
    FROM active
    JOIN {shop} AS shop ON shop.id = active.shop_id
    LEFT JOIN tickets ON tickets.shop_id = shop.id
    LEFT JOIN medians ON medians.shop_id = shop.id
    LEFT JOIN disputes ON disputes.shop_id = shop.id
    LEFT JOIN penalties ON penalties.shop_id = shop.id
),
graded AS (
    SELECT card.*,
           CASE
               WHEN disputes_lost > 0
                    OR penalties >= %(ATTENTION_MIN_PENALTIES)s
                    OR (tickets_decided > 0
                        AND tickets_on_time * 100 < %(ATTENTION_BELOW_PERCENT)s * tickets_decided)
                   THEN 'attention'
               WHEN tickets_decided > 0 AND penalties = 0
                    AND tickets_on_time * 100 >= %(GOOD_MIN_PERCENT)s * tickets_decided
                   THEN 'good'
               WHEN tickets_decided > 0 OR penalties > 0
                   THEN 'fair'
               ELSE 'unrated'
           END AS grade
    FROM card
)
SELECT shop_id, jd_shop_id, shop_name, tickets_opened, tickets_decided, tickets_on_time,
       requests_issued, median_secs, disputes_opened, disputes_lost, penalties, grade{kinds}
FROM graded
ORDER BY CASE grade WHEN 'attention' THEN 0 WHEN 'fair' THEN 1 WHEN 'good' THEN 2 ELSE 3 END,
         disputes_lost DESC,
         penalties DESC,
         CASE WHEN tickets_decided > 0 THEN 0 ELSE 1 END,
         tickets_on_time * 1.0 / CASE WHEN tickets_decided > 0 THEN tickets_decided END,
         jd_shop_id
"""


# The median time to invoice per shop: the middle row of an odd count, the mean of the two
# middle rows of an even one.
_MEDIANS = """
issued AS (
    SELECT shop_id, secs,
           ROW_NUMBER() OVER (PARTITION BY shop_id ORDER BY secs) AS rn,
           COUNT(*) OVER (PARTITION BY shop_id) AS n
    FROM (
        SELECT shop_id, {secs} AS secs
        FROM {request}
        WHERE state = 'issued' AND issued_at >= %(start)s AND issued_at < %(end)s {shops}
    ) AS durations
),
medians AS (
    SELECT shop_id, MAX(n) AS issued, AVG(secs) AS median_secs
    FROM issued
    WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
    GROUP BY shop_id
),"""
# The same on PostgreSQL, in one pass over ir_perf_issued_idx (shop, issued_at; index-only),
# grouped by shop as the index is: no sort of the month's rows (issue 14: 0.5-0.7 s at 1M).
_MEDIANS_POSTGRESQL = """
medians AS (
    SELECT shop_id, COUNT(*) AS issued,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY {secs}) AS median_secs
    FROM {request}
    WHERE state = 'issued' AND issued_at >= %(start)s AND issued_at < %(end)s {shops}
    GROUP BY shop_id
),"""


def scorecard(*, month: date, shop_ids: list[int] | None = None) -> list[ScorecardRow]:
    """The scorecard of every shop with activity in `month` (any day of it), the shops to
    watch first (by grade, then disputes lost and penalties, most first, then on-time share,
    worst first), in one query.

    Counted in the month (China time): tickets by `opened_at`, invoices by `issued_at` (the
    median runs from `requested_at` to `issued_at`), disputes opened by `opened_at`, disputes
    lost (judged, merchant liable) by `closed_at`, penalties not waived by `at`, in all and
    per kind.
    """
    if shop_ids is not None and not shop_ids:
        return []
    # Adapted as the ORM would (SQLite compares UTC text, so an offset must not reach it).
    start, end = (connection.ops.adapt_datetimefield_value(dt) for dt in month_bounds(month))
    params: dict[str, object] = {"start": start, "end": end, **GRADE_RULES}
    shops = ""
    if shop_ids is not None:
        names = [f"shop{i}" for i in range(len(shop_ids))]
        params.update(zip(names, (int(pk) for pk in shop_ids), strict=True))
        shops = "AND shop_id IN ({})".format(", ".join(f"%({n})s" for n in names))
    kinds = [kind.value for kind in penalty_kinds()]
    columns = [f"kind_{i}" for i in range(len(kinds))]
    params.update(zip(columns, kinds, strict=True))
    tables = {
        "ticket": _table("tickets.UrgeTicket"),
        "request": _table("invoices.InvoiceRequest"),
        "dispute": _table("disputes.Dispute"),
        "penalty": _table("penalties.Penalty"),
        "shop": _table("core.Shop"),
    }
    medians = _MEDIANS_POSTGRESQL if connection.vendor == "postgresql" else _MEDIANS
    medians = medians.format(
        request=tables["request"], secs=_seconds_between("requested_at", "issued_at"), shops=shops
    )
    sql = _SQL.format(
        **tables,
        medians=medians,
        shops=shops,
        by_kind="".join(
            f",\n           COUNT(*) FILTER (WHERE kind = %({c})s) AS {c}" for c in columns
        ),
        kind_columns="".join(f",\n           COALESCE(penalties.{c}, 0) AS {c}" for c in columns),
        kinds="".join(f", {c}" for c in columns),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [_row(values, kinds) for values in rows]


def _row(values: tuple, kinds: list[str]) -> ScorecardRow:
    (shop_id, jd_shop_id, shop_name, opened, decided, on_time, issued, median_secs) = values[:8]
    disputes_opened, disputes_lost, penalties, grade = values[8:12]
    return ScorecardRow(
        shop_id=shop_id,
        jd_shop_id=jd_shop_id,
        shop_name=shop_name,
        tickets_opened=int(opened),
        tickets_decided=int(decided),
        tickets_on_time=int(on_time),
        requests_issued=int(issued),
        median_hours_to_invoice=(
            None if median_secs is None else round(float(median_secs) / 3600, 2)
        ),
        disputes_opened=int(disputes_opened),
        disputes_lost=int(disputes_lost),
        penalties=int(penalties),
        penalties_by_kind={kind: int(n) for kind, n in zip(kinds, values[12:], strict=True)},
        grade=Grade(grade),
    )


FIRST_YEAR, LAST_YEAR = 2000, 2999  # the months the scorecard can show


def parse_month(value: str | None) -> date | None:
    """`2026-11` → 1 November 2026; None for anything else, or a year the scorecard does not
    show (the month after December 9999 does not exist)."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        parsed = date(year, month, 1)
    except ValueError:
        return None
    return parsed if FIRST_YEAR <= parsed.year <= LAST_YEAR else None


PAGE_SIZE = 50


def scorecard_admin_view(request: HttpRequest, *, site) -> HttpResponse:
    """The admin page /admin/scorecard/?month=2026-11 (arbitrators only: the site wraps it)."""
    asked = request.GET.get("month")
    month = parse_month(asked) or china_date().replace(day=1)
    error = ""
    if asked and parse_month(asked) is None:
        error = _(
            "“%(month)s” is not a month from %(first)d-01 to %(last)d-12: showing this month."
        )
        error = str(error) % {"month": asked[:20], "first": FIRST_YEAR, "last": LAST_YEAR}
    rows = scorecard(month=month)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    grade_counts = dict.fromkeys(GRADE_ORDER, 0)
    kinds = penalty_kinds()
    kind_totals = dict.fromkeys((kind.value for kind in kinds), 0)
    for row in rows:
        grade_counts[row.grade] += 1
        for kind, n in row.penalties_by_kind.items():
            kind_totals[kind] += n
    context = {
        **site.each_context(request),
        "title": _("店铺评分卡 Shop scorecard"),
        "month": month,
        "month_value": f"{month:%Y-%m}",
        "previous_month": f"{_shift(month, -1):%Y-%m}",
        "next_month": f"{_shift(month, 1):%Y-%m}",
        "page": page,
        "grade_counts": [(grade, n) for grade, n in grade_counts.items()],
        "kinds": [(kind, kind_totals[kind.value]) for kind in kinds],
        "rules": GRADE_RULES,
        "error": error,
    }
    return TemplateResponse(request, "admin/scorecard.html", context, status=400 if error else 200)
