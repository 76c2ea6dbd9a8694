"""The unread count in the top bar of every page (one indexed count per page)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .models import Notification


def inbox(request: HttpRequest) -> dict:
    """`inbox_unread`: the signed-in person's unread notifications, counted only if the page
    shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "inbox_unread": SimpleLazyObject(
            lambda: Notification.objects.for_recipient(user).filter(read_at__isnull=True).count()
        )
    }
