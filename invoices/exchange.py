"""Exchange (换开, spec 11): the consumer asks for an issued invoice to be replaced.

An exchange is a new request of kind "exchange" whose `reissue_of` is the issued request whose
invoice it replaces, with the reason, an optional note (required for "other") and the corrected
details, validated exactly like a new request. It then runs like a re-issue: its own 10-day
clock from its own request time (`overdue_at`), its own urge ticket, its disputes; the shop
issues the replacement through the normal upload (matched against the exchange's own corrected
details) or refuses it with a reason.

- Only the consumer of the order asks, for an issued invoice not yet replaced, while no other
  exchange of the order is pending. The database's partial unique index
  (`ir_one_pending_exchange_per_order`) decides races; the original row is locked while asking,
  so an ask cannot slip past a replacement being issued at that moment.
- The original stays issued (and downloadable). When the replacement is issued, the original
  gets `replaced_at` and a "replaced" history row, in the issue's transaction
  (`on_invoice_issued`, a receiver of `invoice_issued`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, DomainError
from core.history import history_record
from core.text import text_field

from .models import InvoiceRequest
from .overdue import overdue_at_for
from .services import clean_request_fields
from .signals import exchange_requested

State = InvoiceRequest.State
Kind = InvoiceRequest.Kind
Reason = InvoiceRequest.ExchangeReason


def _pending_exchange_of_order(order_id: int) -> InvoiceRequest | None:
    return (
        InvoiceRequest.objects.for_system()
        .filter(order_id=order_id, kind=Kind.EXCHANGE, state=State.PENDING)
        .first()
    )


def exchange_problem(invoice: InvoiceRequest) -> DomainError | None:
    """Why the consumer may not ask to exchange `invoice` now, or None if they may (the detail
    page shows the button only when this is None)."""
    if invoice.state != State.ISSUED:
        return Conflict("not_issued", _("Only an issued invoice can be exchanged."))
    if invoice.replaced_at is not None:
        return Conflict(
            "already_replaced",
            _("This invoice was already replaced; ask for an exchange of the new one."),
        )
    if invoice.order.is_closed:
        return DomainError(
            "order_closed",
            _("The invoice of a cancelled or returned order cannot be exchanged."),
        )
    if _pending_exchange_of_order(invoice.order_id) is not None:
        return Conflict(
            "exchange_pending",
            _("An exchange of this order's invoice is already waiting for the shop."),
        )
    return None


def clean_exchange_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The reason, the note and the corrected details of an exchange; ValidationError per
    field (the details' errors exactly as for a new request)."""
    errors: dict[str, list] = {}
    reason = str(data.get("exchange_reason") or "")
    if reason not in Reason.values:
        errors["exchange_reason"] = [
            ValidationError(_("Choose why the invoice needs exchanging."), code="invalid")
        ]
    note = text_field(
        data,
        "exchange_note",
        errors,
        required=reason == Reason.OTHER,
        required_message=_("Say what is wrong with the invoice."),
    )
    try:
        fields = clean_request_fields(data)
    except ValidationError as e:
        for field, field_errors in e.error_dict.items():
            errors.setdefault(field, []).extend(field_errors)
        fields = {}
    if errors:
        raise ValidationError(errors)
    return {**fields, "exchange_reason": reason, "exchange_note": note}


def invoice_exchange_request(
    *, consumer: AbstractBaseUser, invoice: InvoiceRequest, data: dict[str, Any]
) -> InvoiceRequest:
    """The consumer asks to exchange (换开) the issued invoice of `invoice` (see the module
    docstring). Returns the new pending exchange request."""
    if invoice.consumer_id != consumer.pk:
        raise PermissionDenied(_("This is not your order."))
    problem = exchange_problem(invoice)
    if problem is not None:
        raise problem
    fields = clean_exchange_fields(data)
    now = timezone.now()
    requests = InvoiceRequest.objects.for_system()
    try:
        with transaction.atomic():
            # NO KEY UPDATE: the new row's foreign key to it takes KEY SHARE, which this allows;
            # the replacement's `replaced_at` update waits for us, and we for it.
            locked = (
                requests.select_for_update(no_key=True, of=("self",))
                .select_related("order", "shop")
                .get(pk=invoice.pk)
            )
            problem = exchange_problem(locked)
            if problem is not None:
                raise problem
            exchange = InvoiceRequest.objects.create(
                order_id=locked.order_id,
                shop_id=locked.shop_id,
                consumer=consumer,
                kind=Kind.EXCHANGE,
                reissue_of=locked,
                requested_at=now,
                overdue_at=overdue_at_for(
                    requested_at=now,
                    flow_since=locked.shop.new_flow_since,
                    completed_at=locked.order.completed_at,
                ),
                **fields,
            )
            about = {
                "reason": fields["exchange_reason"],
                "note": fields["exchange_note"],
                "replaces": locked.pk,
                "invoice_number": locked.invoice_number,
            }
            for request_id, entry in (
                (exchange.pk, {"state_to": State.PENDING}),
                (locked.pk, {}),
            ):
                history_record(
                    request_id=request_id,
                    subject="request",
                    subject_id=exchange.pk,
                    actor=consumer,
                    action="exchange_requested",
                    data={
                        **about,
                        "exchange": exchange.pk,
                        "title": fields["title"],
                        "invoice_kind": fields["invoice_kind"],
                    },
                    at=now,
                    **entry,
                )
            exchange_requested.send(sender=InvoiceRequest, invoice_request=exchange, at=now)
    except IntegrityError as e:  # the partial unique index: another exchange won the race
        if _pending_exchange_of_order(invoice.order_id) is None:
            raise
        raise Conflict(
            "exchange_pending",
            _("An exchange of this order's invoice is already waiting for the shop."),
        ) from e
    return exchange


def replacement_of(invoice: InvoiceRequest) -> InvoiceRequest | None:
    """The issued exchange whose invoice replaced `invoice`'s, if it was replaced."""
    if invoice.replaced_at is None:
        return None
    return (
        InvoiceRequest.objects.for_system()
        .filter(reissue_of_id=invoice.pk, kind=Kind.EXCHANGE, state=State.ISSUED)
        .order_by("-issued_at", "-id")
        .first()
    )


def on_invoice_issued(
    *, invoice_request: InvoiceRequest, by: AbstractBaseUser | None, at: datetime, **kwargs: Any
) -> None:
    """An exchange's replacement was issued: its original is replaced from now, with a history
    row on it, in the issue's transaction. (A receiver of `invoice_issued`.)"""
    if invoice_request.kind != Kind.EXCHANGE:
        return
    original_id = invoice_request.reissue_of_id
    replaced = (
        InvoiceRequest.objects.for_system()
        .filter(pk=original_id, state=State.ISSUED, replaced_at__isnull=True)
        .update(replaced_at=at)
    )
    if replaced:
        history_record(
            request_id=original_id,
            subject="request",
            subject_id=original_id,
            actor=by,
            action="replaced",
            data={
                "by_request": invoice_request.pk,
                "invoice_code": invoice_request.invoice_code,
                "invoice_number": invoice_request.invoice_number,
            },
            at=at,
        )


def exchange_record(invoice: InvoiceRequest) -> dict[str, InvoiceRequest | None]:
    """What the detail pages show of an invoice's exchanges: the invoice an exchange replaces
    (`exchange_of`), the exchange that replaced it (`replaced_by`), and an exchange of it still
    waiting for the shop (`pending_exchange`)."""
    requests = InvoiceRequest.objects.for_system()
    pending = None
    if invoice.state == State.ISSUED and invoice.replaced_at is None:
        pending = requests.filter(
            reissue_of_id=invoice.pk, kind=Kind.EXCHANGE, state=State.PENDING
        ).first()
    exchange_of = None
    if invoice.kind == Kind.EXCHANGE:
        exchange_of = requests.filter(pk=invoice.reissue_of_id).first()
    return {
        "exchange_of": exchange_of,
        "replaced_by": replacement_of(invoice),
        "pending_exchange": pending,
    }
