"""Admin of the notifications, read-only for arbitrators: what reached whom (the inbox rows),
the shops' webhook endpoints (without their secrets) and every delivery with its tries."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy

from core.admin_mixins import ReadOnly, ReadOnlyInline
from core.changelist import FastChangeListMixin, values_filter

from .events import KINDS
from .models import Notification, WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(Notification)
class NotificationAdmin(ReadOnly, FastChangeListMixin, admin.ModelAdmin):
    list_display = ["id", "kind", "user", "shop", "created_at", "read_at"]
    ordering = ["-id"]
    list_filter = [values_filter("kind", gettext_lazy("kind"), lambda: KINDS)]
    list_select_related = ["user", "shop"]
    exclude = ["texts"]
    readonly_fields = ["subject", "body"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["id", "shop", "url", "enabled", "disabled_at", "last_success_at"]
    list_filter = ["enabled"]
    list_select_related = ["shop"]
    exclude = ["secret", "previous_secret"]


class AttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = ["at", "status_code", "error", "duration_ms"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnly, FastChangeListMixin, admin.ModelAdmin):
    list_display = ["id", "endpoint", "event_type", "state", "attempts", "next_attempt_at"]
    ordering = ["-id"]
    list_filter = ["state", values_filter("event_type", gettext_lazy("event"), lambda: KINDS)]
    list_select_related = ["endpoint"]
    inlines = [AttemptInline]
