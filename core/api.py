"""What every API action shares (the API's error mapping is `core.errors.api_exception_handler`)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.serializers import Serializer


def validated(serializer_class: type[Serializer], request: Request) -> dict[str, Any]:
    """The request's data as `serializer_class` validates it; invalid data is a 400 with the
    fields."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
