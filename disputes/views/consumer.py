"""The consumer's dispute pages (发票详情页 → 纠纷): open one, follow it, accept or reject the
shop's plan, withdraw."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.pages import next_or, paginate, press, submit
from invoices.models import InvoiceRequest

from .. import selectors, services
from ..forms import EvidenceForm, OpenDisputeForm, RejectForm
from ..models import Dispute
from .card import CONSUMER, dispute_card, get_dispute


@login_required
def my_disputes(request: HttpRequest) -> HttpResponse:
    """The consumer's disputes, newest first."""
    page = paginate(request, selectors.disputes_for_consumer(user=request.user))
    return render(request, "disputes/my_list.html", {"page": page, "now": timezone.now()})


def render_my_dispute(
    request: HttpRequest, dispute: Dispute, status: int = 200, **forms: Form
) -> HttpResponse:
    context = {
        "c": dispute_card(dispute, user=request.user, side=CONSUMER),
        "r": dispute.request,
        "reject_form": RejectForm(),
        "evidence_form": EvidenceForm(),
        **forms,
    }
    return render(request, "disputes/my_dispute.html", context, status=status)


@login_required
def my_dispute_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One of the consumer's disputes: progress, the merchant's plan, evidence."""
    return render_my_dispute(request, get_dispute(request, pk, CONSUMER))


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
    status, problem = 200, None
    if request.method == "POST":
        sent = submit(
            form,
            lambda data: services.dispute_open(
                request=invoice_request,
                by=request.user,
                kind=data["kind"],
                complaint=data["complaint"],
            ),
        )
        if sent.ok:
            messages.success(request, _("Your dispute was opened."))
            return redirect("my-dispute", pk=sent.result.pk)
        status = sent.status
    else:  # say up front why it cannot be opened (the form is not bound yet)
        problem = services.dispute_opening_problem(request=invoice_request, kind=kind)
    return render(
        request,
        "disputes/my_open.html",
        {
            "form": form,
            "r": invoice_request,
            "problem": problem.message if problem is not None else "",
            "kind_label": Dispute.Kind(kind).label if kind in Dispute.Kind.values else "",
        },
        status=status,
    )


@login_required
@require_POST
def my_dispute_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept the merchant's settlement plan: the dispute is closed, settled."""
    dispute = get_dispute(request, pk, CONSUMER)
    press(
        request,
        lambda: services.dispute_accept(dispute=dispute, by=request.user),
        _("You accepted the shop's plan; the dispute is closed."),
    )
    return redirect(next_or(request, reverse("my-dispute", args=[pk])))


@login_required
@require_POST
def my_dispute_reject(request: HttpRequest, pk: int) -> HttpResponse:
    """Reject the plan, saying why: the platform judges."""
    dispute = get_dispute(request, pk, CONSUMER)
    form = RejectForm(request.POST)
    sent = submit(
        form,
        lambda data: services.dispute_reject(dispute=dispute, by=request.user, note=data["note"]),
    )
    if sent.ok:
        messages.success(request, _("You rejected the plan; the platform will judge."))
        return redirect(next_or(request, reverse("my-dispute", args=[pk])))
    dispute = get_dispute(request, pk, CONSUMER)
    return render_my_dispute(request, dispute, status=sent.status, reject_form=form)


@login_required
@require_POST
def my_dispute_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw an open dispute."""
    dispute = get_dispute(request, pk, CONSUMER)
    press(
        request,
        lambda: services.dispute_withdraw(
            dispute=dispute, by=request.user, note=request.POST.get("note", "")
        ),
        _("Your dispute was withdrawn."),
    )
    return redirect(next_or(request, reverse("my-dispute", args=[pk])))
