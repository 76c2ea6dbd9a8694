"""The shop scorecard (spec 8): per shop and month, how well it answered, invoiced and argued.

One SQL query computes every column, the tier and the ranking, so the admin page costs the
same number of queries for ten shops or ten thousand. The months are China months: a request
at 23:30 on 30 November China time counts for November, though it is already 15:30 UTC.

Tiers (spec 8 names them, 重点 / A / B / 普通, without thresholds; ours are below, in
`TIER_RULES`):

- 重点 (key watch): any dispute lost, or `KEY_MIN_PENALTIES` penalties or more, or an on-time
  share below `KEY_BELOW_PERCENT`;
- A: on-time share of at least `A_MIN_PERCENT`, no penalty and no dispute lost;
- B: on-time share of at least `B_MIN_PERCENT`;
- 普通 (ordinary): everything else, including shops none of whose tickets has an SLA yet (A and
  B must be earned by tickets answered on time).
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


class Tier(models.TextChoices):
    """The category operators' ranks (spec 8), best watched first."""

    KEY = "key", _("重点 key watch")
    A = "a", _("A")
    B = "b", _("B")
    NORMAL = "normal", _("普通 ordinary")


# The thresholds, written once; the SQL below reads them as parameters.
TIER_RULES = {
    "KEY_BELOW_PERCENT": 80,
    "KEY_MIN_PENALTIES": 3,
    "A_MIN_PERCENT": 98,
    "B_MIN_PERCENT": 90,
}
# The order of the tiers on the page: the shops to watch first.
TIER_ORDER = [Tier.KEY, Tier.A, Tier.B, Tier.NORMAL]


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
    penalties: int
    tier: Tier

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
        return f"EXTRACT(EPOCH FROM ({end} - {start}))"
    # SQLite keeps datetimes as UTC text; strftime('%s') reads them as whole epoch seconds.
    return f"(CAST(strftime('%%s', {end}) AS INTEGER) - CAST(strftime('%%s', {start}) AS INTEGER))"


def _table(model_label: str) -> str:
    return connection.ops.quote_name(apps.get_model(model_label)._meta.db_table)


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
    -- The middle row of an odd count, the mean of the two middle rows of an even one.
    SELECT shop_id, MAX(n) AS issued, AVG(secs) AS median_secs
    FROM issued
    WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
    GROUP BY shop_id
),
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
    SELECT shop_id, COUNT(*) AS n
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
           COALESCE(penalties.n, 0) AS penalties
    FROM active
    JOIN {shop} AS shop ON shop.id = active.shop_id
    LEFT JOIN tickets ON tickets.shop_id = shop.id
    LEFT JOIN medians ON medians.shop_id = shop.id
    LEFT JOIN disputes ON disputes.shop_id = shop.id
    LEFT JOIN penalties ON penalties.shop_id = shop.id
),
tiered AS (
    SELECT card.*,
           CASE
               WHEN disputes_lost > 0
                    OR penalties >= %(KEY_MIN_PENALTIES)s
                    OR (tickets_decided > 0
                        AND tickets_on_time * 100 < %(KEY_BELOW_PERCENT)s * tickets_decided)
                   THEN 'key'
               WHEN tickets_decided > 0 AND penalties = 0
                    AND tickets_on_time * 100 >= %(A_MIN_PERCENT)s * tickets_decided
                   THEN 'a'
               WHEN tickets_decided > 0
                    AND tickets_on_time * 100 >= %(B_MIN_PERCENT)s * tickets_decided
                   THEN 'b'
               ELSE 'normal'
           END AS tier
    FROM card
)
SELECT shop_id, jd_shop_id, shop_name, tickets_opened, tickets_decided, tickets_on_time,
       requests_issued, median_secs, disputes_opened, disputes_lost, penalties, tier
FROM tiered
ORDER BY CASE tier WHEN 'key' THEN 0 WHEN 'a' THEN 1 WHEN 'b' THEN 2 ELSE 3 END,
         CASE WHEN tickets_decided > 0 THEN 0 ELSE 1 END,
         tickets_on_time * 1.0 / CASE WHEN tickets_decided > 0 THEN tickets_decided END DESC,
         jd_shop_id
"""


def scorecard(*, month: date, shop_ids: list[int] | None = None) -> list[ScorecardRow]:
    """The scorecard of every shop with activity in `month` (any day of it), ranked by tier,
    then on-time share (best first), in one query.

    Counted in the month (China time): tickets by `opened_at`, invoices by `issued_at` (the
    median runs from `requested_at` to `issued_at`), disputes opened by `opened_at`, disputes
    lost (judged, merchant liable) by `closed_at`, penalties not waived by `at`.
    """
    if shop_ids is not None and not shop_ids:
        return []
    # Adapted as the ORM would (SQLite compares UTC text, so an offset must not reach it).
    start, end = (connection.ops.adapt_datetimefield_value(dt) for dt in month_bounds(month))
    params: dict[str, object] = {"start": start, "end": end, **TIER_RULES}
    shops = ""
    if shop_ids is not None:
        names = [f"shop{i}" for i in range(len(shop_ids))]
        params.update(zip(names, (int(pk) for pk in shop_ids), strict=True))
        shops = "AND shop_id IN ({})".format(", ".join(f"%({n})s" for n in names))
    sql = _SQL.format(
        ticket=_table("tickets.UrgeTicket"),
        request=_table("invoices.InvoiceRequest"),
        dispute=_table("disputes.Dispute"),
        penalty=_table("penalties.Penalty"),
        shop=_table("core.Shop"),
        secs=_seconds_between("requested_at", "issued_at"),
        shops=shops,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [_row(*values) for values in rows]


def _row(
    shop_id, jd_shop_id, shop_name, opened, decided, on_time, issued, median_secs, *rest
) -> ScorecardRow:
    disputes_opened, disputes_lost, penalties, tier = rest
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
        tier=Tier(tier),
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
    tier_counts = {tier: 0 for tier in TIER_ORDER}
    for row in rows:
        tier_counts[row.tier] += 1
    context = {
        **site.each_context(request),
        "title": _("店铺评分卡 Shop scorecard"),
        "month": month,
        "month_value": f"{month:%Y-%m}",
        "previous_month": f"{_shift(month, -1):%Y-%m}",
        "next_month": f"{_shift(month, 1):%Y-%m}",
        "page": page,
        "tier_counts": [(tier.label, n) for tier, n in tier_counts.items()],
        "rules": TIER_RULES,
        "error": error,
    }
    return TemplateResponse(request, "admin/scorecard.html", context, status=400 if error else 200)
