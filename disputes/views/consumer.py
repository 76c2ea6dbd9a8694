"""The consumer's dispute pages (发票详情页 → 纠纷): open one, follow it, accept or reject the
shop's plan, withdraw."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.pages import form_post, paginate
from invoices.models import InvoiceRequest

from .. import selectors, services
from ..forms import OpenDisputeForm, RejectForm
from ..models import Dispute
from .card import CONSUMER, get_dispute
from .page import back_to_dispute, dispute_button, render_again, render_dispute


@login_required
def my_disputes(request: HttpRequest) -> HttpResponse:
    """The consumer's disputes, newest first."""
    page = paginate(request, selectors.disputes_for_consumer(user=request.user))
    return render(request, "disputes/my_list.html", {"page": page, "now": timezone.now()})


@login_required
def my_dispute_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One of the consumer's disputes: progress, the merchant's plan, evidence."""
    return render_dispute(request, get_dispute(request, pk, CONSUMER), CONSUMER)


@login_required
def my_dispute_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Open a dispute of one kind on the consumer's request (the button shows only when
    `dispute_kinds_open_to` allows that kind)."""
    invoice_request = get_object_or_404(
        InvoiceRequest.objects.for_consumer(request.user).select_related("order", "shop"), pk=pk
    )
    kind = request.POST.get("kind") or request.GET.get("kind") or Dispute.Kind.REFUSED
    form = OpenDisputeForm(
        request.POST if request.method == "POST" else None, initial={"kind": kind}
    )

    def page(status: int = 200, problem: str = "") -> HttpResponse:
        context = {
            "form": form,
            "r": invoice_request,
            "problem": problem,
            "kind_label": Dispute.Kind(kind).label if kind in Dispute.Kind.values else "",
        }
        return render(request, "disputes/my_open.html", context, status=status)

    if request.method != "POST":  # say up front why it cannot be opened (no form sent yet)
        problem = services.dispute_opening_problem(request=invoice_request, kind=kind)
        return page(problem=problem.message if problem is not None else "")
    return form_post(
        request,
        form,
        lambda data: services.dispute_open(
            request=invoice_request,
            by=request.user,
            kind=data["kind"],
            complaint=data["complaint"],
        ),
        success=_("Your dispute was opened."),
        done=lambda dispute: reverse("my-dispute", args=[dispute.pk]),
        failed=page,
    )


@login_required
@require_POST
def my_dispute_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept the merchant's settlement plan: the dispute is closed, settled."""
    return dispute_button(
        request,
        pk,
        CONSUMER,
        lambda dispute: services.dispute_accept(dispute=dispute, by=request.user),
        _("You accepted the shop's plan; the dispute is closed."),
    )


@login_required
@require_POST
def my_dispute_reject(request: HttpRequest, pk: int) -> HttpResponse:
    """Reject the plan, saying why: the platform judges."""
    dispute = get_dispute(request, pk, CONSUMER)
    form = RejectForm(request.POST)
    return form_post(
        request,
        form,
        lambda data: services.dispute_reject(dispute=dispute, by=request.user, note=data["note"]),
        success=_("You rejected the plan; the platform will judge."),
        done=back_to_dispute(request, pk, CONSUMER),
        failed=render_again(request, pk, CONSUMER, reject_form=form),
    )


@login_required
@require_POST
def my_dispute_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw an open dispute."""
    return dispute_button(
        request,
        pk,
        CONSUMER,
        lambda dispute: services.dispute_withdraw(
            dispute=dispute, by=request.user, note=request.POST.get("note", "")
        ),
        _("Your dispute was withdrawn."),
    )


@login_required
@require_POST
def my_dispute_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a settled dispute whose promise was broken to the platform (one click)."""
    return dispute_button(
        request,
        pk,
        CONSUMER,
        lambda dispute: services.dispute_reopen(dispute=dispute, by=request.user),
        _("Your dispute was sent to the platform, which will judge it."),
    )
