"""Pages for urge tickets (spec 4, 6): the consumer's urge button and ticket page, and the
merchant's complaint workbench (投诉工作台 → 工单预警 → 消费者提交工单) with the reply form.

Thin: scope (`tickets.selectors`), call the service, render. Another shop's or consumer's
ticket is a 404; a viewer's reply is refused by the service (403).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.auth import UploadThrottle, UrgeThrottle, throttled
from core.clock import china_time
from core.errors import DomainError
from core.pages import form_post, paginate
from core.roles import can_write_for_shop
from core.uploads import serve_upload
from invoices.models import InvoiceRequest
from invoices.overdue import is_overdue

from . import services
from .forms import TicketReplyForm, reply_requirement_rows
from .models import TicketReply, UrgeTicket
from .selectors import (
    ANSWERABLE,
    PAST_WINDOW,
    TicketFilter,
    consumer_tickets,
    merchant_tickets,
    with_replies,
    workbench_order,
)

# --- consumer -------------------------------------------------------------------------------


@login_required
@require_POST
@throttled(UrgeThrottle)
def my_invoice_urge(request: HttpRequest, pk: int) -> HttpResponse:
    """催开票: open the request's urge ticket now, or record one more urge on it (spec 4.2)."""
    invoice_request = get_object_or_404(
        InvoiceRequest.objects.for_consumer(request.user).select_related("shop"), pk=pk
    )
    had_ticket = hasattr(invoice_request, "urge_ticket")
    try:
        ticket = services.ticket_urge(invoice_request=invoice_request, by=request.user)
    except DomainError as e:
        messages.error(request, e.message)
        return redirect("my-invoice", pk=pk)
    due = {"due": china_time(ticket.reply_due_at)}
    if had_ticket:
        text = _(
            "Your urge was recorded. The shop's reply deadline is unchanged: %(due)s (China time)."
        )
    else:
        text = _("An urge ticket was opened. The shop must reply by %(due)s (China time).")
    messages.success(request, text % due)
    return redirect("my-invoice", pk=pk)


@login_required
def my_ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The consumer's view of one urge ticket: its progress and the shop's replies."""
    ticket = get_object_or_404(with_replies(consumer_tickets(request.user)), pk=pk)
    now = timezone.now()
    return render(
        request,
        "tickets/my_ticket.html",
        {
            "t": ticket,
            "r": ticket.request,
            "side": "consumer",
            "now": now,
            "overdue": is_overdue(ticket.request, now),
        },
    )


# --- merchant -------------------------------------------------------------------------------


@login_required
def workbench(request: HttpRequest) -> HttpResponse:
    """投诉工作台 → 工单预警 → 消费者提交工单: the tickets that can still be answered first, by
    deadline, then those past their window (`workbench_order`), 25 a page, filters and page in
    the URL. The page's script asks the same URL again every JDPOP_WORKBENCH_POLL_SECONDS with
    `HX-Request` (django-htmx: `request.htmx`) and gets only the list, so new tickets appear."""
    now = timezone.now()
    tickets = TicketFilter(request.GET, queryset=merchant_tickets(request.user))
    qs = tickets.qs if tickets.is_valid() else merchant_tickets(request.user).none()
    context = {
        "filter": tickets,
        "page": paginate(request, workbench_order(qs, now)),
        "now": now,
        "poll_seconds": f"{settings.JDPOP_WORKBENCH_POLL_SECONDS:g}",
        "groups": {"answerable": ANSWERABLE, "past_window": PAST_WINDOW},
    }
    fragment = bool(getattr(request, "htmx", False))
    template = "tickets/_workbench_rows.html" if fragment else "tickets/workbench.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _merchant_ticket(request: HttpRequest, pk: int) -> UrgeTicket:
    return get_object_or_404(with_replies(merchant_tickets(request.user)), pk=pk)


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
@throttled(UploadThrottle)
def merchant_ticket_reply(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a reply: explicit (confirmed) and final; a correction is a new reply."""
    ticket = _merchant_ticket(request, pk)
    form = TicketReplyForm(request.POST, request.FILES)
    return form_post(
        request,
        form,
        lambda data: services.ticket_reply(
            ticket=ticket,
            by=request.user,
            resolution=data["resolution"],
            note=data["note"],
            promised_date=data["promised_date"],
            attachment=data["attachment"],
        ),
        success=_("Your reply was sent. It is final and the consumer sees it."),
        done=reverse("merchant-ticket", args=[pk]),
        # Fresh state and replies, e.g. after a conflict.
        failed=lambda status: _render_detail(
            request, _merchant_ticket(request, pk), form, status=status
        ),
    )


# --- both sides: a reply's attachment ------------------------------------------------------


@login_required
def reply_attachment(request: HttpRequest, pk: int) -> FileResponse:
    """A reply's attachment, for the request's consumer and the shop's staff only."""
    visible = TicketReply.objects.for_consumer(request.user) | TicketReply.objects.for_merchant(
        request.user
    )
    reply = get_object_or_404(visible, pk=pk)
    return serve_upload(reply.attachment.name, download_as=f"reply-{reply.pk}")
