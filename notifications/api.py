"""The inbox (站内信) on the API: the signed-in person's notifications, the unread count, and
marking them read. The same services and scope (`for_recipient`) as the pages."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import DateTimeFilter
from core.idempotency import IdempotentMixin

from . import services
from .models import Notification
from .serializers import MarkedSerializer, NotificationSerializer, UnreadCountSerializer


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(
        field_name="read_at", lookup_expr="isnull", label="only unread (true) or read (false)"
    )

    created_after = DateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = DateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Notification
        fields = ["unread", "kind", "created_after", "created_before"]


class NotificationViewSet(
    IdempotentMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The signed-in person's notifications, newest first (`?unread=true`: only unread)."""

    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    queryset = Notification.objects.none()  # for the schema; requests use for_recipient
    cursor_ordering = ("-id",)  # notification_inbox_idx

    def get_queryset(self):
        return Notification.objects.for_recipient(self.request.user).order_by("-id")

    @extend_schema(request=None, responses={200: MarkedSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        """Mark this notification read."""
        item = self.get_object()
        n = services.notifications_mark_read(user=request.user, ids=[item.pk])
        return Response({"marked": n})

    @extend_schema(request=None, responses={200: MarkedSerializer})
    @action(detail=False, methods=["post"], url_path="read-all", filter_backends=[])
    def read_all(self, request: Request) -> Response:
        """Mark every notification read."""
        return Response({"marked": services.notifications_mark_read(user=request.user)})

    @extend_schema(responses={200: UnreadCountSerializer})
    @action(
        detail=False,
        methods=["get"],
        url_path="unread-count",
        filter_backends=[],
        pagination_class=None,
    )
    def unread_count(self, request: Request) -> Response:
        """How many are unread (the badge in the top bar)."""
        count = self.get_queryset().filter(read_at__isnull=True).count()
        return Response({"unread": count})
