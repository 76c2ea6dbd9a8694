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

from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from functools import cached_property
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db import connections, models
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
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
    """For a ModelAdmin: the estimated-count paginator, no full-table count, and the search of
    `search_fields` by index (`indexed_search`)."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        fields = self.get_search_fields(request)  # type: ignore[attr-defined]
        return indexed_search(queryset, fields, search_term), False


def _field_value(field: models.Field, term: str) -> list[Any] | None:
    """The values `term` may mean for `field`, or None when it cannot be one (a word for an
    integer field). Text is matched as typed and in capitals (tax ids, order numbers)."""
    try:
        value = field.to_python(term)
        field.get_prep_value(value)
    except (ValidationError, ValueError, TypeError):
        return None
    if isinstance(value, str):
        return sorted({value, value.upper()})
    return [value]


# A related search (an order number for a ticket) matches at most this many related rows.
SEARCH_IDS_UP_TO = 1000


def _match(model: type[models.Model], path: list[str], contains: bool, term: str) -> Q | None:
    """A condition on `model`'s own columns that `path` (relations, then a field) matches
    `term`, or None when nothing can match. A relation is looked up first, in a query of its
    own (`fk IN (ids)`, at most SEARCH_IDS_UP_TO of them): never a join, so that the terms
    OR-ed over several fields stay index scans of one table (a BitmapOr), and the planner
    sees the actual keys (a subquery would leave it guessing, and a guess of thousands of
    rows starts parallel workers for a search that finds one)."""
    name, rest = path[0], path[1:]
    try:
        field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if rest:
        if not (field.is_relation and field.many_to_one or field.one_to_one) or not field.concrete:
            return None
        related = field.related_model
        inner = _match(related, rest, contains, term)
        if inner is None:
            return None
        manager = related._default_manager
        base = manager.for_system() if hasattr(manager, "for_system") else manager.all()
        ids = list(base.filter(inner).order_by().values_list("pk", flat=True)[:SEARCH_IDS_UP_TO])
        return Q(**{f"{field.attname}__in": ids}) if ids else None
    if contains:
        return Q(**{f"{field.attname}__icontains": term})
    values = _field_value(field, term)
    if values is None:
        return None
    if len(values) > 1:
        return Q(**{f"{field.attname}__in": values})
    return Q(**{field.attname: values[0]})


def indexed_search(queryset: QuerySet, search_fields: Iterable[str], search_term: str) -> QuerySet:
    """The admin search, by index: `=field` matches the whole term exactly (as typed or in
    capitals), through relations as key lookups (`_match`, one small query per relation); a
    field without `=` matches a substring, which only a small table (shops) or a trigram index
    may afford. No joins, so no duplicates. A term no field can hold (a word for an id)
    matches nothing there."""
    term = search_term.strip()
    if not term:
        return queryset
    conditions = Q()
    for spec in search_fields:
        exact = spec.startswith("=")
        cond = _match(queryset.model, spec.lstrip("=^@").split("__"), not exact, term)
        if cond is not None:
            conditions |= cond
    return queryset.filter(conditions) if conditions else queryset.none()


def recent_filter(field: str, title: str) -> type[admin.SimpleListFilter]:
    """A list filter "in the last day / 7 days / 30 days" on `field`: fixed choices, where a
    date hierarchy would first read the distinct years of the whole table."""

    choices = {"1": _("last 24 hours"), "7": _("last 7 days"), "30": _("last 30 days")}

    class RecentFilter(admin.SimpleListFilter):
        parameter_name = f"{field}_within"

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
            return list(choices.items())

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            days = self.value()
            if days not in choices:
                return queryset
            return queryset.filter(**{f"{field}__gte": timezone.now() - timedelta(days=int(days))})

    RecentFilter.title = title
    return RecentFilter


def values_filter(
    field: str, title: str, values: Callable[[], Iterable[str]]
) -> type[admin.SimpleListFilter]:
    """A list filter over the known `values()` of `field` (a registry's, read when the list
    shows): Django's filter of a field without choices first reads `SELECT DISTINCT field` of
    the whole table."""

    class ValuesFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            return [(v, v) for v in sorted(values())]

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            value = self.value()
            return queryset.filter(**{field: value}) if value else queryset

    ValuesFilter.title = title
    return ValuesFilter


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
