"""Pages for disputes (spec 5, 6): the consumer's dispute section on the invoice detail page,
their list and dispute page; the merchant's dispute list (complaint workbench) and the answer
page with the five plans. Thin: scope through `disputes.selectors`, call `disputes.services`,
render. Another consumer's or another shop's dispute is a 404, the same as a missing one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from invoices.models import InvoiceRequest
from invoices.roles import can_write_for_shop
from jdpop.errors import DomainError

from . import selectors, services
from .forms import AnswerForm, EvidenceForm, OpenDisputeForm, RejectForm, plan_requirements
from .models import Dispute, Evidence

PAGE_SIZE = 25
CONSUMER, MERCHANT = Evidence.Party.CONSUMER, Evidence.Party.MERCHANT


# --- shared ---------------------------------------------------------------------------------


def dispute_card(
    dispute: Dispute,
    *,
    user,
    side: str,
    now: datetime | None = None,
    with_evidence: bool = True,
) -> dict:
    """What one dispute shows to one side: progress, evidence visible to that side, and which
    of that side's actions are open now (the services check again when they are used)."""
    if not with_evidence:
        evidence, submitted_at = [], None
    elif side == CONSUMER:
        evidence = list(selectors.evidence_for_consumer(user=user, dispute=dispute))
        submitted_at = dispute.consumer_evidence_submitted_at
    else:
        evidence = list(selectors.evidence_for_merchant(user=user, dispute=dispute))
        submitted_at = dispute.merchant_evidence_submitted_at
    own_drafts = [e for e in evidence if e.party == side and e.is_draft]
    return {
        "d": dispute,
        "side": side,
        "progress": selectors.dispute_progress(dispute),
        "evidence": evidence,
        "own_drafts": own_drafts,
        "evidence_open": dispute.is_open and submitted_at is None,
        "evidence_submitted_at": submitted_at,
        "can_decide": side == CONSUMER and dispute.state == Dispute.State.AWAITING_CONSUMER,
        "can_answer": side == MERCHANT
        and dispute.state == Dispute.State.AWAITING_MERCHANT
        and dispute.kind == Dispute.Kind.REFUSED,
        "now": now or timezone.now(),
    }


def _add_errors(form: Form, error: ValidationError) -> None:
    """Put a service's ValidationError onto the form (unknown fields become form errors)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def _next_or(request: HttpRequest, default: str) -> str:
    """The page the action was sent from (the invoice detail page), if it is ours."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _run(request: HttpRequest, action: Callable[[], object], success: str) -> bool:
    """Call a service for a button without a form; domain errors become a message."""
    try:
        action()
    except ValidationError as e:
        for m in e.messages:
            messages.error(request, m)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, success)
        return True
    return False


# --- consumer -------------------------------------------------------------------------------


def _consumer_dispute(request: HttpRequest, pk: int) -> Dispute:
    try:
        return selectors.dispute_get_for_consumer(user=request.user, pk=pk)
    except Dispute.DoesNotExist:
        raise Http404 from None


@login_required
def my_disputes(request: HttpRequest) -> HttpResponse:
    """The consumer's disputes, newest first."""
    page = Paginator(selectors.disputes_for_consumer(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "disputes/my_list.html", {"page": page, "now": timezone.now()})


def _render_my_dispute(
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
    return _render_my_dispute(request, _consumer_dispute(request, pk))


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
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                dispute = services.dispute_open(
                    request=invoice_request,
                    by=request.user,
                    kind=form.cleaned_data["kind"],
                    complaint=form.cleaned_data["complaint"],
                )
            except ValidationError as e:
                _add_errors(form, e)
            except DomainError as e:
                form.add_error(None, e.message)
                status = e.status
            else:
                messages.success(request, _("Your dispute was opened."))
                return redirect("my-dispute", pk=dispute.pk)
    else:
        problem = services.dispute_opening_problem(request=invoice_request, kind=kind)
        if problem is not None:
            form.add_error(None, problem.message)
    return render(
        request,
        "disputes/my_open.html",
        {
            "form": form,
            "r": invoice_request,
            "kind_label": Dispute.Kind(kind).label if kind in Dispute.Kind.values else "",
        },
        status=status,
    )


@login_required
@require_POST
def my_dispute_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept the merchant's settlement plan: the dispute is closed, settled."""
    dispute = _consumer_dispute(request, pk)
    _run(
        request,
        lambda: services.dispute_accept(dispute=dispute, by=request.user),
        _("You accepted the shop's plan; the dispute is closed."),
    )
    return redirect(_next_or(request, reverse("my-dispute", args=[pk])))


@login_required
@require_POST
def my_dispute_reject(request: HttpRequest, pk: int) -> HttpResponse:
    """Reject the plan, saying why: the platform judges."""
    dispute = _consumer_dispute(request, pk)
    form = RejectForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.dispute_reject(
                dispute=dispute, by=request.user, note=form.cleaned_data["note"]
            )
        except ValidationError as e:
            _add_errors(form, e)
        except DomainError as e:
            form.add_error(None, e.message)
            status = e.status
        else:
            messages.success(request, _("You rejected the plan; the platform will judge."))
            return redirect(_next_or(request, reverse("my-dispute", args=[pk])))
    dispute = _consumer_dispute(request, pk)
    return _render_my_dispute(request, dispute, status=status, reject_form=form)


@login_required
@require_POST
def my_dispute_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw an open dispute."""
    dispute = _consumer_dispute(request, pk)
    _run(
        request,
        lambda: services.dispute_withdraw(
            dispute=dispute, by=request.user, note=request.POST.get("note", "")
        ),
        _("Your dispute was withdrawn."),
    )
    return redirect(_next_or(request, reverse("my-dispute", args=[pk])))


# --- merchant -------------------------------------------------------------------------------


def _merchant_dispute(request: HttpRequest, pk: int) -> Dispute:
    try:
        return selectors.dispute_get_for_merchant(user=request.user, pk=pk)
    except Dispute.DoesNotExist:
        raise Http404 from None


@login_required
def merchant_disputes(request: HttpRequest) -> HttpResponse:
    """投诉工作台 → 纠纷: the shops' disputes, open ones first by deadline, then closed."""
    open_only = request.GET.get("open") == "1"
    qs = selectors.disputes_for_merchant(user=request.user, open_only=open_only)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "disputes/merchant_list.html",
        {"page": page, "open_only": open_only, "now": timezone.now()},
    )


def _render_merchant_dispute(
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
    return _render_merchant_dispute(request, _merchant_dispute(request, pk))


def _require_writer(request: HttpRequest, dispute: Dispute) -> None:
    if not can_write_for_shop(request.user, dispute.shop_id):
        raise PermissionDenied(_("Your role in this shop does not allow this action."))


@login_required
@require_POST
def merchant_dispute_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the plan: explicit (confirmed) and final."""
    dispute = _merchant_dispute(request, pk)
    _require_writer(request, dispute)
    form = AnswerForm(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.dispute_answer(
                dispute=dispute,
                by=request.user,
                plan=data["plan"],
                plan_date=data["plan_date"],
                note=data["note"],
            )
        except ValidationError as e:
            _add_errors(form, e)
        except DomainError as e:
            form.add_error(None, e.message)
            status = e.status
        else:
            messages.success(request, _("Your answer was sent. It is final."))
            return redirect("merchant-dispute", pk=pk)
    dispute = _merchant_dispute(request, pk)  # fresh, e.g. after a conflict
    return _render_merchant_dispute(request, dispute, status=status, form=form)


# --- both sides: evidence -------------------------------------------------------------------

_SIDES = {
    CONSUMER: (_consumer_dispute, _render_my_dispute, "my-dispute"),
    MERCHANT: (_merchant_dispute, _render_merchant_dispute, "merchant-dispute"),
}


def _evidence_add(request: HttpRequest, pk: int, side: str) -> HttpResponse:
    get, render_page, url_name = _SIDES[side]
    dispute = get(request, pk)
    form = EvidenceForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        try:
            services.dispute_evidence_add(
                dispute=dispute,
                by=request.user,
                text=form.cleaned_data["text"],
                file=form.cleaned_data["file"],
            )
        except ValidationError as e:
            _add_errors(form, e)
        except DomainError as e:
            form.add_error(None, e.message)
            status = e.status
        else:
            messages.success(request, _("Evidence added to your draft. Submit it when complete."))
            return redirect(_next_or(request, reverse(url_name, args=[pk])))
    return render_page(request, get(request, pk), status=status, evidence_form=form)


def _evidence_remove(request: HttpRequest, pk: int, evidence_pk: int, side: str) -> HttpResponse:
    get, _render, url_name = _SIDES[side]
    dispute = get(request, pk)
    visible = (
        selectors.evidence_for_consumer(user=request.user, dispute=dispute)
        if side == CONSUMER
        else selectors.evidence_for_merchant(user=request.user, dispute=dispute)
    )
    evidence = get_object_or_404(visible.select_related("dispute"), pk=evidence_pk)
    _run(
        request,
        lambda: services.dispute_evidence_remove(evidence=evidence, by=request.user),
        _("The draft evidence was removed."),
    )
    return redirect(_next_or(request, reverse(url_name, args=[pk])))


def _evidence_submit(request: HttpRequest, pk: int, side: str) -> HttpResponse:
    get, _render, url_name = _SIDES[side]
    dispute = get(request, pk)
    _run(
        request,
        lambda: services.dispute_evidence_submit(dispute=dispute, by=request.user),
        _("Your evidence was submitted. It can no longer be changed."),
    )
    return redirect(_next_or(request, reverse(url_name, args=[pk])))


@login_required
@require_POST
def my_evidence_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _evidence_add(request, pk, CONSUMER)


@login_required
@require_POST
def my_evidence_remove(request: HttpRequest, pk: int, evidence_pk: int) -> HttpResponse:
    return _evidence_remove(request, pk, evidence_pk, CONSUMER)


@login_required
@require_POST
def my_evidence_submit(request: HttpRequest, pk: int) -> HttpResponse:
    return _evidence_submit(request, pk, CONSUMER)


@login_required
@require_POST
def merchant_evidence_add(request: HttpRequest, pk: int) -> HttpResponse:
    _require_writer(request, _merchant_dispute(request, pk))
    return _evidence_add(request, pk, MERCHANT)


@login_required
@require_POST
def merchant_evidence_remove(request: HttpRequest, pk: int, evidence_pk: int) -> HttpResponse:
    _require_writer(request, _merchant_dispute(request, pk))
    return _evidence_remove(request, pk, evidence_pk, MERCHANT)


@login_required
@require_POST
def merchant_evidence_submit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_writer(request, _merchant_dispute(request, pk))
    return _evidence_submit(request, pk, MERCHANT)


@login_required
def evidence_file(request: HttpRequest, pk: int) -> FileResponse:
    """An evidence file, for whoever may see that evidence (its side, or both once submitted)."""
    visible = Evidence.objects.for_consumer(request.user) | Evidence.objects.for_merchant(
        request.user
    )
    evidence = get_object_or_404(visible, pk=pk)
    if not evidence.file or not default_storage.exists(evidence.file.name):
        raise Http404
    return FileResponse(
        default_storage.open(evidence.file.name, "rb"),
        as_attachment=True,
        filename=evidence.file_name or evidence.file.name.rsplit("/", 1)[-1],
        content_type=evidence.content_type or "application/octet-stream",
    )
