"""Reads about invoice requests that pages and the API share (scoping itself is the models'
`for_merchant` / `for_consumer`, see `core.scoping`)."""

from __future__ import annotations

from django.db.models import F, Q, Subquery

from core.scoping import AnyOfSubquery

from .models import InvoiceRequest, Order

LIVE_STATES = (InvoiceRequest.State.PENDING, InvoiceRequest.State.ISSUED)


def reissue_target(order: Order) -> tuple[InvoiceRequest | None, InvoiceRequest | None]:
    """The order's latest request, and the request a new one would re-issue (补开): the latest
    one if it ended without an invoice (refused or withdrawn), else None. Exchanges (换开) are
    not in this line: they live beside the issued request they would replace."""
    previous = (
        order.invoice_requests.exclude(kind=InvoiceRequest.Kind.EXCHANGE)
        .order_by("-requested_at", "-id")
        .first()
    )
    if previous is not None and previous.state in InvoiceRequest.REISSUABLE_STATES:
        return previous, previous
    return previous, None


def can_reissue(invoice_request: InvoiceRequest) -> bool:
    """The consumer may ask for a re-issue of this request: it ended without an invoice and no
    other request of the order is live."""
    return (
        invoice_request.state in InvoiceRequest.REISSUABLE_STATES
        and invoice_request.kind != InvoiceRequest.Kind.EXCHANGE
        and not invoice_request.order.invoice_requests.filter(state__in=LIVE_STATES).exists()
    )


def order_number_or_title(q: str) -> Q:
    """The merchant list's search: the exact order number or part of the title. The order is
    looked up first by its unique number (`order_id = ANY(ARRAY(SELECT ...))`), so that both
    sides of the OR are conditions on the request's own row, read among the shop's rows only;
    a join to the orders under the OR would make PostgreSQL read every order."""
    orders = Subquery(Order.objects.for_system().filter(number=q).order_by().values("pk"))
    return Q(AnyOfSubquery(F("order"), orders)) | Q(title__icontains=q)
