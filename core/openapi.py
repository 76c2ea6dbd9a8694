"""The API schema tells the whole truth about errors: every operation documents the error
statuses it can answer with, in the one error shape (`core.errors.api_exception_handler`), so
a client (and schemathesis in CI) finds no undocumented status; and every POST documents its
optional `Idempotency-Key` header (`core.idempotency`)."""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "description": (
        "Every error: a stable `code`, a `message` in the request's language (Accept-Language"
        " or the user's setting), and `fields`, each field in error with its messages (empty"
        " unless some input was at fault)."
    ),
    "properties": {
        "code": {"type": "string", "example": "invalid"},
        "message": {"type": "string", "example": "This field is required."},
        "fields": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "example": {"note": ["This field is required."]},
        },
    },
    "required": ["code", "message", "fields"],
}
WRITES = {"post", "put", "patch", "delete"}
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": (
        "Up to 255 printable ASCII characters, unique per request you mean. A repeat with the"
        " same key and body gets the first response again (header Idempotent-Replayed: true);"
        " with another body a 422; while the first still runs a 409. Kept 24 hours."
    ),
    "schema": {"type": "string", "maxLength": 255},
}


def _error(description: str, example: dict | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": {"$ref": "#/components/schemas/Error"}}
    if example:
        content["examples"] = {"error": {"value": example}}
    return {"description": description, "content": {"application/json": content}}


EXAMPLES = {
    "400": {
        "code": "invalid",
        "message": "此项为必填项。",
        "fields": {"note": ["此项为必填项。"]},
    },
    "401": {"code": "not_authenticated", "message": "身份认证信息未提供。", "fields": {}},
    "403": {"code": "permission_denied", "message": "您没有执行该操作的权限。", "fields": {}},
    "404": {"code": "not_found", "message": "未找到。", "fields": {}},
    "409": {"code": "dispute_open", "message": "这张申请已有一个进行中的纠纷。", "fields": {}},
    "422": {
        "code": "idempotency_key_reused",
        "message": "This Idempotency-Key was already used with another request.",
        "fields": {},
    },
    "429": {"code": "throttled", "message": "请求超过了限速。", "fields": {}},
}


def add_error_responses(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular postprocessing hook: the error responses of every operation, and the
    Idempotency-Key header of every POST."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            errors = {
                "401": "not logged in, or a wrong, revoked or expired token",
                "403": "not allowed: not logged in, or the role does not allow it",
                "405": "the method is not one this path takes",
                "406": "the Accept header asks for a format the API does not speak",
                "429": "too many requests: wait and retry (Retry-After)",
            }
            if operation.get("parameters") or method in WRITES:
                errors["400"] = "bad input: the fields in error, or a rule that refused it"
            if "{" in path or method in WRITES:
                errors["404"] = "no such object, or not yours (the two look the same)"
            elif any(p.get("name") == "cursor" for p in operation.get("parameters", [])):
                errors["404"] = "no such page of the list (a cursor that is not one)"
            if method in WRITES:
                errors["409"] = "the object is no longer in the state this action needs"
                errors["415"] = "the body's content type is not one this operation takes"
            if method == "post":
                errors["409"] = (
                    "the object is no longer in the state this action needs, or a request with"
                    " this Idempotency-Key is still running"
                )
                errors["422"] = "this Idempotency-Key was already used with another body"
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name") == "Idempotency-Key" for p in parameters):
                    parameters.append(IDEMPOTENCY_KEY)
            for status, description in errors.items():
                responses.setdefault(status, _error(description, EXAMPLES.get(status)))
    return result
