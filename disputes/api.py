"""The dispute API: the same selectors, services and scoping as the pages (spec 9).

Errors go through `core.errors.api_exception_handler`: a service's ValidationError is a 400
with the fields, a DomainError a 400 with its code, a Conflict a 409, a viewer's answer a 403.
Another consumer's or shop's dispute is a 404.
"""

from __future__ import annotations

from dataclasses import asdict

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import validated
from invoices.models import InvoiceRequest

from . import selectors, services
from .models import Dispute
from .plans import PLAN_RULES, Plan
from .serializers import (
    DisputeAnswerSerializer,
    DisputeOpenSerializer,
    DisputeRejectSerializer,
    DisputeSerializer,
    PlanRequirementSerializer,
)


class _DisputeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = DisputeSerializer
    queryset = Dispute.objects.none()  # for the schema; requests use get_queryset
    filter_backends: list = []

    def _fresh(self, dispute: Dispute) -> Response:
        return Response(DisputeSerializer(self.get_queryset().get(pk=dispute.pk)).data)


class ConsumerDisputeViewSet(mixins.CreateModelMixin, _DisputeViewSet):
    """The consumer's own disputes: open one, accept or reject the shop's plan."""

    def get_queryset(self):
        return selectors.disputes_for_consumer(user=self.request.user)

    @extend_schema(request=DisputeOpenSerializer, responses={201: DisputeSerializer})
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


class MerchantDisputeViewSet(_DisputeViewSet):
    """Disputes of the user's shops, open ones first by deadline (`?open=1`: open only)."""

    def get_queryset(self):
        open_only = self.request.query_params.get("open") == "1"
        return selectors.disputes_for_merchant(user=self.request.user, open_only=open_only)

    @extend_schema(request=DisputeAnswerSerializer, responses=DisputeSerializer)
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
    @action(detail=False, methods=["get"], pagination_class=None)
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
