"""API tokens (issue 12): a person gets one with their user name and password, a platform
service account gets one from an arbitrator in the admin; either is sent as
`Authorization: Bearer <token>` and revoked at any time.

Only the token's SHA-256 is stored (a token is 32 random bytes, so a fast hash is enough and
a lookup by hash is one indexed read); the token itself is shown once, when it is made.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from .models import ApiToken
from .roles import platform_service_group

PREFIX = "jdp_"
LAST_USED_EVERY = timedelta(minutes=1)  # `last_used_at` is written at most this often


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_create(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`: the row, and the token itself (not stored; show it once)."""
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:100] or _("API token"), prefix=raw[:12], key_hash=_hash(raw)
    )
    return token, raw


def token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke `token` (already scoped to its owner by the caller); revoking twice is a no-op."""
    ApiToken.objects.for_system().filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db(fields=["revoked_at"])
    return token


def service_account_create(*, username: str, name: str) -> tuple[AbstractBaseUser, str]:
    """A platform service account (a user in group "platform-service", no password) and its
    first token, for an arbitrator in the admin."""
    from django.contrib.auth import get_user_model

    with transaction.atomic():
        user = get_user_model().objects.create_user(username=username)  # unusable password
        user.groups.add(platform_service_group())
        _token, raw = token_create(user=user, name=name)
    return user, raw


def user_for_token(raw: str) -> tuple[AbstractBaseUser, ApiToken] | None:
    """The active user a live token belongs to, or None."""
    if not raw.startswith(PREFIX) or len(raw) > 100 or "\x00" in raw:
        return None
    token = (
        ApiToken.objects.for_system()
        .live()
        .select_related("user")
        .filter(key_hash=_hash(raw))
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_EVERY:
        ApiToken.objects.for_system().filter(pk=token.pk).update(last_used_at=now)
    return token.user, token


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` (or `Token <token>`): a revoked or unknown token is a
    401; a request without one is left to the other ways to log in."""

    keywords = ("bearer", "token")

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode(errors="replace") not in self.keywords:
            return None
        if len(header) != 2:
            raise AuthenticationFailed(_("Invalid token header."))
        found = user_for_token(header[1].decode(errors="replace"))
        if found is None:
            raise AuthenticationFailed(_("Invalid or revoked token."))
        return found

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "core.tokens.TokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):  # noqa: ANN001, ANN201
        return {"type": "http", "scheme": "bearer", "description": _("An API token (jdp_…).")}
