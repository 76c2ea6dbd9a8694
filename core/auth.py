"""Guessing passwords (issue 8): repeated failed logins lock out the account and the address
(django-axes, for the login page, the admin and HTTP Basic alike), and requests are throttled:
every API caller, and the consumer's urge and every upload on the pages too.

The rates are settings (`JDPOP_THROTTLE_RATES`), read when a request comes, so that tests and
operators can change them without a restart of the code that reads them. They count in the
cache: locally in memory, shared in Redis in production (`CACHE_URL`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from .api import LockedOut
from .errors import error_body


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """What a locked-out login gets (AXES_LOCKOUT_CALLABLE): a 429 in the page's language, as
    JSON for the API."""
    locked = LockedOut()
    if request.path.startswith("/api/"):
        return JsonResponse(error_body(locked.code, locked.message), status=429)
    context = {"message": locked.message}
    return render(request, "registration/locked_out.html", context, status=429)


class SettingsRate:
    """A DRF throttle whose rate is `settings.JDPOP_THROTTLE_RATES[scope]`, read each time."""

    scope: str

    def get_rate(self) -> str | None:
        return settings.JDPOP_THROTTLE_RATES.get(self.scope)


class AnonThrottle(SettingsRate, AnonRateThrottle):
    """Anonymous API callers, by address."""


class UserThrottle(SettingsRate, UserRateThrottle):
    """Logged-in API callers, by user."""


class ScopedThrottle(SettingsRate, SimpleRateThrottle):
    """One kind of action (`scope`), by user (or address when anonymous)."""

    def get_cache_key(self, request: Any, view: Any) -> str:
        user = getattr(request, "user", None)
        ident = user.pk if user is not None and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class UrgeThrottle(ScopedThrottle):
    scope = "urge"


class UploadThrottle(ScopedThrottle):
    scope = "upload"


def throttled(throttle_class: type[ScopedThrottle]) -> Callable:
    """For a page view: past the rate of `throttle_class`, a 429 page in the page's language."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            throttle = throttle_class()
            if not throttle.allow_request(request, None):
                wait = int(throttle.wait() or 1)
                message = _("Too many requests. Try again in %(seconds)d seconds.") % {
                    "seconds": wait
                }
                response = HttpResponse(message, status=429, content_type="text/plain")
                response["Retry-After"] = str(wait)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
