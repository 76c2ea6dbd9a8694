"""The category operator's pages (spec 13). Thin: scope the category, read, render, or hand
the plan to the service."""

from __future__ import annotations

from datetime import date

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.pages import form_post, paginate
from penalties.scorecard import parse_month

from . import export, selectors, services
from .chart import build_chart
from .forms import PlanForm

SHOPS_PER_PAGE = 50  # by rank: the 重点 shops come first


def _month(request: HttpRequest) -> date:
    """`?month=2026-11`, or this China month; anything else is a 404."""
    asked = request.GET.get("month")
    if not asked:
        return selectors.plan_month()
    month = parse_month(asked)
    if month is None:
        raise Http404(_("No such month."))
    return month


@login_required
@require_GET
def category_list(request: HttpRequest) -> HttpResponse:
    """The categories the user operates."""
    categories = list(selectors.operator_categories(request.user))
    return render(request, "categories/list.html", {"categories": categories})


def _page(request: HttpRequest, pk: int, month: date, form: PlanForm | None, status: int = 200):
    category = selectors.operator_category(request.user, pk)
    overview = selectors.overview(category, month)
    editable = month == selectors.plan_month()
    if editable and form is None:
        form = PlanForm(overview=overview)
    page = paginate(request, overview.lines, SHOPS_PER_PAGE)
    rows = form.rows(page.object_list) if editable else [(x, None) for x in page.object_list]
    context = {
        "category": category,
        "o": overview,
        "form": form,
        "page": page,
        "rows": rows,
        "editable": editable,
        "chart": build_chart(list(zip(overview.months, overview.totals, strict=True))),
        "previous_month": f"{selectors.shift(month, -1):%Y-%m}",
        "next_month": f"{selectors.shift(month, 1):%Y-%m}",
        "month_value": f"{month:%Y-%m}",
    }
    return render(request, "categories/detail.html", context, status=status)


@login_required
@require_GET
def category_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A category's month: shops by rank with tier, target, progress and scorecard; the chart."""
    return _page(request, pk, _month(request), None)


@login_required
@require_POST
def category_plan(request: HttpRequest, pk: int) -> HttpResponse:
    """Save this month's plan (growth, the 重点 and A shops' targets)."""
    category = selectors.operator_category(request.user, pk)
    month = selectors.plan_month()
    overview = selectors.overview(category, month, with_scorecard=False)
    form = PlanForm(request.POST, overview=overview)
    return form_post(
        request,
        form,
        lambda data: services.month_plan_save(
            category=category, by=request.user, growth=form.growth(), targets=form.targets()
        ),
        success=_("The plan is saved."),
        done=reverse("category-detail", args=[pk]) + _page_query(request),
        failed=lambda status: _page(request, pk, month, form, status),
    )


def _page_query(request: HttpRequest) -> str:
    page = request.POST.get("page", "")
    return f"?page={int(page)}" if page.isdigit() else ""


@login_required
@require_GET
def category_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The month's figures as CSV or xlsx."""
    category = selectors.operator_category(request.user, pk)
    if fmt not in ("csv", "xlsx"):
        raise Http404(_("No such format."))
    overview = selectors.overview(category, _month(request))
    return export.as_csv(overview) if fmt == "csv" else export.as_xlsx(overview)


@login_required
@require_GET
def category_shop(request: HttpRequest, pk: int, shop_pk: int) -> HttpResponse:
    """One shop of the category: its tier, target and scorecard, and its last 12 months."""
    link = selectors.operator_category_shop(request.user, pk, shop_pk)
    month = _month(request)
    overview = selectors.overview(link.category, month)
    line = next(line for line in overview.lines if line.shop.pk == link.shop_id)
    context = {
        "category": link.category,
        "o": overview,
        "line": line,
        "chart": build_chart(list(zip(overview.months, line.months, strict=True))),
        "month_value": f"{month:%Y-%m}",
    }
    return render(request, "categories/shop.html", context)
