"""The merchant's dispute pages (投诉工作台 → 纠纷): the shops' disputes, and the answer page
with the five plans."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.pages import paginate, submit
from core.roles import can_write_for_shop

from .. import selectors, services
from ..forms import AnswerForm, EvidenceForm, plan_requirements
from ..models import Dispute
from .card import MERCHANT, dispute_card, get_dispute


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


def render_merchant_dispute(
    request: HttpRequest, dispute: Dispute, status: int = 200, **forms: Form
) -> HttpResponse:
    context = {
        "c": dispute_card(dispute, user=request.user, side=MERCHANT),
        "r": dispute.request,
        "can_write": can_write_for_shop(request.user, dispute.shop_id),
        "form": AnswerForm(),
        "evidence_form": EvidenceForm(),
        "requirements": plan_requirements(),
        **forms,
    }
    return render(request, "disputes/merchant_dispute.html", context, status=status)


@login_required
def merchant_dispute_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One dispute of the merchant's shops: progress, the complaint, evidence, the plans."""
    return render_merchant_dispute(request, get_dispute(request, pk, MERCHANT))


@login_required
@require_POST
def merchant_dispute_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the plan: explicit (confirmed) and final."""
    dispute = get_dispute(request, pk, MERCHANT)
    form = AnswerForm(request.POST)
    sent = submit(
        form,
        lambda data: services.dispute_answer(
            dispute=dispute,
            by=request.user,
            plan=data["plan"],
            plan_date=data["plan_date"],
            note=data["note"],
        ),
    )
    if sent.ok:
        messages.success(request, _("Your answer was sent. It is final."))
        return redirect("merchant-dispute", pk=pk)
    dispute = get_dispute(request, pk, MERCHANT)  # fresh, e.g. after a conflict
    return render_merchant_dispute(request, dispute, status=sent.status, form=form)
