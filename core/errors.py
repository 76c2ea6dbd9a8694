"""Domain errors: a machine code plus a translated message, mapped once for the API (here) and
once for the pages (`core.pages`).

The API answers every error in one shape (issue 12): `{"code": ..., "message": ..., "fields":
{field: [messages]}}`, the message in the request's language, `fields` empty unless some input
was at fault: validation (400), authentication (401, 403), a missing object (404), a method
(405), a media type (406, 415), a state conflict (409), an idempotency key reused (422) and
throttling (429) alike."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from rest_framework.response import Response


class DomainError(Exception):
    """A business rule said no. `code` is stable for clients; `message` is translated."""

    status = 400

    def __init__(self, code: str, message: Any, **params: Any) -> None:
        self.code = code
        self.params = params
        self.message = str(message) % params if params else str(message)
        super().__init__(self.message)


class Conflict(DomainError):
    """The object is no longer in the state the action needs (someone else won the race)."""

    status = 409


def error_body(code: str, message: Any, fields: dict[str, list[str]] | None = None) -> dict:
    """The API's one error shape."""
    return {"code": code, "message": str(message), "fields": fields or {}}


def _messages(detail: Any) -> list[str]:
    """Every message of a DRF error detail (a string, a list or a dict of them), flattened."""
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in _messages(value)]
    if isinstance(detail, list | tuple):
        return [m for value in detail for m in _messages(value)]
    return [str(detail)]


def _fields(detail: Any) -> dict[str, list[str]]:
    """A validation error's detail as {field: [messages]} (nested fields joined with dots)."""
    if not isinstance(detail, dict):
        return {"non_field_errors": _messages(detail)}
    fields: dict[str, list[str]] = {}
    for name, value in detail.items():
        if isinstance(value, dict):
            for sub, messages in _fields(value).items():
                fields[f"{name}.{sub}"] = messages
        else:
            fields[str(name)] = _messages(value)
    return fields


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Map domain, Django and DRF errors onto the one error shape with stable codes. (DRF is
    imported here, not above: its settings import our authentication, which raises these.)"""
    from rest_framework import exceptions as drf_exceptions
    from rest_framework.response import Response
    from rest_framework.views import exception_handler

    if isinstance(exc, DomainError):
        fields = getattr(exc, "fields", None)
        return Response(error_body(exc.code, exc.message, fields), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail = {
                f: [str(m) for e in errs for m in e.messages] for f, errs in exc.error_dict.items()
            }
        else:
            detail = {"non_field_errors": exc.messages}
        exc = drf_exceptions.ValidationError(detail)
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, drf_exceptions.APIException):
        return response
    if isinstance(exc, drf_exceptions.ValidationError):
        fields = _fields(exc.detail)
        messages = _messages(exc.detail)
        message = messages[0] if len(messages) == 1 else _("Some of the input is not valid.")
        code = "invalid"
    else:
        fields = {}
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        message = " ".join(_messages(exc.detail))
    response.data = error_body(code, message, fields)
    return response


def page_not_found(request: Any, exception: Exception | None = None) -> Any:
    """handler404: under /api/ a path the router does not know is a 404 in the one error shape
    too; elsewhere Django's own page."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found as django_page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    return django_page_not_found(request, exception)
