"""The merchant's dispute pages (投诉工作台 → 纠纷): the shops' disputes, and the answer page
with the five plans."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.pages import form_post, paginate

from .. import selectors, services
from ..forms import AnswerForm
from .card import MERCHANT, get_dispute
from .page import render_again, render_dispute


@login_required
def merchant_disputes(request: HttpRequest) -> HttpResponse:
    """投诉工作台 → 纠纷: the shops' disputes, open ones first by deadline, then closed."""
    open_only = request.GET.get("open") == "1"
    qs = selectors.disputes_for_merchant(user=request.user, open_only=open_only)
    return render(
        request,
        "disputes/merchant_list.html",
        {"page": paginate(request, qs), "open_only": open_only, "now": timezone.now()},
    )


@login_required
def merchant_dispute_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One dispute of the merchant's shops: progress, the complaint, evidence, the plans."""
    return render_dispute(request, get_dispute(request, pk, MERCHANT), MERCHANT)


@login_required
@require_POST
def merchant_dispute_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the plan: explicit (confirmed) and final."""
    dispute = get_dispute(request, pk, MERCHANT)
    form = AnswerForm(request.POST)
    return form_post(
        request,
        form,
        lambda data: services.dispute_answer(
            dispute=dispute,
            by=request.user,
            plan=data["plan"],
            plan_date=data["plan_date"],
            note=data["note"],
        ),
        success=_("Your answer was sent. It is final."),
        done=reverse("merchant-dispute", args=[pk]),
        failed=render_again(request, pk, MERCHANT, form=form),
    )
