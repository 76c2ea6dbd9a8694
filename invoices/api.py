"""The REST API: the same services and the same scoping as the pages."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import DateTimeFilter, JSONParser, KeysFirstCursorPagination, validated
from core.auth import UploadThrottle, UserThrottle
from core.idempotency import IdempotentMixin
from core.timeline import CONSUMER, MERCHANT

from . import selectors, services
from .exchange import invoice_exchange_request
from .models import InvoiceRequest, Order
from .serializers import (
    ExchangeSerializer,
    HistoryEntrySerializer,
    InvoiceRequestCreateSerializer,
    InvoiceRequestSerializer,
    IssueSerializer,
    RefuseSerializer,
)


class InvoiceRequestFilter(filters.FilterSet):
    order_number = filters.CharFilter(field_name="order__number")
    # A number, not a choice of shops: the list is already scoped, and an unknown shop is an
    # empty list, not an error.
    shop = filters.NumberFilter(field_name="shop_id")
    requested_after = DateTimeFilter(field_name="requested_at", lookup_expr="gte")
    requested_before = DateTimeFilter(field_name="requested_at", lookup_expr="lt")

    class Meta:
        model = InvoiceRequest
        fields = [
            "state",
            "shop",
            "kind",
            "invoice_kind",
            "order_number",
            "requested_after",
            "requested_before",
        ]


class _RequestViewSet(
    IdempotentMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = InvoiceRequestSerializer
    filterset_class = InvoiceRequestFilter
    # ir_perf_shop_list_idx (shop, requested_at, id), read keys first: see the pagination.
    cursor_ordering = ("-requested_at", "-id")
    pagination_class = KeysFirstCursorPagination

    audience = MERCHANT  # who reads the history's sentences

    def scoped(self):  # the one place a subclass says who sees what
        raise NotImplementedError

    def get_queryset(self):
        return self.scoped().select_related("order", "shop")

    @extend_schema(responses=HistoryEntrySerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk: str | None = None) -> Response:
        invoice_request = self.get_object()
        entries = invoice_request.history.select_related("actor")
        context = {
            "audience": self.audience,
            "shop_name": invoice_request.shop.name,
            "user_id": request.user.pk,
        }
        return Response(HistoryEntrySerializer(entries, many=True, context=context).data)


class MerchantInvoiceRequestViewSet(_RequestViewSet):
    """Invoice requests of the shops the user works for."""

    def scoped(self):
        return InvoiceRequest.objects.for_merchant(self.request.user)

    @extend_schema(request=IssueSerializer, responses=InvoiceRequestSerializer)
    @action(
        detail=True,
        methods=["post"],
        parser_classes=[MultiPartParser, FormParser],
        throttle_classes=[UserThrottle, UploadThrottle],
    )
    def issue(self, request: Request, pk: str | None = None) -> Response:
        invoice_request = self.get_object()
        data = validated(IssueSerializer, request)
        services.invoice_request_issue(
            invoice_request=invoice_request,
            by=request.user,
            file=data["file"],
            invoice_code=data.get("invoice_code", ""),
            invoice_number=data.get("invoice_number", ""),
        )
        return Response(InvoiceRequestSerializer(invoice_request).data)

    @extend_schema(
        request=RefuseSerializer,
        responses=InvoiceRequestSerializer,
        examples=[OpenApiExample("gift", value={"reason": "赠品不开具发票"}, request_only=True)],
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser])
    def refuse(self, request: Request, pk: str | None = None) -> Response:
        invoice_request = self.get_object()
        data = validated(RefuseSerializer, request)
        services.invoice_request_refuse(
            invoice_request=invoice_request, by=request.user, reason=data["reason"]
        )
        return Response(InvoiceRequestSerializer(invoice_request).data)


class ConsumerInvoiceRequestViewSet(mixins.CreateModelMixin, _RequestViewSet):
    """The consumer's own invoice requests."""

    audience = CONSUMER

    def scoped(self):
        return InvoiceRequest.objects.for_consumer(self.request.user)

    @extend_schema(
        request=InvoiceRequestCreateSerializer,
        responses={201: InvoiceRequestSerializer},
        examples=[
            OpenApiExample(
                "a person",
                value={
                    "order": 303,
                    "title_type": "person",
                    "title": "张三",
                    "invoice_kind": "e_ordinary",
                    "email": "buyer@example.com",
                },
                request_only=True,
            ),
            OpenApiExample(
                "a company",
                value={
                    "order": 303,
                    "title_type": "company",
                    "title": "北京某某科技有限公司",
                    "tax_id": "91110108MA01ABCD2X",
                    "invoice_kind": "e_special",
                    "email": "finance@example.com",
                },
                request_only=True,
            ),
        ],
    )
    def create(self, request: Request) -> Response:
        fields = dict(validated(InvoiceRequestCreateSerializer, request))
        order = get_object_or_404(Order.objects.for_consumer(request.user), pk=fields.pop("order"))
        _previous, reissue_of = selectors.reissue_target(order)
        created = services.invoice_request_create(
            consumer=request.user, order=order, data=fields, reissue_of=reissue_of
        )
        return Response(InvoiceRequestSerializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ExchangeSerializer,
        responses={status.HTTP_201_CREATED: InvoiceRequestSerializer},
        examples=[
            OpenApiExample(
                "wrong title",
                value={
                    "exchange_reason": "wrong_title",
                    "title_type": "person",
                    "title": "李四",
                    "invoice_kind": "e_ordinary",
                    "email": "buyer@example.com",
                },
                request_only=True,
            )
        ],
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser])
    def exchange(self, request: Request, pk: str | None = None) -> Response:
        """Ask to exchange (换开) this issued invoice: 201 with the new exchange request."""
        invoice = self.get_object()
        data = validated(ExchangeSerializer, request)
        created = invoice_exchange_request(consumer=request.user, invoice=invoice, data=dict(data))
        return Response(InvoiceRequestSerializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=InvoiceRequestSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        invoice_request = self.get_object()
        services.invoice_request_cancel(invoice_request=invoice_request, by=request.user)
        return Response(InvoiceRequestSerializer(invoice_request).data)
