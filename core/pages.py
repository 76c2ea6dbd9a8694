"""What every page does around a service call: errors onto the form, buttons with a message,
the page to go back to, and pagination. The pages' one error mapping (the API's is
`core.errors.api_exception_handler`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from .errors import DomainError

PAGE_SIZE = 25


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


def paginate(request: HttpRequest, object_list: Any, per_page: int = PAGE_SIZE) -> Page:
    """The page `?page=` asks for (the last one when it is past the end)."""
    return Paginator(object_list, per_page).get_page(request.GET.get("page"))
