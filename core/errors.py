"""Domain errors: a machine code plus a translated message, mapped once for the API (here) and
once for the pages (`core.pages`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError

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


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Map domain and Django validation errors onto DRF responses with stable codes. (DRF is
    imported here, not above: its settings import our authentication, which raises these.)"""
    from rest_framework import exceptions as drf_exceptions
    from rest_framework.response import Response
    from rest_framework.views import exception_handler

    if isinstance(exc, DomainError):
        return Response({"code": exc.code, "detail": exc.message}, status=exc.status)
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
    return exception_handler(exc, context)
