"""Middleware of the floor.

- Requests no page should ever see: a NUL byte anywhere a client controls (the path, the
  query, a form field or file name, a JSON body) is refused with a 400 before any view runs.
  PostgreSQL cannot store a NUL, so letting one through turns a typo into a 500.
- An htmx poll whose session ended is sent, whole page, to the login page (not the login form
  swapped into a list)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote_to_bytes, urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import resolve_url
from django.utils.translation import gettext as _

from .errors import error_body

NUL = "\x00"


def _has_nul(request: HttpRequest) -> bool:
    if NUL in request.path or b"\x00" in unquote_to_bytes(request.META.get("QUERY_STRING", "")):
        return True
    if any(NUL in key or NUL in value for key, values in request.GET.lists() for value in values):
        return True
    content_type = request.content_type or ""
    if request.method in ("POST", "PUT", "PATCH"):
        if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            fields = request.POST.lists()
            if any(NUL in k or any(NUL in v for v in vs) for k, vs in fields):
                return True
            return any(NUL in (f.name or "") for fs in request.FILES.lists() for f in fs[1])
        if "json" in content_type:
            body = request.body
            return b"\\u0000" in body or b"\x00" in body
    return False


class RejectNulBytesMiddleware:
    """A 400 in the page's language (JSON for the API) for a request carrying a NUL byte."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            message = _("The request contains a NUL character, which is never valid here.")
            if request.path.startswith("/api/"):
                return JsonResponse(error_body("nul_character", message), status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class HtmxLoginRedirectMiddleware:
    """A page that polls with htmx (the workbench, a bulk upload's progress) after the session
    ended would swap the login page into its list. Its redirect to the login page becomes an
    `HX-Redirect`, so the whole browser goes to the login page (and comes back after)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.headers.get("HX-Request") == "true"
            and response.status_code in (301, 302)
            and response.get("Location", "").startswith(resolve_url(settings.LOGIN_URL))
        ):
            login = response["Location"]
            # The login page should send the person back to the page, not to its fragment.
            current = request.headers.get("HX-Current-URL", "")
            if current:
                parts = urlsplit(current)
                back = parts.path + (f"?{parts.query}" if parts.query else "")
                login = f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': back})}"
            redirect = HttpResponse(status=204)
            redirect["HX-Redirect"] = login
            return redirect
        return response
