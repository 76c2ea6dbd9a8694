"""`{% api_tokens %}`: the signed-in person's API tokens, each with a revoke button (for their
settings page)."""

from __future__ import annotations

from django import template

from core.models import ApiToken

register = template.Library()


@register.inclusion_tag("core/api_tokens.html", takes_context=True)
def api_tokens(context: template.Context) -> dict:
    request = context["request"]
    tokens = ApiToken.objects.for_user(request.user).order_by("-created_at", "-id")[:50]
    return {"tokens": list(tokens), "request": request, "csrf_token": context.get("csrf_token")}
