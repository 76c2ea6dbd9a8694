"""Writes of the notifications app: the inbox (mark read), a person's e-mail settings, and a
shop's webhook endpoints (owners only: register, rotate the secret, disable, enable, delete,
re-send a delivery). Each endpoint change is one transaction with a history entry on the shop.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict
from core.history import history_record
from core.models import HistoryEntry, Shop
from core.roles import require_shop_owner
from core.text import visible

from .events import KINDS
from .models import Notification, NotificationSettings, WebhookDelivery, WebhookEndpoint
from .webhooks import check_url, new_secret

State = WebhookDelivery.State


# --- the inbox --------------------------------------------------------------------------------


def notifications_mark_read(*, user: AbstractBaseUser, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (`ids`, or all of them); how many changed."""
    unread = Notification.objects.for_recipient(user).filter(read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


def notification_settings_of(user: AbstractBaseUser) -> NotificationSettings:
    return NotificationSettings.objects.filter(user=user).first() or NotificationSettings(user=user)


def notification_settings_save(
    *, user: AbstractBaseUser, language: str, email_kinds: list[str], offered: list[str]
) -> NotificationSettings:
    """Save what the person wants by e-mail among the `offered` kinds (the others they cannot
    receive keep their setting), and the e-mail language."""
    if language not in NotificationSettings.Language.values:
        raise ValidationError({"language": [_("Choose one of the languages offered.")]})
    unknown = sorted(set(email_kinds) - set(offered))
    if unknown:
        raise ValidationError({"email_kinds": [_("Choose among the events offered.")]})
    with transaction.atomic():
        found, _created = NotificationSettings.objects.select_for_update().get_or_create(user=user)
        kept = [k for k in found.email_muted if k not in offered and k in KINDS]
        found.email_muted = sorted(kept + [k for k in offered if k not in email_kinds])
        found.language = language
        found.save(update_fields=["email_muted", "language"])
    return found


# --- webhook endpoints --------------------------------------------------------------------------


def _record(endpoint: WebhookEndpoint, *, by: AbstractBaseUser | None, action: str, **data) -> None:
    history_record(
        request_id=None,
        subject=HistoryEntry.Subject.SHOP,
        subject_id=endpoint.shop_id,
        actor=by,
        action=action,
        data={"endpoint_id": endpoint.pk, "url": endpoint.url, **data},
    )


def webhook_register(
    *, shop: Shop, by: AbstractBaseUser, url: str, description: str = ""
) -> WebhookEndpoint:
    """The owner registers an endpoint; it gets a new secret (see it on the endpoint's page)."""
    require_shop_owner(by, shop.pk)
    errors: dict[str, list] = {}
    try:
        url = check_url(url)[0]
    except ValidationError as e:
        errors["url"] = e.messages
    if len(url) > 500:
        errors.setdefault("url", []).append(_("The URL is too long (at most 500 characters)."))
    description = visible(description)
    if len(description) > 200:
        errors["description"] = [_("At most 200 characters.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        Shop.objects.for_system().select_for_update().get(pk=shop.pk)
        existing = WebhookEndpoint.objects.for_system().filter(shop=shop)
        if existing.count() >= settings.JDPOP_WEBHOOKS_PER_SHOP:
            raise Conflict(
                "webhook_limit",
                _("A shop can register at most %(n)d endpoints.")
                % {"n": settings.JDPOP_WEBHOOKS_PER_SHOP},
            )
        endpoint = WebhookEndpoint.objects.create(
            shop=shop, url=url, description=description, secret=new_secret(), created_by=by
        )
        _record(endpoint, by=by, action="webhook_registered")
    return endpoint


def webhook_rotate_secret(*, endpoint: WebhookEndpoint, by: AbstractBaseUser) -> WebhookEndpoint:
    """A new secret signs from now on; the old one signs too for JDPOP_WEBHOOK_SECRET_OVERLAP,
    so the receiver can switch without losing a message."""
    require_shop_owner(by, endpoint.shop_id)
    now = timezone.now()
    with transaction.atomic():
        current = WebhookEndpoint.objects.for_system().select_for_update().get(pk=endpoint.pk)
        current.previous_secret = current.secret
        current.previous_secret_until = now + settings.JDPOP_WEBHOOK_SECRET_OVERLAP
        current.secret = new_secret()
        current.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
        _record(
            current,
            by=by,
            action="webhook_secret_rotated",
            old_secret_until=current.previous_secret_until.isoformat(),
        )
    return current


def webhook_set_enabled(
    *, endpoint: WebhookEndpoint, by: AbstractBaseUser, enabled: bool
) -> WebhookEndpoint:
    """The owner disables or enables an endpoint. Enabled again, it gets what waited for it."""
    require_shop_owner(by, endpoint.shop_id)
    with transaction.atomic():
        changes = (
            {"enabled": True, "disabled_at": None, "disabled_reason": ""}
            if enabled
            else {
                "enabled": False,
                "disabled_at": timezone.now(),
                "disabled_reason": _("disabled by %(user)s") % {"user": by.get_username()},
            }
        )
        changed = (
            WebhookEndpoint.objects.for_system()
            .filter(pk=endpoint.pk, enabled=not enabled)
            .update(**changes)
        )
        if changed:
            _record(endpoint, by=by, action="webhook_enabled" if enabled else "webhook_disabled")
    endpoint.refresh_from_db()
    return endpoint


def webhook_delete(*, endpoint: WebhookEndpoint, by: AbstractBaseUser) -> None:
    """The owner removes an endpoint, with its deliveries and their attempts."""
    require_shop_owner(by, endpoint.shop_id)
    with transaction.atomic():
        _record(endpoint, by=by, action="webhook_deleted")
        WebhookEndpoint.objects.for_system().filter(pk=endpoint.pk).delete()


def webhook_resend(*, delivery: WebhookDelivery, by: AbstractBaseUser) -> WebhookDelivery:
    """The owner sends a delivery again (failed or delivered): it goes with the next run, with
    the same webhook-id, and its retry schedule starts again."""
    endpoint = delivery.endpoint
    require_shop_owner(by, endpoint.shop_id)
    with transaction.atomic():
        changed = (
            WebhookDelivery.objects.for_system()
            .filter(pk=delivery.pk)
            .exclude(state=State.PENDING)
            .update(state=State.PENDING, step=0, next_attempt_at=timezone.now())
        )
        if not changed:
            raise Conflict("webhook_pending", _("This delivery is already waiting to be sent."))
        _record(
            endpoint,
            by=by,
            action="webhook_resent",
            delivery_id=delivery.pk,
            message_id=delivery.message_id,
        )
    delivery.refresh_from_db()
    return delivery


def overlap_hours() -> float:
    return settings.JDPOP_WEBHOOK_SECRET_OVERLAP / timedelta(hours=1)
