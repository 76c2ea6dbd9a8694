"""Pages for merchant staff (dashboard) and consumers (发票详情页). Thin: scope, call, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.auth import UploadThrottle, throttled
from core.pages import form_post, paginate, press
from core.roles import can_write_for_shop, is_arbitrator, is_merchant
from core.uploads import serve_upload

from . import exchange, selectors, services
from .forms import ExchangeForm, InvoiceRequestForm, IssueForm, RefuseForm
from .models import CLOSED_ORDER_STATES, InvoiceRequest, Order
from .overdue import is_overdue


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each kind of user to where they work."""
    if is_merchant(request.user):
        return redirect("merchant-dashboard")
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
        qs = qs.filter(selectors.order_number_or_title(q))
    return render(
        request,
        "invoices/merchant_list.html",
        {
            "page": paginate(request, qs),
            "state": state,
            "q": q,
            "states": InvoiceRequest.State.choices,
            "now": timezone.now(),
        },
    )


def _render_detail(
    request: HttpRequest, invoice_request: InvoiceRequest, status: int = 200, **forms
) -> HttpResponse:
    """The request, its history, and the upload / refuse forms (with a failed one's errors)."""
    context = {
        "r": invoice_request,
        "history": invoice_request.history.select_related("actor"),
        "issue_form": IssueForm(),
        "refuse_form": RefuseForm(),
        "can_write": can_write_for_shop(request.user, invoice_request.shop_id),
        "now": timezone.now(),
        **exchange.exchange_record(invoice_request),
        **forms,
    }
    return render(request, "invoices/merchant_detail.html", context, status=status)


@login_required
def merchant_request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One request, its history, and the upload / refuse forms."""
    return _render_detail(request, _merchant_request(request, pk))


@login_required
@require_POST
@throttled(UploadThrottle)
def merchant_issue(request: HttpRequest, pk: int) -> HttpResponse:
    """Upload the invoice: the request becomes issued."""
    invoice_request = _merchant_request(request, pk)
    form = IssueForm(request.POST, request.FILES)
    return form_post(
        request,
        form,
        lambda data: services.invoice_request_issue(
            invoice_request=invoice_request,
            by=request.user,
            file=data["file"],
            invoice_code=data["invoice_code"],
            invoice_number=data["invoice_number"],
        ),
        success=_("Invoice uploaded; the consumer can download it now."),
        done=reverse("merchant-request", args=[pk]),
        failed=lambda status: _render_detail(
            request, _merchant_request(request, pk), status, issue_form=form
        ),
    )


@login_required
@require_POST
def merchant_refuse(request: HttpRequest, pk: int) -> HttpResponse:
    """Refuse the request, with a reason."""
    invoice_request = _merchant_request(request, pk)
    form = RefuseForm(request.POST)
    return form_post(
        request,
        form,
        lambda data: services.invoice_request_refuse(
            invoice_request=invoice_request, by=request.user, reason=data["reason"]
        ),
        success=_("The request was refused."),
        done=reverse("merchant-request", args=[pk]),
        failed=lambda status: _render_detail(
            request, _merchant_request(request, pk), status, refuse_form=form
        ),
    )


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
    return serve_upload(
        invoice_request.invoice_file.name, download_as=f"invoice-{invoice_request.order.number}"
    )


# --- consumer -------------------------------------------------------------------------------


@login_required
def my_invoices(request: HttpRequest) -> HttpResponse:
    """The consumer's requests, and their orders that have none yet (not cancelled or
    returned: an invoice can be asked for at checkout)."""
    requests = InvoiceRequest.objects.for_consumer(request.user).select_related("order", "shop")
    orders = (
        Order.objects.for_consumer(request.user)
        .filter(invoice_requests__isnull=True)
        .exclude(state__in=CLOSED_ORDER_STATES)
        .select_related("shop")[:50]
    )
    return render(
        request,
        "invoices/my_list.html",
        {"page": paginate(request, requests), "orders": orders, "now": timezone.now()},
    )


@login_required
def my_request_new(request: HttpRequest, order_pk: int) -> HttpResponse:
    """Ask for an invoice on a completed order, or a re-issue (补开) after a refusal."""
    order = get_object_or_404(
        Order.objects.for_consumer(request.user).select_related("shop"), pk=order_pk
    )
    previous, reissue_of = selectors.reissue_target(order)
    initial = {}
    if previous:
        initial = {f: getattr(previous, f) for f in InvoiceRequestForm.base_fields}
    form = InvoiceRequestForm(request.POST or None, initial=initial)

    def page(status: int = 200) -> HttpResponse:
        context = {"form": form, "order": order, "reissue_of": reissue_of, "previous": previous}
        return render(request, "invoices/my_request_form.html", context, status=status)

    if request.method != "POST":
        return page()
    return form_post(
        request,
        form,
        lambda data: services.invoice_request_create(
            consumer=request.user, order=order, data=data, reissue_of=reissue_of
        ),
        success=_("Your invoice request was sent to the shop."),
        done=lambda created: reverse("my-invoice", args=[created.pk]),
        failed=page,
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
            "overdue": is_overdue(invoice_request, now),
            "can_reissue": selectors.can_reissue(invoice_request),
            "can_exchange": exchange.exchange_problem(invoice_request) is None,
            **exchange.exchange_record(invoice_request),
        },
    )


@login_required
def my_invoice_exchange(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask to exchange (换开) an issued invoice: the reason and the corrected details, filled in
    from the invoice being replaced."""
    invoice = get_object_or_404(
        InvoiceRequest.objects.for_consumer(request.user).select_related("order", "shop"), pk=pk
    )
    initial = {f: getattr(invoice, f) for f in InvoiceRequestForm.base_fields}
    form = ExchangeForm(request.POST or None, initial=initial)

    def page(status: int = 200) -> HttpResponse:
        context = {"form": form, "r": invoice, "problem": exchange.exchange_problem(invoice)}
        return render(request, "invoices/my_exchange_form.html", context, status=status)

    if request.method != "POST":
        return page()
    return form_post(
        request,
        form,
        lambda data: exchange.invoice_exchange_request(
            consumer=request.user, invoice=invoice, data=data
        ),
        success=_("Your exchange (换开) request was sent to the shop."),
        done=lambda created: reverse("my-invoice", args=[created.pk]),
        failed=page,
    )


@login_required
@require_POST
def my_invoice_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw a pending request."""
    invoice_request = get_object_or_404(InvoiceRequest.objects.for_consumer(request.user), pk=pk)
    press(
        request,
        lambda: services.invoice_request_cancel(invoice_request=invoice_request, by=request.user),
        _("Your request was withdrawn."),
    )
    return redirect("my-invoice", pk=pk)
