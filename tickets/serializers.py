"""API shapes for urge tickets: input is shaped here, the rules stay in `tickets.services`."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from core.api import BlankChoices

from .models import TicketReply, UrgeTicket
from .rules import seconds_left


class TicketReplySerializer(BlankChoices, serializers.ModelSerializer):
    by = serializers.CharField(source="by.get_username", default=None, read_only=True)
    attachment_url = serializers.SerializerMethodField()

    class Meta:
        model = TicketReply
        fields = ["id", "at", "by", "resolution", "note", "promised_date", "late", "attachment_url"]
        read_only_fields = fields

    def get_attachment_url(self, obj: TicketReply) -> str | None:
        if not obj.attachment:
            return None
        return reverse("ticket-reply-attachment", args=[obj.pk])


class UrgeTicketSerializer(BlankChoices, serializers.ModelSerializer):
    """A ticket as a list row: its request, deadline and outcome."""

    request = serializers.IntegerField(source="request_id", read_only=True)
    order_number = serializers.CharField(source="request.order.number", read_only=True)
    shop_name = serializers.CharField(source="shop.name", read_only=True)
    seconds_left = serializers.SerializerMethodField()

    class Meta:
        model = UrgeTicket
        fields = [
            "id",
            "request",
            "order_number",
            "shop",
            "shop_name",
            "state",
            "opened_at",
            "opened_via",
            "reply_due_at",
            "seconds_left",
            "urge_count",
            "last_urged_at",
            "sla",
            "answered_at",
            "resolution",
            "resolution_note",
            "promised_date",
            "promise_state",
        ]
        read_only_fields = fields

    def get_seconds_left(self, obj: UrgeTicket) -> int | None:
        """Seconds until the reply deadline; negative once it passed; null once answered."""
        return seconds_left(obj, self.context.get("now") or timezone.now())


class UrgeTicketDetailSerializer(UrgeTicketSerializer):
    """A ticket with every reply the merchant sent, oldest first."""

    replies = TicketReplySerializer(many=True, read_only=True)

    class Meta(UrgeTicketSerializer.Meta):
        fields = [*UrgeTicketSerializer.Meta.fields, "replies"]
        read_only_fields = fields


class TicketReplyInputSerializer(serializers.Serializer):
    """A merchant's reply: one of the four resolutions and what it requires (spec 4.3)."""

    resolution = serializers.ChoiceField(choices=UrgeTicket.Resolution.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    promised_date = serializers.DateField(required=False, allow_null=True, default=None)
    attachment = serializers.FileField(required=False, allow_null=True, default=None)


class ReplyRequirementSerializer(serializers.Serializer):
    """What one resolution requires before it can be sent."""

    value = serializers.ChoiceField(choices=UrgeTicket.Resolution.choices)
    label = serializers.CharField()
    note = serializers.BooleanField()
    date = serializers.BooleanField()
    attachment = serializers.BooleanField()
    uploaded_invoice = serializers.BooleanField()
