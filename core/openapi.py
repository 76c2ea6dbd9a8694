"""The API schema tells the whole truth about errors: every operation documents the error
statuses it can answer with, in the one error shape (`core.errors.api_exception_handler`), so
a client (and schemathesis in CI) finds no undocumented status."""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "description": "`code` and `detail` for a refused action; the fields in error for bad input.",
    "properties": {"code": {"type": "string"}, "detail": {}},
    "additionalProperties": True,
}
WRITES = {"post", "put", "patch"}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def add_error_responses(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular postprocessing hook: the error responses of every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            errors = {
                "401": "not logged in (HTTP Basic)",
                "403": "not allowed: not logged in, or the role does not allow it",
                "406": "the Accept header asks for a format the API does not speak",
                "429": "too many requests: wait and retry",
            }
            if operation.get("parameters") or method in WRITES:
                errors["400"] = "bad input: the fields in error, or a rule that refused it"
            if "{" in path or method in WRITES:
                errors["404"] = "no such object, or not yours (the two look the same)"
            elif any(p.get("name") == "page" for p in operation.get("parameters", [])):
                errors["404"] = "no such page of the list"
            if method in WRITES:
                errors["409"] = "the object is no longer in the state this action needs"
                errors["415"] = "the body's content type is not one this operation takes"
            for status, description in errors.items():
                responses.setdefault(status, _error(description))
    return result
