"""The urge-ticket API: the same services and the same scoping as the pages.

Errors go through `core.errors.api_exception_handler`: a service's ValidationError is a 400
with the fields, a DomainError a 400 with its code, a Conflict a 409, a viewer's reply a 403.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import DateTimeFilter, JSONParser, KeysFirstCursorPagination, validated
from core.auth import UploadThrottle, UrgeThrottle, UserThrottle
from core.idempotency import IdempotentMixin
from invoices.models import InvoiceRequest

from . import services
from .forms import reply_requirement_rows
from .models import UrgeTicket
from .selectors import TicketFilter, consumer_tickets, merchant_tickets, with_replies
from .serializers import (
    ReplyRequirementSerializer,
    TicketReplyInputSerializer,
    UrgeTicketDetailSerializer,
    UrgeTicketSerializer,
)


class TicketApiFilter(TicketFilter):
    """The workbench filter, and when the ticket was opened."""

    opened_after = DateTimeFilter(field_name="opened_at", lookup_expr="gte")
    opened_before = DateTimeFilter(field_name="opened_at", lookup_expr="lt")

    class Meta(TicketFilter.Meta):
        fields = [*TicketFilter.Meta.fields, "opened_after", "opened_before"]


class _TicketViewSet(
    IdempotentMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    filterset_class = TicketApiFilter
    # Soonest deadline first: ticket_perf_shop_list_idx (shop, state, reply_due_at, id), read
    # keys first (see the pagination).
    cursor_ordering = ("reply_due_at", "id")
    pagination_class = KeysFirstCursorPagination
    queryset = UrgeTicket.objects.none()  # for the schema; requests use scoped()

    def scoped(self):  # the one place a subclass says who sees what
        raise NotImplementedError

    def get_queryset(self):
        qs = self.scoped()
        return qs if self.action == "list" else with_replies(qs)

    def filter_queryset(self, queryset):
        # The workbench filter (open tickets by default) is for the list only: a single ticket
        # is found whatever its state.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def get_serializer_class(self):
        return UrgeTicketSerializer if self.action == "list" else UrgeTicketDetailSerializer

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "now": timezone.now()}


class MerchantTicketViewSet(_TicketViewSet):
    """Urge tickets of the user's shops, most urgent first (`?state=open` by default)."""

    def scoped(self):
        return merchant_tickets(self.request.user)

    @extend_schema(
        request={
            "multipart/form-data": TicketReplyInputSerializer,
            "application/json": TicketReplyInputSerializer,
        },
        responses={201: UrgeTicketDetailSerializer},
        examples=[
            OpenApiExample(
                "a date agreed",
                value={
                    "resolution": "date_agreed",
                    "note": "已与顾客协商，3月15日前开具",
                    "promised_date": "2025-03-15",
                },
                request_only=True,
            ),
            OpenApiExample(
                "cannot issue",
                value={"resolution": "cannot_issue", "note": "赠品，无法开票"},
                request_only=True,
            ),
        ],
    )
    @action(
        detail=True,
        methods=["post"],
        parser_classes=[JSONParser, MultiPartParser, FormParser],
        throttle_classes=[UserThrottle, UploadThrottle],
    )
    def reply(self, request: Request, pk: str | None = None) -> Response:
        """Send a reply (final; a correction is a new reply)."""
        ticket = self.get_object()
        data = validated(TicketReplyInputSerializer, request)
        services.ticket_reply(
            ticket=ticket,
            by=request.user,
            resolution=data["resolution"],
            note=data.get("note") or "",
            promised_date=data.get("promised_date"),
            attachment=data.get("attachment"),
        )
        ticket = self.get_object()
        return Response(
            UrgeTicketDetailSerializer(ticket, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(responses={200: ReplyRequirementSerializer(many=True)})
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def requirements(self, request: Request) -> Response:
        """What each resolution requires (note, date, attachment, uploaded invoice)."""
        return Response(ReplyRequirementSerializer(reply_requirement_rows(), many=True).data)


class ConsumerTicketViewSet(_TicketViewSet):
    """Urge tickets on the consumer's own invoice requests."""

    def scoped(self):
        return consumer_tickets(self.request.user)


class ConsumerUrgeViewSet(IdempotentMixin, viewsets.GenericViewSet):
    """催开票 on one of the consumer's invoice requests (spec 4.2)."""

    queryset = InvoiceRequest.objects.none()  # for the schema; requests use get_queryset
    serializer_class = UrgeTicketDetailSerializer

    def get_queryset(self):
        return InvoiceRequest.objects.for_consumer(self.request.user).select_related("shop")

    @extend_schema(
        request=None,
        responses={
            201: OpenApiResponse(UrgeTicketDetailSerializer, description="ticket opened"),
            200: OpenApiResponse(UrgeTicketDetailSerializer, description="urge recorded"),
        },
    )
    @action(detail=True, methods=["post"], throttle_classes=[UserThrottle, UrgeThrottle])
    def urge(self, request: Request, pk: str | None = None) -> Response:
        """Open the request's urge ticket, or record one more urge (the deadline stays)."""
        invoice_request = self.get_object()
        had_ticket = hasattr(invoice_request, "urge_ticket")
        ticket = services.ticket_urge(invoice_request=invoice_request, by=request.user)
        ticket = with_replies(consumer_tickets(request.user)).get(pk=ticket.pk)
        return Response(
            UrgeTicketDetailSerializer(ticket, context={"now": timezone.now()}).data,
            status=status.HTTP_200_OK if had_ticket else status.HTTP_201_CREATED,
        )
