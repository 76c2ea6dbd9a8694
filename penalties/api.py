"""`GET /api/v1/shops/{id}/scorecard/?month=YYYY-MM` (spec 8): one shop's scorecard row for a
China month, for the shop's staff and for arbitrators; anyone else gets a 404."""

from __future__ import annotations

from dataclasses import asdict

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from core.clock import china_date
from core.idempotency import IdempotentMixin
from core.models import Shop
from core.roles import is_arbitrator

from .scorecard import FIRST_YEAR, LAST_YEAR, Grade, parse_month, penalty_kinds, scorecard


class ScorecardSerializer(serializers.Serializer):
    shop = serializers.IntegerField()
    jd_shop_id = serializers.CharField()
    shop_name = serializers.CharField()
    month = serializers.CharField(help_text="YYYY-MM, a China month")
    tickets_opened = serializers.IntegerField()
    tickets_decided = serializers.IntegerField()
    tickets_on_time = serializers.IntegerField()
    on_time_percent = serializers.FloatField(allow_null=True)
    requests_issued = serializers.IntegerField()
    median_hours_to_invoice = serializers.FloatField(allow_null=True)
    disputes_opened = serializers.IntegerField()
    disputes_lost = serializers.IntegerField()
    penalties = serializers.IntegerField()
    penalties_by_kind = serializers.DictField(
        child=serializers.IntegerField(), help_text="every penalty kind (Penalty.Kind) → count"
    )
    grade = serializers.ChoiceField(
        choices=Grade.choices, help_text="the invoice-compliance grade (not the category tier)"
    )


class ShopViewSet(IdempotentMixin, viewsets.GenericViewSet):
    """Shops, as far as the API shows them: each one's scorecard."""

    queryset = Shop.objects.none()  # for the schema; requests use get_queryset
    serializer_class = ScorecardSerializer
    filter_backends: list = []
    pagination_class = None

    def get_queryset(self) -> QuerySet[Shop]:
        user = self.request.user
        if is_arbitrator(user):
            return Shop.objects.for_arbitrator(user)
        return Shop.objects.for_merchant(user)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "month",
                OpenApiTypes.STR,
                description="YYYY-MM (China time); default: this month",
                pattern=r"^\d{4}-\d{2}$",
            )
        ],
        responses={200: ScorecardSerializer},
        examples=[
            OpenApiExample(
                "a month",
                response_only=True,
                value={
                    "shop": 3,
                    "jd_shop_id": "10001234",
                    "shop_name": "好物旗舰店",
                    "month": "2025-03",
                    "tickets_opened": 12,
                    "tickets_decided": 10,
                    "tickets_on_time": 9,
                    "on_time_percent": 90.0,
                    "requests_issued": 310,
                    "median_hours_to_invoice": 20.5,
                    "disputes_opened": 2,
                    "disputes_lost": 0,
                    "penalties": 1,
                    "penalties_by_kind": {"no_reply": 1, "false_reply": 0},
                    "grade": "fair",
                },
            )
        ],
    )
    @action(detail=True, methods=["get"])
    def scorecard(self, request: Request, pk: str | None = None) -> Response:
        """The shop's scorecard for a month: tickets answered on time, invoices, disputes,
        penalties (by kind) and its compliance grade (a month without activity is all zeros,
        grade `unrated`)."""
        shop = self.get_object()
        asked = request.query_params.get("month")
        month = parse_month(asked) if asked else china_date().replace(day=1)
        if month is None:
            message = _("Give a month as YYYY-MM, from %(first)d-01 to %(last)d-12.") % {
                "first": FIRST_YEAR,
                "last": LAST_YEAR,
            }
            raise ValidationError({"month": [message]})
        rows = scorecard(month=month, shop_ids=[shop.pk])
        if rows:
            row = asdict(rows[0])
            row["on_time_percent"] = rows[0].on_time_percent
        else:
            zeros = dict.fromkeys(
                [
                    "tickets_opened",
                    "tickets_decided",
                    "tickets_on_time",
                    "requests_issued",
                    "disputes_opened",
                    "disputes_lost",
                    "penalties",
                ],
                0,
            )
            row = {
                **zeros,
                "jd_shop_id": shop.jd_shop_id,
                "shop_name": shop.name,
                "on_time_percent": None,
                "median_hours_to_invoice": None,
                "penalties_by_kind": {kind.value: 0 for kind in penalty_kinds()},
                "grade": Grade.UNRATED,
            }
        row.pop("shop_id", None)
        body = {**row, "shop": shop.pk, "month": f"{month:%Y-%m}", "grade": str(row["grade"])}
        return Response(ScorecardSerializer(body).data)
