"""Notifications (spec 10): what reaches people about the events of the outbox.

An event is a `core.OutboxMessage` (written with the change that caused it, exactly once by its
key). The outbox drain fans each event out to its recipients: a `Notification` in each one's
inbox (站内信), an e-mail as each chooses (`NotificationSettings`), and a `WebhookDelivery` to
each endpoint the shop registered (`WebhookEndpoint`), every try of which is a
`WebhookAttempt` the owner can read. Unique constraints make each of these exist once per event.
"""

from __future__ import annotations

from typing import Any, Self

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from core.scoping import ScopedQuerySet

User = settings.AUTH_USER_MODEL
RECIPIENT = "recipient"


class NotificationQuerySet(ScopedQuerySet):
    shop_path = "shop"
    consumer_path = "user"

    def for_recipient(self, user: Any) -> Self:
        """The inbox of `user`: what was addressed to them, and of a shop's events only those
        of the shops they still work for."""
        if not user.is_authenticated:
            return self.none()
        from core.models import ShopMembership

        shops = ShopMembership.objects.for_system().filter(user=user).values("shop_id")
        return self.filter(Q(shop__isnull=True) | Q(shop__in=shops), user=user)._with_scope(
            RECIPIENT
        )


class Notification(models.Model):
    """One event in one person's inbox, with its text in each language and a link."""

    event = models.ForeignKey(
        "core.OutboxMessage", on_delete=models.PROTECT, related_name="+", verbose_name=_("event")
    )
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("recipient")
    )
    # The shop whose event it is, for merchant staff (their inbox shows it while they work
    # there); null for what is addressed to a consumer.
    shop = models.ForeignKey(
        "core.Shop", on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("shop")
    )
    kind = models.CharField(_("kind"), max_length=40)
    texts = models.JSONField(_("texts"), default=dict)  # {language: {"subject", "body"}}
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="notification_once_per_user")
        ]
        indexes = [
            models.Index(fields=["user", "-id"], name="notification_inbox_idx"),
            models.Index(
                fields=["user"], name="notification_unread_idx", condition=Q(read_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.user_id}"

    def text(self, part: str) -> str:
        """The subject or body in the active language (Chinese when it has none)."""
        texts = self.texts.get(get_language() or "") or self.texts.get(settings.LANGUAGE_CODE)
        return (texts or next(iter(self.texts.values()), {})).get(part, "")

    @property
    def subject(self) -> str:
        return self.text("subject")

    @property
    def body(self) -> str:
        return self.text("body")


class NotificationSettings(models.Model):
    """What a person wants by e-mail, and in which language (the inbox gets everything)."""

    class Language(models.TextChoices):
        BOTH = "", _("Chinese first, English too")
        CHINESE = "zh-hans", "中文"
        ENGLISH = "en", "English"

    user = models.OneToOneField(
        User,
        on_delete=models.CASCADE,
        related_name="notification_settings",
        verbose_name=_("user"),
    )
    language = models.CharField(
        _("e-mail language"), max_length=8, choices=Language.choices, blank=True
    )
    # The event kinds they do not want by e-mail (still in their inbox).
    email_muted = models.JSONField(_("no e-mail for"), default=list, blank=True)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self) -> str:
        return str(self.user_id)


class EndpointQuerySet(ScopedQuerySet):
    consumer_path = None


class WebhookEndpoint(models.Model):
    """A shop's own system that receives every event of the shop as a signed POST (Standard
    Webhooks). Registered and managed by the shop's owners only."""

    shop = models.ForeignKey(
        "core.Shop", on_delete=models.CASCADE, related_name="webhooks", verbose_name=_("shop")
    )
    url = models.CharField(_("URL"), max_length=500)  # checked by webhooks.check_url
    description = models.CharField(_("description"), max_length=200, blank=True)
    secret = models.CharField(_("signing secret"), max_length=80)
    # After a rotation the old secret signs too, until this instant (the receiver's overlap).
    previous_secret = models.CharField(_("previous signing secret"), max_length=80, blank=True)
    previous_secret_until = models.DateTimeField(
        _("previous secret signs until"), null=True, blank=True
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("created by")
    )
    # The last delivery that reached it: an endpoint that has failed for a day is disabled.
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)

    objects = EndpointQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["id"]
        indexes = [models.Index(fields=["shop"], name="webhook_shop_idx")]

    def __str__(self) -> str:
        return self.url


class DeliveryQuerySet(ScopedQuerySet):
    shop_path = "endpoint__shop"
    consumer_path = None


class WebhookDelivery(models.Model):
    """One event for one endpoint: tried until it is delivered or its retries run out. The
    same event keeps the same `message_id` (the `webhook-id` header) across every try."""

    class State(models.TextChoices):
        PENDING = "pending", pgettext_lazy("webhook delivery", "pending")
        DELIVERED = "delivered", pgettext_lazy("webhook delivery", "delivered")
        FAILED = "failed", pgettext_lazy("webhook delivery", "failed")

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("webhook endpoint"),
    )
    event = models.ForeignKey(
        "core.OutboxMessage", on_delete=models.PROTECT, related_name="+", verbose_name=_("event")
    )
    message_id = models.CharField(_("webhook-id"), max_length=64)
    event_type = models.CharField(_("event"), max_length=40)
    # Deliveries for one object go in order: a later one waits while an earlier one is pending.
    object_key = models.CharField(_("object"), max_length=60)
    payload = models.JSONField(_("payload"))
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next try"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("tries"), default=0)
    # Where in the retry schedule it is (a manual re-send starts the schedule again).
    step = models.PositiveIntegerField(_("retry step"), default=0)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    last_status = models.PositiveIntegerField(_("last response code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_once_per_endpoint")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due_idx",
                condition=Q(state="pending"),
            ),
            models.Index(
                fields=["endpoint", "object_key", "id"],
                name="delivery_pending_object_idx",
                condition=Q(state="pending"),
            ),
            models.Index(fields=["endpoint", "-id"], name="delivery_endpoint_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} → {self.endpoint_id}"


class WebhookAttempt(models.Model):
    """One try of a delivery: when, the response code (or the error), how long it took."""

    delivery = models.ForeignKey(
        WebhookDelivery,
        on_delete=models.CASCADE,
        related_name="attempt_log",
        verbose_name=_("webhook delivery"),
    )
    at = models.DateTimeField(_("at"))
    status_code = models.PositiveIntegerField(_("response code"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(_("took (ms)"), default=0)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["delivery", "-at"], name="attempt_delivery_idx")]

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.at:%Y-%m-%d %H:%M:%S}"
