"""The notification pages: the inbox (站内信) and e-mail settings of every signed-in person, and
a shop's webhook endpoints, which only its owners see (the secret is on them)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from core.models import Shop, ShopMembership
from core.pages import form_post, paginate, press

from . import services
from .events import kinds_for
from .forms import EndpointForm, SettingsForm
from .models import Notification, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .services import overlap_hours

OWNER = ShopMembership.Role.OWNER


# --- the inbox --------------------------------------------------------------------------------


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    """The person's notifications, newest first (?unread=1: only the unread)."""
    items = Notification.objects.for_recipient(request.user)
    unread_only = request.GET.get("unread") == "1"
    if unread_only:
        items = items.filter(read_at__isnull=True)
    page = paginate(request, items.order_by("-id"))
    return render(request, "notifications/inbox.html", {"page": page, "unread_only": unread_only})


@login_required
@require_POST
def inbox_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a notification read and go to what it is about."""
    item = get_object_or_404(Notification.objects.for_recipient(request.user), pk=pk)
    services.notifications_mark_read(user=request.user, ids=[item.pk])
    safe = url_has_allowed_host_and_scheme(item.link, allowed_hosts={request.get_host()})
    return redirect(item.link if item.link and safe else "inbox")


@login_required
@require_POST
def inbox_read_all(request: HttpRequest) -> HttpResponse:
    n = services.notifications_mark_read(user=request.user)
    text = ngettext("Marked %(n)d notification read.", "Marked %(n)d notifications read.", n) % {
        "n": n
    }
    messages.success(request, text)
    return redirect("inbox")


def _kinds_offered(request: HttpRequest) -> list:
    roles = set(
        ShopMembership.objects.for_system().filter(user=request.user).values_list("role", flat=True)
    )
    return kinds_for(merchant=bool(roles), owner=OWNER in roles, consumer=not roles)


@login_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    """What the person wants by e-mail (everything is in the inbox anyway), and in which
    language."""
    kinds = _kinds_offered(request)
    offered = [k.name for k in kinds]
    current = services.notification_settings_of(request.user)
    initial = {
        "language": current.language,
        "email_kinds": [k for k in offered if k not in current.email_muted],
    }
    context = {"has_email": bool(request.user.email)}
    if request.method != "POST":
        form = SettingsForm(initial=initial, kinds=kinds)
        return render(request, "notifications/settings.html", {**context, "form": form})
    form = SettingsForm(request.POST, kinds=kinds)
    return form_post(
        request,
        form,
        lambda data: services.notification_settings_save(
            user=request.user,
            language=data["language"],
            email_kinds=data["email_kinds"],
            offered=offered,
        ),
        success=_("Your notification settings were saved."),
        done=reverse("notification-settings"),
        failed=lambda status: render(
            request, "notifications/settings.html", {**context, "form": form}, status=status
        ),
    )


# --- a shop's webhooks: its owners only -------------------------------------------------------


def _owned_shop(request: HttpRequest, pk: int) -> Shop:
    """The shop, if the user owns it; a 404 for everyone else (the secrets are on these
    pages)."""
    return get_object_or_404(Shop.objects.for_merchant(request.user, roles=(OWNER,)), pk=pk)


def _endpoint(request: HttpRequest, pk: int, endpoint_pk: int) -> WebhookEndpoint:
    shop = _owned_shop(request, pk)
    return get_object_or_404(
        WebhookEndpoint.objects.for_merchant(request.user, roles=(OWNER,)).filter(shop=shop),
        pk=endpoint_pk,
    )


def _render_webhooks(request: HttpRequest, shop: Shop, form: EndpointForm, status: int = 200):
    endpoints = WebhookEndpoint.objects.for_merchant(request.user, roles=(OWNER,)).filter(shop=shop)
    context = {"shop": shop, "endpoints": endpoints, "form": form}
    return render(request, "notifications/webhooks.html", context, status=status)


@login_required
def webhooks(request: HttpRequest, pk: int) -> HttpResponse:
    """The shop's endpoints; its owner registers one here."""
    shop = _owned_shop(request, pk)
    if request.method != "POST":
        return _render_webhooks(request, shop, EndpointForm())
    form = EndpointForm(request.POST)
    return form_post(
        request,
        form,
        lambda data: services.webhook_register(
            shop=shop, by=request.user, url=data["url"], description=data["description"]
        ),
        success=_("The endpoint was registered. Give its signing secret to your system."),
        done=lambda endpoint: reverse("webhook-detail", args=[pk, endpoint.pk]),
        failed=lambda status: _render_webhooks(request, shop, form, status=status),
    )


@login_required
def webhook_detail(request: HttpRequest, pk: int, endpoint_pk: int) -> HttpResponse:
    """An endpoint: its secret, and every delivery with every try (status, response code,
    time), newest first."""
    endpoint = _endpoint(request, pk, endpoint_pk)
    deliveries = (
        WebhookDelivery.objects.for_merchant(request.user, roles=(OWNER,))
        .filter(endpoint=endpoint)
        .order_by("-id")
        .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("-at")))
    )
    context = {
        "shop": endpoint.shop,
        "endpoint": endpoint,
        "page": paginate(request, deliveries),
        "overlap_hours": f"{overlap_hours():g}",
    }
    return render(request, "notifications/webhook_detail.html", context)


def _endpoint_action(request: HttpRequest, pk: int, endpoint_pk: int, action, success: str):
    endpoint = _endpoint(request, pk, endpoint_pk)
    press(request, lambda: action(endpoint), success)
    return redirect("webhook-detail", pk, endpoint_pk)


@login_required
@require_POST
def webhook_rotate(request: HttpRequest, pk: int, endpoint_pk: int) -> HttpResponse:
    return _endpoint_action(
        request,
        pk,
        endpoint_pk,
        lambda e: services.webhook_rotate_secret(endpoint=e, by=request.user),
        _("A new secret signs from now on; the old one also signs for %(hours)s hours.")
        % {"hours": f"{overlap_hours():g}"},
    )


@login_required
@require_POST
def webhook_enable(request: HttpRequest, pk: int, endpoint_pk: int) -> HttpResponse:
    return _endpoint_action(
        request,
        pk,
        endpoint_pk,
        lambda e: services.webhook_set_enabled(endpoint=e, by=request.user, enabled=True),
        _("The endpoint is enabled: what waited for it is sent, in order."),
    )


@login_required
@require_POST
def webhook_disable(request: HttpRequest, pk: int, endpoint_pk: int) -> HttpResponse:
    return _endpoint_action(
        request,
        pk,
        endpoint_pk,
        lambda e: services.webhook_set_enabled(endpoint=e, by=request.user, enabled=False),
        _("The endpoint is disabled: events wait for it until you enable it again."),
    )


@login_required
@require_POST
def webhook_delete(request: HttpRequest, pk: int, endpoint_pk: int) -> HttpResponse:
    endpoint = _endpoint(request, pk, endpoint_pk)
    press(
        request,
        lambda: services.webhook_delete(endpoint=endpoint, by=request.user),
        _("The endpoint was removed."),
    )
    return redirect("webhooks", pk)


@login_required
@require_POST
def webhook_resend(request: HttpRequest, pk: int, endpoint_pk: int, delivery_pk: int):
    endpoint = _endpoint(request, pk, endpoint_pk)
    delivery = get_object_or_404(
        WebhookDelivery.objects.for_merchant(request.user, roles=(OWNER,)).filter(
            endpoint=endpoint
        ),
        pk=delivery_pk,
    )
    press(
        request,
        lambda: services.webhook_resend(delivery=delivery, by=request.user),
        _("The delivery will be sent again within a minute, with the same webhook-id."),
    )
    return redirect("webhook-detail", pk, endpoint_pk)
