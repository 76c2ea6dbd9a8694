"""API shapes for invoice requests: input is shaped here, rules stay in the services."""

from django.utils import timezone
from rest_framework import serializers

from core.api import BlankChoices
from core.models import HistoryEntry
from core.timeline import CONSUMER, MERCHANT, sentence

from .models import InvoiceRequest
from .overdue import is_overdue


class HistoryEntrySerializer(BlankChoices, serializers.ModelSerializer):
    """One history entry: its sentence for the reader (context `audience`, `shop_name`), and its
    codes. A consumer is not shown the login of the shop's staff (`actor` is then null)."""

    actor = serializers.SerializerMethodField()
    sentence = serializers.SerializerMethodField()

    def get_actor(self, entry: HistoryEntry) -> str | None:
        if entry.actor_id is None:
            return None
        if self.context.get("audience") == CONSUMER and entry.actor_id != self.context.get(
            "user_id"
        ):
            return None
        return entry.actor.get_username()

    def get_sentence(self, entry: HistoryEntry) -> str:
        return sentence(
            entry,
            audience=self.context.get("audience", MERCHANT),
            shop_name=self.context.get("shop_name", ""),
        )

    class Meta:
        model = HistoryEntry
        fields = [
            "at",
            "subject",
            "subject_id",
            "action",
            "state_from",
            "state_to",
            "actor",
            "sentence",
            "data",
        ]


class InvoiceRequestSerializer(BlankChoices, serializers.ModelSerializer):
    order_number = serializers.CharField(source="order.number", read_only=True)
    shop_name = serializers.CharField(source="shop.name", read_only=True)
    is_overdue = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = InvoiceRequest
        fields = [
            "id",
            "order",
            "order_number",
            "shop",
            "shop_name",
            "kind",
            "reissue_of",
            "exchange_reason",
            "exchange_note",
            "replaced_at",
            "title_type",
            "title",
            "tax_id",
            "tax_id_warning",
            "invoice_kind",
            "email",
            "registered_address",
            "registered_phone",
            "bank_name",
            "bank_account",
            "state",
            "requested_at",
            "overdue_at",
            "is_overdue",
            "issued_at",
            "invoice_code",
            "invoice_number",
            "download_url",
            "refused_at",
            "refuse_reason",
            "cancelled_at",
        ]
        read_only_fields = fields

    def get_is_overdue(self, obj: InvoiceRequest) -> bool:
        return is_overdue(obj, self.context.get("now") or timezone.now())

    def get_download_url(self, obj: InvoiceRequest) -> str | None:
        if obj.state != InvoiceRequest.State.ISSUED:
            return None
        from django.urls import reverse

        return reverse("invoice-download", args=[obj.pk])


class InvoiceRequestCreateSerializer(serializers.Serializer):
    """A consumer's request: the order, and the invoice details of spec 3."""

    order = serializers.IntegerField()
    title_type = serializers.ChoiceField(choices=InvoiceRequest.TitleType.choices)
    title = serializers.CharField(max_length=200)
    tax_id = serializers.CharField(max_length=20, required=False, allow_blank=True)
    invoice_kind = serializers.ChoiceField(choices=InvoiceRequest.InvoiceKind.choices)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    registered_address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    registered_phone = serializers.CharField(max_length=32, required=False, allow_blank=True)
    bank_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    bank_account = serializers.CharField(max_length=40, required=False, allow_blank=True)


class ExchangeSerializer(InvoiceRequestCreateSerializer):
    """A consumer's exchange (换开) of an issued invoice: why, and the corrected details."""

    order = None  # the invoice being exchanged says which order
    exchange_reason = serializers.ChoiceField(choices=InvoiceRequest.ExchangeReason.choices)
    exchange_note = serializers.CharField(required=False, allow_blank=True)


class IssueSerializer(serializers.Serializer):
    invoice_code = serializers.CharField(max_length=12, required=False, allow_blank=True)
    # Empty: the number read from the file.
    invoice_number = serializers.CharField(max_length=20, required=False, allow_blank=True)
    file = serializers.FileField()


class RefuseSerializer(serializers.Serializer):
    reason = serializers.CharField()
