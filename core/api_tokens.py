"""The token endpoints (issue 12): `POST auth/token/` trades a user name and password for a
token (throttled; django-axes locks out as on the login page), `GET auth/token/` lists the
caller's tokens, `DELETE auth/token/{id}/` revokes one."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from .api import LockedOut, validated
from .auth import AnonThrottle, ScopedThrottle, UserThrottle
from .errors import DomainError
from .idempotency import IdempotentMixin
from .models import ApiToken
from .tokens import token_create, token_revoke


class TokenThrottle(ScopedThrottle):
    scope = "token"


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)
    name = serializers.CharField(max_length=100, required=False, default="API")


class ApiTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "revoked_at"]


class NewTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(help_text="The token itself: shown this once, never again.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


class InvalidCredentials(DomainError):
    status = 401

    def __init__(self) -> None:
        super().__init__("invalid_credentials", _("Invalid username/password."))


class ApiTokenViewSet(
    IdempotentMixin, mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """The caller's API tokens."""

    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.none()  # for the schema; requests use for_user
    cursor_ordering = ("-created_at", "-id")
    filter_backends: list = []

    def get_permissions(self):
        return [AllowAny()] if self.action == "create" else [IsAuthenticated()]

    def get_throttles(self):
        if self.action == "create":
            return [AnonThrottle(), UserThrottle(), TokenThrottle()]
        return super().get_throttles()

    def get_queryset(self):
        return ApiToken.objects.for_user(self.request.user)

    @extend_schema(
        request=TokenRequestSerializer,
        responses={201: NewTokenSerializer},
        examples=[
            OpenApiExample(
                "log in",
                value={"username": "merchant", "password": "jdpop-demo", "name": "ERP"},
                request_only=True,
            ),
            OpenApiExample(
                "the token",
                response_only=True,
                status_codes=["201"],
                value={
                    "id": 7,
                    "name": "ERP",
                    "prefix": "jdp_Q2xhc3Np",
                    "created_at": "2025-03-10T10:00:00+08:00",
                    "last_used_at": None,
                    "revoked_at": None,
                    "token": "jdp_Q2xhc3NpY2FsbHkgYSB0b2tlbiBvZiA0MyBjaGFycw",
                },
            ),
        ],
        auth=[],
    )
    def create(self, request: Request) -> Response:
        """A new token for a user name and password (send it as `Authorization: Bearer …`)."""
        data = validated(TokenRequestSerializer, request)
        if "\x00" in data["username"] or "\x00" in data["password"]:
            raise InvalidCredentials()
        user = authenticate(
            request=request._request, username=data["username"], password=data["password"]
        )
        if user is None:
            if getattr(request._request, "axes_locked_out", False):
                raise LockedOut()
            raise InvalidCredentials()
        if not user.is_active:
            raise InvalidCredentials()
        token, raw = token_create(user=user, name=data["name"])
        token.token = raw  # shown this once; only its hash is stored
        body = NewTokenSerializer(token).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        """Revoke this token: it no longer logs in (revoking twice is harmless)."""
        token_revoke(token=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
