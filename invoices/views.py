"""Pages for merchant staff (dashboard) and consumers (发票详情页). Thin: scope, call, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jdpop.errors import DomainError

from . import services
from .forms import InvoiceRequestForm, IssueForm, RefuseForm
from .models import InvoiceRequest, Order, ShopMembership
from .roles import is_arbitrator, is_merchant

PAGE_SIZE = 25


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each kind of user to where they work."""
    if is_merchant(request.user):
        return redirect("merchant-requests")
    if is_arbitrator(request.user):
        return redirect("admin:index")
    return redirect("my-invoices")


# --- merchant -------------------------------------------------------------------------------


def _merchant_request(request: HttpRequest, pk: int) -> InvoiceRequest:
    qs = InvoiceRequest.objects.for_merchant(request.user).select_related(
        "order", "shop", "consumer"
    )
    return get_object_or_404(qs, pk=pk)


@login_required
def merchant_requests(request: HttpRequest) -> HttpResponse:
    """The shop's invoice requests, newest first, filtered by state and order number."""
    qs = InvoiceRequest.objects.for_merchant(request.user).select_related("order", "shop")
    state = request.GET.get("state", "")
    if state in InvoiceRequest.State.values:
        qs = qs.filter(state=state)
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(order__number=q) | Q(title__icontains=q))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "invoices/merchant_list.html",
        {
            "page": page,
            "state": state,
            "q": q,
            "states": InvoiceRequest.State.choices,
            "now": timezone.now(),
        },
    )


@login_required
def merchant_request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One request, its history, and the upload / refuse forms."""
    invoice_request = _merchant_request(request, pk)
    can_write = ShopMembership.objects.filter(
        user=request.user, shop_id=invoice_request.shop_id, role__in=ShopMembership.WRITERS
    ).exists()
    return render(
        request,
        "invoices/merchant_detail.html",
        {
            "r": invoice_request,
            "history": invoice_request.history.select_related("actor"),
            "issue_form": IssueForm(),
            "refuse_form": RefuseForm(),
            "can_write": can_write,
            "now": timezone.now(),
        },
    )


def _rerender_with(request, invoice_request, form_name, form, status=400):
    """The detail page again, with the failed form's errors (the service checked the role)."""
    context = {
        "r": invoice_request,
        "history": invoice_request.history.select_related("actor"),
        "issue_form": IssueForm(),
        "refuse_form": RefuseForm(),
        "can_write": True,
        "now": timezone.now(),
    }
    context[form_name] = form
    return render(request, "invoices/merchant_detail.html", context, status=status)


@login_required
@require_POST
def merchant_issue(request: HttpRequest, pk: int) -> HttpResponse:
    """Upload the invoice: the request becomes issued."""
    invoice_request = _merchant_request(request, pk)
    form = IssueForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.invoice_request_issue(
                invoice_request=invoice_request,
                by=request.user,
                file=form.cleaned_data["file"],
                invoice_code=form.cleaned_data["invoice_code"],
                invoice_number=form.cleaned_data["invoice_number"],
            )
        except ValidationError as e:
            _add_errors(form, e)
        except DomainError as e:
            messages.error(request, e.message)
            return redirect("merchant-request", pk=pk)
        else:
            messages.success(request, _("Invoice uploaded; the consumer can download it now."))
            return redirect("merchant-request", pk=pk)
    return _rerender_with(request, invoice_request, "issue_form", form)


@login_required
@require_POST
def merchant_refuse(request: HttpRequest, pk: int) -> HttpResponse:
    """Refuse the request, with a reason."""
    invoice_request = _merchant_request(request, pk)
    form = RefuseForm(request.POST)
    if form.is_valid():
        try:
            services.invoice_request_refuse(
                invoice_request=invoice_request, by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as e:
            _add_errors(form, e)
        except DomainError as e:
            messages.error(request, e.message)
            return redirect("merchant-request", pk=pk)
        else:
            messages.success(request, _("The request was refused."))
            return redirect("merchant-request", pk=pk)
    return _rerender_with(request, invoice_request, "refuse_form", form)


def _add_errors(form, error: ValidationError) -> None:
    """Put a service's ValidationError onto the form (unknown fields become form errors)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


# --- both sides: the invoice file ------------------------------------------------------------


@login_required
def invoice_download(request: HttpRequest, pk: int) -> FileResponse:
    """An issued invoice, for its consumer and its shop's staff only (spec 3)."""
    visible = InvoiceRequest.objects.for_consumer(
        request.user
    ) | InvoiceRequest.objects.for_merchant(request.user)
    invoice_request = get_object_or_404(
        visible.select_related("order"), pk=pk, state=InvoiceRequest.State.ISSUED
    )
    if not invoice_request.invoice_file or not default_storage.exists(
        invoice_request.invoice_file.name
    ):
        raise Http404
    extension = invoice_request.invoice_file.name.rsplit(".", 1)[-1]
    return FileResponse(
        default_storage.open(invoice_request.invoice_file.name, "rb"),
        as_attachment=True,
        filename=f"invoice-{invoice_request.order.number}.{extension}",
        content_type=invoice_request.invoice_content_type or "application/octet-stream",
    )


# --- consumer -------------------------------------------------------------------------------


@login_required
def my_invoices(request: HttpRequest) -> HttpResponse:
    """The consumer's requests, and their completed orders that have none yet."""
    requests_page = Paginator(
        InvoiceRequest.objects.for_consumer(request.user).select_related("order", "shop"),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    orders = (
        Order.objects.for_consumer(request.user)
        .filter(state=Order.State.COMPLETED, invoice_requests__isnull=True)
        .select_related("shop")[:50]
    )
    return render(
        request,
        "invoices/my_list.html",
        {
            "page": requests_page,
            "orders": orders,
            "now": timezone.now(),
        },
    )


@login_required
def my_request_new(request: HttpRequest, order_pk: int) -> HttpResponse:
    """Ask for an invoice on a completed order, or a re-issue (补开) after a refusal."""
    order = get_object_or_404(
        Order.objects.for_consumer(request.user).select_related("shop"), pk=order_pk
    )
    previous = order.invoice_requests.order_by("-requested_at", "-id").first()
    reissue_of = (
        previous if previous and previous.state in InvoiceRequest.REISSUABLE_STATES else None
    )
    initial = {}
    if previous:
        initial = {f: getattr(previous, f) for f in InvoiceRequestForm.base_fields}
    form = InvoiceRequestForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.invoice_request_create(
                consumer=request.user,
                order=order,
                data=form.cleaned_data,
                reissue_of=reissue_of,
            )
        except ValidationError as e:
            _add_errors(form, e)
        except DomainError as e:
            form.add_error(None, e.message)
        else:
            messages.success(request, _("Your invoice request was sent to the shop."))
            return redirect("my-invoice", pk=created.pk)
    return render(
        request,
        "invoices/my_request_form.html",
        {
            "form": form,
            "order": order,
            "reissue_of": reissue_of,
            "previous": previous,
        },
        status=400 if form.errors else 200,
    )


@login_required
def my_invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """发票详情页: the request, its state as a timeline, and what the consumer can do."""
    invoice_request = get_object_or_404(
        InvoiceRequest.objects.for_consumer(request.user).select_related("order", "shop"), pk=pk
    )
    now = timezone.now()
    return render(
        request,
        "invoices/my_detail.html",
        {
            "r": invoice_request,
            "history": invoice_request.history.select_related("actor"),
            "now": now,
            "overdue": invoice_request.is_overdue(now),
            "can_reissue": invoice_request.state in InvoiceRequest.REISSUABLE_STATES
            and not invoice_request.order.invoice_requests.filter(
                state__in=[InvoiceRequest.State.PENDING, InvoiceRequest.State.ISSUED]
            ).exists(),
        },
    )


@login_required
@require_POST
def my_invoice_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw a pending request."""
    invoice_request = get_object_or_404(InvoiceRequest.objects.for_consumer(request.user), pk=pk)
    try:
        services.invoice_request_cancel(invoice_request=invoice_request, by=request.user)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, _("Your request was withdrawn."))
    return redirect("my-invoice", pk=pk)
