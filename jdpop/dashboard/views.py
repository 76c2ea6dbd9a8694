"""The merchant's dashboard page, /merchant/ (spec 4.6). Thin: pick the shop, read, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from core.models import Shop

from . import selectors
from .chart import SERIES, build_chart


def _picked_shop(request: HttpRequest, shops: list[Shop]) -> Shop | None:
    """The shop `?shop=` names, among the user's; None (all of them) without one. Another
    shop's id, or something that is no id, is a 404 like a shop that does not exist."""
    asked = request.GET.get("shop", "")
    if not asked:
        return None
    for shop in shops:
        if asked == str(shop.pk):
            return shop
    raise Http404(_("You do not work for this shop."))


@login_required
def merchant_dashboard(request: HttpRequest) -> HttpResponse:
    """What needs an answer now, what is at risk, this month's figures and the last twelve
    months, for one of the user's shops or all of them."""
    shops = list(selectors.dashboard_shops(request.user))
    shop = _picked_shop(request, shops)
    shop_id = shop.pk if shop else None
    now = timezone.now()
    months = selectors.monthly_figures(request.user, now, shop_id)
    at_risk = list(selectors.at_risk(request.user, now, shop_id)[: selectors.LIST_SIZE + 1])
    context = {
        "shops": shops,
        "shop": shop,
        "now": now,
        "needs_answer": selectors.needs_answer(request.user, shop_id),
        "at_risk": at_risk[: selectors.LIST_SIZE],
        "at_risk_more": len(at_risk) > selectors.LIST_SIZE,
        "at_risk_hours": round(settings.JDPOP_AT_RISK.total_seconds() / 3600),
        "this_month": months[-1],
        "months": months,
        "tickets": selectors.open_ticket_counts(request.user, shop_id),
        "chart": build_chart(months),
        "series": SERIES,
    }
    return render(request, "dashboard/dashboard.html", context)
