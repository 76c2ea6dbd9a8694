"""What every API action shares: input validation, a JSON parser and Basic auth that turn
hostile input into 4xx (the API's error mapping is `core.errors.api_exception_handler`)."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import django_filters
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, Subquery
from django.utils.translation import gettext as _
from drf_spectacular.authentication import BasicScheme
from rest_framework import authentication, pagination, parsers, serializers
from rest_framework.exceptions import AuthenticationFailed, NotFound, ParseError
from rest_framework.request import Request
from rest_framework.serializers import Serializer

from .errors import DomainError


def validated(serializer_class: type[Serializer], request: Request) -> dict[str, Any]:
    """The request's data as `serializer_class` validates it; invalid data is a 400 with the
    fields."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a nesting too deep for Python's parser a 400, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error: the document is nested too deeply.")) from None


class LockedOut(DomainError):
    """Too many failed logins for this account or address (django-axes): a 429."""

    status = 429

    def __init__(self) -> None:
        minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
        message = _(
            "Too many failed logins for this account or from this address. Try again in "
            "%(minutes)d minutes."
        )
        super().__init__("locked_out", message, minutes=minutes)


class BasicAuthentication(authentication.BasicAuthentication):
    """HTTP Basic auth that refuses a user name or password with a NUL byte (401) before it
    reaches the database, which cannot compare one (a 500 otherwise)."""

    def authenticate_credentials(self, userid, password, request=None):
        if "\x00" in userid or "\x00" in password:
            raise AuthenticationFailed(_("Invalid username/password."))
        try:
            return super().authenticate_credentials(userid, password, request)
        except AuthenticationFailed:
            # django-axes refused (it flags the request it was given): the login page's 429.
            if getattr(request, "axes_locked_out", False):
                raise LockedOut() from None
            raise


class BasicAuthenticationScheme(BasicScheme):
    """The schema describes our Basic auth as HTTP Basic, like DRF's own."""

    target_class = "core.api.BasicAuthentication"


class BlankChoices:
    """For a ModelSerializer: a read-only choice field whose model field may be blank says so,
    so that the schema's enum admits "" (DRF drops `allow_blank` from read-only fields)."""

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        model = self.Meta.model
        for name, field in fields.items():
            if not isinstance(field, serializers.ChoiceField) or not field.read_only:
                continue
            source = field.source if field.source and field.source != "*" else name
            model_field = next((f for f in model._meta.fields if f.name == source), None)
            if model_field is not None and model_field.blank:
                field.allow_blank = True
        return fields


class CursorPagination(pagination.CursorPagination):
    """Every list of the API: a cursor (`?cursor=`, the `next` and `previous` links) over an
    ordering that is unique and backed by an index; a view names its own in `cursor_ordering`
    (default: newest first). No page counts: a page costs the same on any table size."""

    ordering = ("-created_at", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        return tuple(getattr(view, "cursor_ordering", self.ordering))

    # DRF's cursor holds the first ordering field alone, plus an offset among rows that share it;
    # going back ("previous") over a run of equal values (a batch of tickets opened at one
    # instant share their deadline) then lands on an empty page. Our cursor holds the whole key,
    # "value|pk", so that no two rows share a position and the offset is always 0.

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        return super().paginate_queryset(_Keyset(queryset), request, view)

    def _get_position_from_instance(self, instance: Any, ordering: tuple[str, ...]) -> str:
        first = super()._get_position_from_instance(instance, ordering)
        if len(ordering) < 2:
            return first
        return f"{first}{_KEY_SEP}{instance['pk'] if isinstance(instance, dict) else instance.pk}"


_KEY_SEP = "|"


class _Keyset:
    """A queryset whose cursor filter compares the whole key: `(value, pk) > (v, p)` as
    `value > v OR (value = v AND pk > p)` (the orderings end with the key, in the same
    direction as their first field). A forged position is the cursor's usual 404."""

    def __init__(self, queryset: Any) -> None:
        self.queryset = queryset
        self.model = getattr(queryset, "model", None) or queryset.queryset.model

    def order_by(self, *fields: str) -> _Keyset:
        return _Keyset(self.queryset.order_by(*fields))

    def filter(self, *conditions: Any, **lookups: Any) -> _Keyset:
        if conditions or len(lookups) != 1:
            return _Keyset(self.queryset.filter(*conditions, **lookups))
        ((lookup, position),) = lookups.items()
        value, sep, pk = str(position).rpartition(_KEY_SEP)
        attr, op = lookup.rsplit("__", 1)
        try:
            if not sep:
                raise ValueError(position)
            value = self.model._meta.get_field(attr).to_python(value)
            pk = self.model._meta.pk.to_python(pk)
        except (DjangoValidationError, ValueError, LookupError) as e:
            raise NotFound(pagination.CursorPagination.invalid_cursor_message) from e
        after = Q(**{f"{attr}__{op}": value}) | Q(**{attr: value, f"pk__{op}": pk})
        return _Keyset(self.queryset.filter(after))

    def __getitem__(self, window: slice) -> Any:
        return self.queryset[window]


class KeysFirstCursorPagination(CursorPagination):
    """The cursor, read by a deferred join (as `core.pages.BoundedPaginator` reads a page):
    the page's keys first (`pk IN (SELECT pk ... ORDER BY ... LIMIT 51)`, an index-only scan
    of an index that holds the scope's column, the order and the key), then its rows by
    primary key. For a list scoped to a set of shops (`shop_id = ANY(...)`), which no index
    returns in order: without it PostgreSQL reads and sorts every row of the shops. Still one
    query, still scoped (the outer query is the same queryset)."""

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        return super().paginate_queryset(_KeysFirst(queryset), request, view)


class _KeysFirst:
    """A queryset whose slice is a deferred join; only what `CursorPagination` calls."""

    def __init__(self, queryset: Any) -> None:
        self.queryset = queryset

    def order_by(self, *fields: str) -> _KeysFirst:
        return _KeysFirst(self.queryset.order_by(*fields))

    def filter(self, *conditions: Any, **lookups: Any) -> _KeysFirst:
        return _KeysFirst(self.queryset.filter(*conditions, **lookups))

    def __getitem__(self, window: slice) -> Any:
        keys = self.queryset.values("pk")[window]
        return self.queryset.filter(pk__in=Subquery(keys))


class DateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 instant for a list's filter, turned into UTC before it reaches the database
    (PostgreSQL refuses offsets past ±16 h that Python accepts); one out of range is a 400."""

    def filter(self, qs: Any, value: Any) -> Any:
        if value is not None:
            try:
                value = value.astimezone(UTC)
            except (OverflowError, ValueError):
                filters = getattr(self.parent, "filters", {})
                name = next((k for k, f in filters.items() if f is self), self.field_name)
                raise serializers.ValidationError(
                    {name: [_("This instant is out of range.")]}
                ) from None
        return super().filter(qs, value)
