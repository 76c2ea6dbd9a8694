"""API shapes for disputes: input is shaped here, the rules stay in `disputes.services`."""

from __future__ import annotations

from rest_framework import serializers

from core.api import BlankChoices

from .models import Dispute
from .plans import Plan
from .selectors import dispute_progress


class DisputeSerializer(BlankChoices, serializers.ModelSerializer):
    """A dispute as both sides see it: its progress (whose move, the deadline in force) and,
    once judged, the verdict and the written reason."""

    request = serializers.IntegerField(source="request_id", read_only=True)
    order_number = serializers.CharField(source="request.order.number", read_only=True)
    shop_name = serializers.CharField(source="shop.name", read_only=True)
    whose_move = serializers.CharField(read_only=True)
    deadline = serializers.DateTimeField(read_only=True, allow_null=True)
    state_label = serializers.SerializerMethodField()
    whose_move_label = serializers.SerializerMethodField()

    class Meta:
        model = Dispute
        fields = [
            "id",
            "request",
            "order_number",
            "shop",
            "shop_name",
            "kind",
            "state",
            "state_label",
            "whose_move",
            "whose_move_label",
            "deadline",
            "old_flow",
            "complaint",
            "opened_at",
            "merchant_due_at",
            "plan",
            "plan_date",
            "plan_note",
            "answered_at",
            "promise_due_at",
            "promise_state",
            "promise_broken_at",
            "reopened_at",
            "consumer_due_at",
            "consumer_note",
            "consumer_decided_at",
            "verdict",
            "reason_code",
            "reason",
            "judged_at",
            "outcome",
            "closed_at",
        ]
        read_only_fields = fields

    def get_state_label(self, obj: Dispute) -> str:
        return dispute_progress(obj).state_label

    def get_whose_move_label(self, obj: Dispute) -> str:
        return dispute_progress(obj).whose_move_label


class DisputeOpenSerializer(serializers.Serializer):
    request = serializers.IntegerField(help_text="id of one of your invoice requests")
    kind = serializers.ChoiceField(choices=Dispute.Kind.choices)
    complaint = serializers.CharField(allow_blank=True, trim_whitespace=False)


class DisputeRejectSerializer(serializers.Serializer):
    note = serializers.CharField(allow_blank=True, required=False, default="")


class DisputeAnswerSerializer(serializers.Serializer):
    plan = serializers.ChoiceField(choices=Plan.choices)
    plan_date = serializers.DateField(required=False, allow_null=True, default=None)
    note = serializers.CharField(allow_blank=True, required=False, default="")


class PlanRequirementSerializer(serializers.Serializer):
    plan = serializers.CharField()
    label = serializers.CharField()
    settlement = serializers.BooleanField()
    needs_date = serializers.BooleanField()
    needs_note = serializers.BooleanField()
    needs_evidence = serializers.BooleanField()
    needs_issued_invoice = serializers.BooleanField()
