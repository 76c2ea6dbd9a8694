"""Pages of the platform floor: the shops a user works for, and each shop's staff, which its
owner manages (spec 2, 子账号权限). Other staff read the list; anyone else gets a 404."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from .models import ApiToken, Shop, ShopMembership
from .pages import form_post, next_or, press
from .roles import Role, shop_role
from .staff import shop_staff_remove, shop_staff_set
from .tokens import token_revoke


class StaffForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("login"), max_length=150)
    role = forms.ChoiceField(label=gettext_lazy("role"), choices=Role.choices)


@login_required
def my_shops(request: HttpRequest) -> HttpResponse:
    """The shops the user works for, with their role in each."""
    memberships = ShopMembership.objects.for_merchant(request.user).filter(user=request.user)
    return render(request, "core/shops.html", {"memberships": memberships.select_related("shop")})


def _render_staff(request: HttpRequest, shop: Shop, form: StaffForm, status: int = 200):
    members = ShopMembership.objects.for_merchant(request.user).filter(shop=shop)
    context = {
        "shop": shop,
        "members": members.select_related("user").order_by("user__username"),
        "form": form,
        "is_owner": shop_role(request.user, shop.pk) == Role.OWNER,
    }
    return render(request, "core/staff.html", context, status=status)


@login_required
def shop_staff(request: HttpRequest, pk: int) -> HttpResponse:
    """A shop's staff and their roles; its owner adds people or changes their role here."""
    shop = get_object_or_404(Shop.objects.for_merchant(request.user), pk=pk)
    if request.method != "POST":
        return _render_staff(request, shop, StaffForm())
    form = StaffForm(request.POST)
    return form_post(
        request,
        form,
        lambda data: shop_staff_set(
            shop=shop, by=request.user, username=data["username"], role=data["role"]
        ),
        success=_("The shop's staff was updated."),
        done=reverse("shop-staff", args=[pk]),
        failed=lambda status: _render_staff(request, shop, form, status=status),
    )


@login_required
@require_POST
def shop_staff_remove_view(request: HttpRequest, pk: int, user_pk: int) -> HttpResponse:
    """The owner takes someone off the shop's staff."""
    shop = get_object_or_404(Shop.objects.for_merchant(request.user), pk=pk)
    press(
        request,
        lambda: shop_staff_remove(shop=shop, by=request.user, user_id=user_pk),
        _("The person no longer works for the shop."),
    )
    return redirect("shop-staff", pk=pk)


@login_required
@require_POST
def api_token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one of the person's own API tokens (listed on the settings page); another
    person's token is a 404."""
    token = get_object_or_404(ApiToken.objects.for_user(request.user), pk=pk)
    press(request, lambda: token_revoke(token=token), _("The API token was revoked."))
    return redirect(next_or(request, reverse("notification-settings")))
