"""Pages for urge tickets (spec 4, 6): the consumer's urge button and ticket page, and the
merchant's complaint workbench (投诉工作台 → 工单预警 → 消费者提交工单) with the reply form.

Thin: scope, call the service, render. Scoping is `tickets.filters.merchant_tickets` /
`consumer_tickets`, so another shop's or consumer's ticket is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from invoices.models import InvoiceRequest
from invoices.roles import can_write_for_shop
from jdpop.errors import Conflict, DomainError

from . import services
from .filters import TicketFilter, consumer_tickets, merchant_tickets
from .forms import TicketReplyForm, reply_requirement_rows
from .models import TicketReply, UrgeTicket

PAGE_SIZE = 25


def _china_time(dt) -> str:
    return date_format(timezone.localtime(dt, timezone.get_default_timezone()), "Y-m-d H:i")


def _with_replies(qs):
    return qs.prefetch_related(
        Prefetch("replies", queryset=TicketReply.objects.select_related("by"))
    )


# --- consumer -------------------------------------------------------------------------------


@login_required
@require_POST
def my_invoice_urge(request: HttpRequest, pk: int) -> HttpResponse:
    """催开票: open the request's urge ticket now, or record one more urge on it (spec 4.2)."""
    invoice_request = get_object_or_404(
        InvoiceRequest.objects.for_consumer(request.user).select_related("shop"), pk=pk
    )
    had_ticket = UrgeTicket.objects.filter(request=invoice_request).exists()
    try:
        ticket = services.ticket_urge(invoice_request=invoice_request, by=request.user)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        due = _china_time(ticket.reply_due_at)
        if had_ticket:
            messages.success(
                request,
                _(
                    "Your urge was recorded. The shop's reply deadline is unchanged: "
                    "%(due)s (China time)."
                )
                % {"due": due},
            )
        else:
            messages.success(
                request,
                _("An urge ticket was opened. The shop must reply by %(due)s (China time).")
                % {"due": due},
            )
    return redirect("my-invoice", pk=pk)


@login_required
def my_ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The consumer's view of one urge ticket: its progress and the shop's replies."""
    ticket = get_object_or_404(_with_replies(consumer_tickets(request.user)), pk=pk)
    now = timezone.now()
    return render(
        request,
        "tickets/my_ticket.html",
        {
            "t": ticket,
            "r": ticket.request,
            "side": "consumer",
            "now": now,
            "overdue": ticket.request.is_overdue(now),
        },
    )


# --- merchant -------------------------------------------------------------------------------


@login_required
def workbench(request: HttpRequest) -> HttpResponse:
    """投诉工作台 → 工单预警 → 消费者提交工单: open tickets, most urgent first, with time left."""
    tickets = TicketFilter(request.GET, queryset=merchant_tickets(request.user))
    qs = tickets.qs if tickets.is_valid() else merchant_tickets(request.user).none()
    page = Paginator(qs.order_by("reply_due_at", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "tickets/workbench.html",
        {"filter": tickets, "page": page, "now": timezone.now()},
    )


def _merchant_ticket(request: HttpRequest, pk: int) -> UrgeTicket:
    return get_object_or_404(_with_replies(merchant_tickets(request.user)), pk=pk)


def _render_detail(
    request: HttpRequest, ticket: UrgeTicket, form: TicketReplyForm | None = None, status=200
) -> HttpResponse:
    return render(
        request,
        "tickets/merchant_ticket.html",
        {
            "t": ticket,
            "r": ticket.request,
            "side": "merchant",
            "form": form or TicketReplyForm(),
            "requirements": reply_requirement_rows(),
            "can_write": can_write_for_shop(request.user, ticket.shop_id),
            "now": timezone.now(),
        },
        status=status,
    )


@login_required
def merchant_ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One ticket: its request, deadline, replies so far, and the reply form."""
    return _render_detail(request, _merchant_ticket(request, pk))


@login_required
@require_POST
def merchant_ticket_reply(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a reply: explicit (confirmed) and final; a correction is a new reply."""
    ticket = _merchant_ticket(request, pk)
    if not can_write_for_shop(request.user, ticket.shop_id):
        raise PermissionDenied(_("Your role in this shop does not allow this action."))
    form = TicketReplyForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.ticket_reply(
                ticket=ticket,
                by=request.user,
                resolution=data["resolution"],
                note=data["note"],
                promised_date=data["promised_date"],
                attachment=data["attachment"],
            )
        except ValidationError as e:
            _add_errors(form, e)
        except Conflict as e:
            form.add_error(None, e.message)
            status = 409
        except DomainError as e:
            form.add_error(None, e.message)
        else:
            messages.success(
                request, _("Your reply was sent. It is final and the consumer sees it.")
            )
            return redirect("merchant-ticket", pk=pk)
    ticket = _merchant_ticket(request, pk)  # fresh state and replies, e.g. after a conflict
    return _render_detail(request, ticket, form, status=status)


def _add_errors(form: TicketReplyForm, error: ValidationError) -> None:
    """Put a service's ValidationError onto the form (unknown fields become form errors)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


# --- both sides: a reply's attachment ------------------------------------------------------


@login_required
def reply_attachment(request: HttpRequest, pk: int) -> FileResponse:
    """A reply's attachment, for the request's consumer and the shop's staff only."""
    visible = consumer_tickets(request.user) | merchant_tickets(request.user)
    reply = get_object_or_404(TicketReply.objects.filter(ticket__in=visible.values("pk")), pk=pk)
    if not reply.attachment or not default_storage.exists(reply.attachment.name):
        raise Http404
    return FileResponse(
        default_storage.open(reply.attachment.name, "rb"),
        as_attachment=True,
        filename=reply.attachment.name.rsplit("/", 1)[-1],
    )
