"""The dispute API: the same selectors, services and scoping as the pages (spec 9).

`consumer/disputes/` and `merchant/disputes/`: each side lists and reads its disputes, keeps
its evidence drafts (add, remove, list), submits them once; the consumer opens, accepts,
rejects and withdraws, the merchant answers. Errors are the API's one shape
(`core.errors.api_exception_handler`): a service's ValidationError a 400 with the fields, a
DomainError a 400 with its code, a Conflict a 409, a viewer's write a 403. Another consumer's
or shop's dispute is a 404.
"""

from __future__ import annotations

from dataclasses import asdict

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import CursorPagination, DateTimeFilter, JSONParser, validated
from core.auth import UploadThrottle, UserThrottle
from core.idempotency import IdempotentMixin
from invoices.models import InvoiceRequest

from . import selectors, services
from .models import Dispute, Evidence
from .plans import PLAN_RULES, Plan
from .serializers import (
    DisputeAnswerSerializer,
    DisputeOpenSerializer,
    DisputeRejectSerializer,
    DisputeSerializer,
    PlanRequirementSerializer,
)

CONSUMER, MERCHANT = Evidence.Party.CONSUMER, Evidence.Party.MERCHANT


class DisputeFilter(filters.FilterSet):
    opened_after = DateTimeFilter(field_name="opened_at", lookup_expr="gte")
    opened_before = DateTimeFilter(field_name="opened_at", lookup_expr="lt")
    # A number, not a choice of shops: the list is already scoped.
    shop = filters.NumberFilter(field_name="shop_id")
    open = filters.BooleanFilter(method="filter_open", label="open (true) or closed (false)")

    class Meta:
        model = Dispute
        fields = ["state", "kind", "shop", "opened_after", "opened_before", "open"]

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        closed = Dispute.State.CLOSED
        return queryset.exclude(state=closed) if value else queryset.filter(state=closed)


class EvidenceSerializer(serializers.ModelSerializer):
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = Evidence
        fields = ["id", "party", "text", "file_name", "content_type", "file_url"]
        fields += ["created_at", "submitted_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_file_url(self, obj: Evidence) -> str | None:
        return reverse("dispute-evidence-file", args=[obj.pk]) if obj.file else None


class EvidenceAddSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, required=False, default="", max_length=4000)
    file = serializers.FileField(required=False, allow_null=True, default=None)


class SubmittedSerializer(serializers.Serializer):
    submitted = serializers.IntegerField(help_text="how many pieces of evidence were submitted")


class DisputeWithdrawSerializer(serializers.Serializer):
    note = serializers.CharField(allow_blank=True, required=False, default="", max_length=2000)


class EvidencePagination(CursorPagination):
    def get_ordering(self, request, queryset, view):
        return ("created_at", "id")


class _DisputeViewSet(
    IdempotentMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = DisputeSerializer
    queryset = Dispute.objects.none()  # for the schema; requests use get_queryset
    filterset_class = DisputeFilter
    cursor_ordering = ("-opened_at", "-id")
    side = CONSUMER

    def _fresh(self, dispute: Dispute) -> Response:
        return Response(DisputeSerializer(self.get_queryset().get(pk=dispute.pk)).data)

    def filter_queryset(self, queryset):
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def _evidence(self, dispute: Dispute):
        return selectors.evidence_for(self.side, user=self.request.user, dispute=dispute)

    @extend_schema(responses=EvidenceSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=EvidencePagination)
    def evidence(self, request: Request, pk: str | None = None) -> Response:
        """The evidence this side may see: its own drafts and everything either side
        submitted, oldest first."""
        dispute = self.get_object()
        page = self.paginate_queryset(self._evidence(dispute))
        return self.get_paginated_response(EvidenceSerializer(page, many=True).data)

    @extend_schema(
        request={
            "multipart/form-data": EvidenceAddSerializer,
            "application/json": EvidenceAddSerializer,
        },
        responses={201: EvidenceSerializer},
        examples=[
            OpenApiExample(
                "a note", value={"text": "聊天记录：商家承诺3月15日前开票"}, request_only=True
            )
        ],
    )
    @evidence.mapping.post
    def evidence_add(self, request: Request, pk: str | None = None) -> Response:
        """Add a draft: text and/or a file (PDF, OFD or image), until this side submits."""
        dispute = self.get_object()
        data = validated(EvidenceAddSerializer, request)
        evidence = services.dispute_evidence_add(
            dispute=dispute, by=request.user, text=data["text"], file=data["file"]
        )
        return Response(EvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"evidence/(?P<evidence_pk>[0-9]+)")
    def evidence_remove(
        self, request: Request, pk: str | None = None, evidence_pk: str | None = None
    ) -> Response:
        """Remove one of this side's drafts (submitted evidence stays: 409)."""
        dispute = self.get_object()
        visible = self._evidence(dispute).select_related("dispute")
        evidence = get_object_or_404(visible, pk=evidence_pk)
        services.dispute_evidence_remove(evidence=evidence, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: SubmittedSerializer})
    @action(detail=True, methods=["post"], url_path="submit-evidence")
    def submit_evidence(self, request: Request, pk: str | None = None) -> Response:
        """Submit this side's drafts, once and for good (409 the second time)."""
        dispute = self.get_object()
        count = services.dispute_evidence_submit(dispute=dispute, by=request.user)
        return Response({"submitted": count})

    def get_parsers(self):
        if getattr(self, "action", None) == "evidence_add":
            return [JSONParser(), MultiPartParser(), FormParser()]
        return super().get_parsers()

    def get_throttles(self):
        if getattr(self, "action", None) == "evidence_add":
            return [UserThrottle(), UploadThrottle()]
        return super().get_throttles()


class ConsumerDisputeViewSet(mixins.CreateModelMixin, _DisputeViewSet):
    """The consumer's own disputes, newest first: open one, accept or reject the shop's plan,
    keep and submit evidence, withdraw."""

    side = CONSUMER

    def get_queryset(self):
        return selectors.disputes_for_consumer(user=self.request.user)

    @extend_schema(
        request=DisputeOpenSerializer,
        responses={201: DisputeSerializer},
        examples=[
            OpenApiExample(
                "refused",
                value={"request": 42, "kind": "refused", "complaint": "商家拒绝开票"},
                request_only=True,
            )
        ],
    )
    def create(self, request: Request) -> Response:
        """Open a dispute of `kind` on one of your invoice requests."""
        data = validated(DisputeOpenSerializer, request)
        invoice_request = get_object_or_404(
            InvoiceRequest.objects.for_consumer(request.user).select_related("shop"),
            pk=data["request"],
        )
        dispute = services.dispute_open(
            request=invoice_request,
            by=request.user,
            kind=data["kind"],
            complaint=data["complaint"],
        )
        return Response(
            DisputeSerializer(self.get_queryset().get(pk=dispute.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=None, responses=DisputeSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        """Accept the shop's settlement plan: the dispute is closed, settled."""
        dispute = self.get_object()
        services.dispute_accept(dispute=dispute, by=request.user)
        return self._fresh(dispute)

    @extend_schema(request=DisputeRejectSerializer, responses=DisputeSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        """Reject the plan, saying why (`note`): the platform judges."""
        dispute = self.get_object()
        data = validated(DisputeRejectSerializer, request)
        services.dispute_reject(dispute=dispute, by=request.user, note=data["note"])
        return self._fresh(dispute)

    @extend_schema(request=DisputeWithdrawSerializer, responses=DisputeSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        """Withdraw an open dispute (closed, withdrawn; 409 once closed)."""
        dispute = self.get_object()
        data = validated(DisputeWithdrawSerializer, request)
        services.dispute_withdraw(dispute=dispute, by=request.user, note=data["note"])
        return self._fresh(dispute)

    @extend_schema(request=None, responses=DisputeSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk: str | None = None) -> Response:
        """Send a settled dispute whose agreed issue date passed without an invoice
        (`promise_state` broken) to the platform, once (409 otherwise)."""
        dispute = self.get_object()
        services.dispute_reopen(dispute=dispute, by=request.user)
        return self._fresh(dispute)


class MerchantDisputeViewSet(_DisputeViewSet):
    """Disputes of the user's shops, newest first (`?open=true`: open only; `state`, `kind`,
    `shop`, `opened_after`, `opened_before`)."""

    side = MERCHANT

    def get_queryset(self):
        return selectors.disputes_for_merchant(user=self.request.user).order_by("-opened_at", "-id")

    @extend_schema(
        request=DisputeAnswerSerializer,
        responses=DisputeSerializer,
        examples=[
            OpenApiExample(
                "cannot issue", value={"plan": "cannot_issue", "note": "赠品"}, request_only=True
            )
        ],
    )
    @action(detail=True, methods=["post"])
    def answer(self, request: Request, pk: str | None = None) -> Response:
        """Answer a refused-invoice dispute with one of the five plans (final)."""
        dispute = self.get_object()
        data = validated(DisputeAnswerSerializer, request)
        services.dispute_answer(
            dispute=dispute,
            by=request.user,
            plan=data["plan"],
            plan_date=data["plan_date"],
            note=data["note"],
        )
        return self._fresh(dispute)

    @extend_schema(responses={200: PlanRequirementSerializer(many=True)})
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def plans(self, request: Request) -> Response:
        """What each of the five plans requires (date, note, evidence, an issued invoice)."""
        labels = dict(Plan.choices)
        rows = [
            {
                "plan": str(plan),
                "label": str(labels[plan]),
                **asdict(rule),
            }
            for plan, rule in PLAN_RULES.items()
        ]
        return Response(PlanRequirementSerializer(rows, many=True).data)
