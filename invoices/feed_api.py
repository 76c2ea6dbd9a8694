"""The platform's order feed in the API (`POST /api/v1/platform/orders/`, spec 12): a thin view
over `invoices.feed.orders_feed`, for platform service accounts only."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import JSONParser
from core.roles import IsPlatformService

from .feed import MAX_BATCH, Outcome, orders_feed
from .models import Order


class OrderMessageSerializer(serializers.Serializer):
    """One order as the platform last saw it (documentation: `invoices.feed` checks it)."""

    number = serializers.CharField(max_length=32, help_text="The platform's order number.")
    state = serializers.ChoiceField(choices=Order.State.choices)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    returned_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="At most the amount; default 0, or the whole amount for a returned order.",
    )
    consumer = serializers.CharField(
        max_length=150,
        help_text="The consumer's login name (JD account); a new one gets an account.",
    )
    shop = serializers.CharField(max_length=32, help_text="The shop's JD shop id.")
    completed_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="Required when completed; a returned order keeps it.",
    )
    changed_at = serializers.DateTimeField(
        help_text="The platform's time of this state: only a newer one changes the order."
    )
    placed_at = serializers.DateTimeField(
        required=False, help_text="When the order was placed (default: changed_at)."
    )


class FeedResultSerializer(serializers.Serializer):
    number = serializers.CharField()
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    id = serializers.IntegerField(allow_null=True, help_text="The order's id (null if ignored).")


class FeedResponseSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    ignored = serializers.IntegerField()
    results = FeedResultSerializer(many=True)


EXAMPLE = {
    "number": "300000000001",
    "state": "completed",
    "amount": "199.00",
    "consumer": "jd_zhangsan",
    "shop": "10000001",
    "completed_at": "2026-11-30T10:00:00+08:00",
    "changed_at": "2026-11-30T10:00:00+08:00",
}


class PlatformOrderFeedViewSet(viewsets.ViewSet):
    """The platform's order feed: create or update orders by number."""

    permission_classes = [IsPlatformService]
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="platform_orders_feed",
        request=OrderMessageSerializer(many=True),
        responses={
            200: FeedResponseSerializer,
            413: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description=f"more than {MAX_BATCH} orders (code too_many_orders, the error shape)",
            ),
        },
        description=(
            f"One order (a JSON object) or a list of up to {MAX_BATCH}. Each is created, "
            "updated, or ignored when its changed_at is not newer than the order's last "
            "change (repeated and out-of-order messages change nothing). Bad input is a 400 "
            f"naming each field (`<index>.<field>`) and changes nothing; more than {MAX_BATCH} "
            "orders is a 413."
        ),
        examples=[OpenApiExample("one completed order", value=[EXAMPLE], request_only=True)],
    )
    def create(self, request: Request) -> Response:
        results = orders_feed(data=request.data)
        counts = {outcome.value: 0 for outcome in Outcome}
        for result in results:
            counts[result.outcome] += 1
        rows = [{"number": r.number, "outcome": r.outcome, "id": r.order_id} for r in results]
        return Response({**counts, "results": rows})
