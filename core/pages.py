"""What every page does around a service call: errors onto the form, buttons with a message,
the page to go back to, and pagination. The pages' one error mapping (the API's is
`core.errors.api_exception_handler`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet, Subquery
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from .errors import DomainError

PAGE_SIZE = 25
# A list counts at most this many rows (or as many as the page asked for, and one more): past
# it the pager says "of 400+" instead of counting a shop's whole history on every page.
COUNT_UP_TO = 10_000


def apply_errors(form: Form, error: ValidationError) -> None:
    """Put a service's ValidationError onto `form` (fields the form lacks become form errors)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@dataclass(frozen=True)
class Submitted:
    """How a form's service call went: `status` None when it succeeded (then `result` is what
    the service returned), else the status the page answers with, the errors on the form."""

    status: int | None
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.status is None


def submit(form: Form, action: Callable[[dict[str, Any]], object]) -> Submitted:
    """Validate `form` and call `action(cleaned_data)`. Bad input is a 400, a domain error its
    own 400 or 409, with the errors on the form. PermissionDenied is not caught: a 403."""
    if not form.is_valid():
        return Submitted(400)
    try:
        return Submitted(None, action(form.cleaned_data))
    except ValidationError as e:
        apply_errors(form, e)
        return Submitted(400)
    except DomainError as e:
        form.add_error(None, e.message)
        return Submitted(e.status)


def form_post(
    request: HttpRequest,
    form: Form,
    action: Callable[[dict[str, Any]], object],
    *,
    success: str,
    done: str | Callable[[Any], str],
    failed: Callable[[int], HttpResponse],
) -> HttpResponse:
    """A page's form post: `submit` it; when the service succeeded, say `success` and redirect
    to `done` (a URL, or one made from what the service returned), else answer `failed(status)`
    (the page again, with the errors on `form`)."""
    sent = submit(form, action)
    if not sent.ok:
        return failed(sent.status)
    messages.success(request, success)
    return redirect(done(sent.result) if callable(done) else done)


def press(request: HttpRequest, action: Callable[[], object], success: str) -> bool:
    """A button without a form: call `action`, say how it went in a message."""
    try:
        action()
    except ValidationError as e:
        for m in e.messages:
            messages.error(request, m)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, success)
        return True
    return False


def next_or(request: HttpRequest, default: str) -> str:
    """The page a form was sent from (its `next` field) if it is one of ours, else `default`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


class BoundedPaginator(Paginator):
    """A paginator whose count reads at most `count_up_to` + 1 rows (`SELECT COUNT(*) FROM
    (... LIMIT n)`): `capped` says there are more; `pages_label` is "400+" then."""

    def __init__(self, object_list: Any, per_page: int, *, count_up_to: int = COUNT_UP_TO):
        super().__init__(object_list, per_page)
        self.count_up_to = count_up_to

    @cached_property
    def count(self) -> int:
        if not isinstance(self.object_list, QuerySet):
            return super().count
        return self.object_list.order_by()[: self.count_up_to + 1].count()

    def page(self, number: Any) -> Page:
        """The page, by a deferred join: its keys first (`pk IN (SELECT pk ... LIMIT 25)`,
        which an index holding the list's order and key reads without the table), then its
        rows by primary key; sorting a shop's whole history to show 25 rows would read every
        row of it. Still one query, still scoped (the outer query is the same queryset)."""
        qs = self.object_list
        if not isinstance(qs, QuerySet) or qs.query.combinator or qs.query.distinct:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        keys = qs.values("pk")[bottom:top]
        return self._get_page(qs.filter(pk__in=Subquery(keys)), number, self)

    @property
    def capped(self) -> bool:
        return self.count > self.count_up_to

    @property
    def pages_label(self) -> str:
        if self.capped:
            return f"{self.count_up_to // self.per_page}+"
        return str(self.num_pages)


def paginate(request: HttpRequest, object_list: Any, per_page: int = PAGE_SIZE) -> Page:
    """The page `?page=` asks for (the last one counted when it is past the end). The count is
    bounded (`BoundedPaginator`): COUNT_UP_TO rows, or as deep as the page asked for."""
    asked = request.GET.get("page")
    try:
        depth = int(asked or 1)
    except (TypeError, ValueError):
        depth = 1
    up_to = max(COUNT_UP_TO, min(depth, 10**6) * per_page)
    return BoundedPaginator(object_list, per_page, count_up_to=up_to).get_page(asked)
