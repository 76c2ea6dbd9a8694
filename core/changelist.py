"""Admin change lists that stay fast on big tables (every big table's admin uses them).

Django's change list counts its rows twice: the full table (for "N total", switched off with
`show_full_result_count = False`) and the filtered rows (for the pages). On PostgreSQL a COUNT
reads every row, so on a table of millions each page view pays for a sequential scan.
`EstimatedCountPaginator` avoids both: an unfiltered list takes PostgreSQL's planner estimate
(`pg_class.reltuples`), a filtered one counts at most `COUNT_CAP` rows.

`ShopInputFilter` filters by a shop's JD shop id typed into a box: the usual related-field
filter lists every shop (one query over the whole table, a page of thousands of links).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

# Below this many estimated rows an exact count is cheap, and exact.
ESTIMATE_ABOVE = 10_000
# A filtered list counts at most this many rows; past it the pager shows this many pages' worth.
COUNT_CAP = 10_000


def estimated_rows(qs: QuerySet) -> int | None:
    """PostgreSQL's estimate of the rows of `qs`'s table, or None if there is none (another
    database, or a table never analysed)."""
    connection = connections[qs.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
            [connection.ops.quote_name(qs.model._meta.db_table)],
        )
        row = cursor.fetchone()
    if row is None or row[0] is None or row[0] < 0:
        return None
    return int(row[0])


def is_unfiltered(qs: QuerySet) -> bool:
    """True when `qs` selects every row of its table (ordering and annotations aside)."""
    query = qs.query
    return not query.where and not query.distinct and not query.combinator


class EstimatedCountPaginator(Paginator):
    """A paginator whose count costs no full scan on PostgreSQL (see the module docstring)."""

    @cached_property
    def count(self) -> int:
        qs = self.object_list
        if not isinstance(qs, QuerySet):
            return super().count
        if is_unfiltered(qs):
            estimate = estimated_rows(qs)
            if estimate is not None and estimate > ESTIMATE_ABOVE:
                return estimate
        return qs.order_by()[:COUNT_CAP].count()


class FastChangeListMixin:
    """For a ModelAdmin: the estimated-count paginator and no full-table count."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False


class ShopInputFilter(admin.SimpleListFilter):
    """Filter by the JD shop id typed into a box (exact match, so it uses the unique index)."""

    title = _("shop (JD shop id)")
    parameter_name = "jd_shop_id"
    template = "admin/core/input_filter.html"
    shop_path = "shop"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        # One dummy lookup: Django shows a filter only if it has choices.
        return [("", "")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = (self.value() or "").strip()
        if not value:
            return queryset
        return queryset.filter(**{f"{self.shop_path}__jd_shop_id": value})

    def choices(self, changelist: ChangeList) -> Iterator[dict[str, Any]]:
        """One choice: the current value, the other parameters to keep, and the link that
        removes this filter."""
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": _("All"),
            "value": self.value() or "",
            "hidden": [
                (key, value)
                for key, value in changelist.params.items()
                if key not in (self.parameter_name, PAGE_VAR)
            ],
        }
