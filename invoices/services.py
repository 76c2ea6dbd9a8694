"""Writes for invoice requests (spec 3): request, re-issue, issue with upload, refuse, cancel.

Each transition is one transaction: a conditional UPDATE from the expected state (zero rows
means another actor won and we say so), then the history entry, in the same transaction.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict, DomainError
from core.history import history_record
from core.roles import require_shop_writer
from core.text import text_field, visible
from core.uploads import check_upload, saved_upload

from .matching import check
from .models import InvoiceRequest, Order
from .overdue import overdue_at_for
from .reading import InvoiceReading, read_invoice
from .signals import invoice_issued, invoice_refused
from .validators import validate_invoice_number, validate_tax_id

State = InvoiceRequest.State


def clean_request_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Validate a consumer's invoice details (spec 3); raise ValidationError per field."""
    R = InvoiceRequest
    names = (
        "title_type",
        "title",
        "tax_id",
        "invoice_kind",
        "email",
        "registered_address",
        "registered_phone",
        "bank_name",
        "bank_account",
    )
    # A title of zero-width spaces is no title: invisible characters go before any check.
    fields = {name: visible(str(data.get(name) or "")) for name in names}
    fields["tax_id_warning"] = ""
    errors: dict[str, list] = {}

    def add(field: str, message: str, code: str) -> None:
        errors.setdefault(field, []).append(ValidationError(message, code=code))

    if fields["title_type"] not in R.TitleType.values:
        add("title_type", _("Choose a person or an organisation title."), "title_type")
    if not fields["title"]:
        add("title", _("The invoice title is required."), "required")
    if fields["invoice_kind"] not in R.InvoiceKind.values:
        add("invoice_kind", _("Choose an invoice kind."), "invoice_kind")
    organisation = fields["title_type"] == R.TitleType.ORGANISATION
    special = fields["invoice_kind"] in R.SPECIAL_KINDS
    if special and not organisation:
        add(
            "invoice_kind",
            _("A special VAT invoice can only be made out to an organisation."),
            "special_needs_organisation",
        )
    if organisation and not fields["tax_id"]:
        add("tax_id", _("An organisation title needs its tax id."), "required")
    elif fields["tax_id"]:
        try:
            tax_id = validate_tax_id(fields["tax_id"])
        except ValidationError as e:
            errors.setdefault("tax_id", []).extend(e.error_list)
        else:
            fields["tax_id"] = tax_id.value
            fields["tax_id_warning"] = str(tax_id.warning or "")
    if fields["invoice_kind"] in R.ELECTRONIC_KINDS:
        if not fields["email"]:
            add("email", _("An electronic invoice needs an e-mail address."), "required")
    if fields["email"]:
        from django.core.validators import validate_email

        try:
            validate_email(fields["email"])
        except ValidationError:
            add("email", _("Enter a valid e-mail address."), "invalid")
    if fields["invoice_kind"] == R.InvoiceKind.VAT_SPECIAL:
        for name, label in (
            ("registered_address", _("registered address")),
            ("registered_phone", _("registered phone")),
            ("bank_name", _("bank")),
            ("bank_account", _("bank account")),
        ):
            if not fields[name]:
                add(
                    name,
                    _("A VAT special invoice needs the %(field)s.") % {"field": label},
                    "required",
                )
    for name in fields:
        max_length = R._meta.get_field(name).max_length
        if max_length and len(fields[name]) > max_length:
            add(name, _("At most %(n)d characters.") % {"n": max_length}, "max_length")
    if errors:
        raise ValidationError(errors)
    return fields


def invoice_request_create(
    *,
    consumer: AbstractBaseUser,
    order: Order,
    data: dict[str, Any],
    reissue_of: InvoiceRequest | None = None,
) -> InvoiceRequest:
    """A consumer asks for an invoice on an order of theirs, at any time before it is cancelled
    or returned (usually at checkout), or for a re-issue (补开) after an earlier request of the
    same order ended without an invoice. Its overdue instant waits for the order's completion
    (`overdue.overdue_at_for`)."""
    if order.consumer_id != consumer.pk:
        raise PermissionDenied(_("This is not your order."))
    if order.is_closed:
        raise DomainError(
            "order_closed",
            _("No invoice can be requested for a cancelled or returned order."),
        )
    if reissue_of is not None and (
        reissue_of.order_id != order.pk or reissue_of.state not in InvoiceRequest.REISSUABLE_STATES
    ):
        raise Conflict("not_reissuable", _("Only a refused or withdrawn request can be re-issued."))
    fields = clean_request_fields(data)
    now = timezone.now()
    kind = InvoiceRequest.Kind.REISSUE if reissue_of else InvoiceRequest.Kind.ORIGINAL
    try:
        with transaction.atomic():
            # The order as it is now, locked against the platform's feed until we commit: the
            # feed then sees this request (and cancels it or sets its overdue instant), or we
            # see the feed's change.
            order = (
                Order.objects.for_system()
                .select_for_update(no_key=True, of=("self",))
                .select_related("shop")
                .get(pk=order.pk)
            )
            if order.is_closed:
                raise DomainError(
                    "order_closed",
                    _("No invoice can be requested for a cancelled or returned order."),
                )
            if (
                reissue_of is None
                and InvoiceRequest.objects.for_system().filter(order=order).exists()
            ):
                raise Conflict(
                    "already_requested", _("An invoice was already requested for this order.")
                )
            invoice_request = InvoiceRequest.objects.create(
                order=order,
                shop_id=order.shop_id,
                consumer=consumer,
                kind=kind,
                reissue_of=reissue_of,
                requested_at=now,
                overdue_at=overdue_at_for(
                    requested_at=now,
                    flow_since=order.shop.new_flow_since,
                    completed_at=order.completed_at,
                ),
                **fields,
            )
            _history(
                invoice_request,
                by=consumer,
                action="reissue_requested" if reissue_of else "requested",
                state_to=State.PENDING,
                at=now,
                data={"invoice_kind": fields["invoice_kind"], "title": fields["title"]},
            )
    except IntegrityError as e:  # the partial unique index: another live request won the race
        raise Conflict(
            "already_requested", _("An invoice request for this order is already open.")
        ) from e
    return invoice_request


def _history(invoice_request: InvoiceRequest, *, by: AbstractBaseUser | None, **entry: Any) -> None:
    """Append the request's history row; `entry` is the rest of `history_record`'s arguments.
    Call inside the change's transaction."""
    history_record(
        request_id=invoice_request.pk,
        subject="request",
        subject_id=invoice_request.pk,
        actor=by,
        **entry,
    )


def _transition(
    invoice_request: InvoiceRequest,
    *,
    by: AbstractBaseUser | None,
    action: str,
    to: str,
    changes: dict[str, Any],
    data: dict | None = None,
) -> InvoiceRequest:
    """Move a pending request to `to` if, and only if, it is still pending."""
    requests = InvoiceRequest.objects.for_system()
    updated = requests.filter(pk=invoice_request.pk, state=State.PENDING).update(
        state=to, **changes
    )
    if not updated:
        current = requests.filter(pk=invoice_request.pk).values_list("state", flat=True).first()
        raise Conflict(
            "not_pending",
            _("This request is no longer pending (it is now %(state)s)."),
            state=State(current).label if current else "?",
        )
    _history(
        invoice_request,
        by=by,
        action=action,
        state_from=State.PENDING,
        state_to=to,
        data=data,
        at=changes.get(f"{action}_at"),
    )
    invoice_request.refresh_from_db()
    return invoice_request


class _NotRead:
    def __repr__(self) -> str:
        return "NOT_READ"


NOT_READ: Any = _NotRead()  # `invoice_request_issue` reads the file itself


def _file_content(f: File) -> bytes:
    f.seek(0)
    try:
        return f.read()
    finally:
        f.seek(0)


def invoice_request_issue(
    *,
    invoice_request: InvoiceRequest,
    by: AbstractBaseUser,
    file: File,
    invoice_code: str = "",
    invoice_number: str = "",
    reading: InvoiceReading | None = NOT_READ,
) -> InvoiceRequest:
    """The merchant uploads the invoice: the request becomes issued, and whatever waits for
    the invoice (an open urge ticket, answered as 已开发票) hears of it in the same
    transaction through the `invoice_issued` signal.

    The file is read back (`reading.read_invoice`, unless the caller already did and passes
    `reading`) and matched to the request (`matching.check`): a mismatch is refused on the
    file field with each difference named; verified or unreadable is stored with the invoice
    and in the history. With no number typed, the number read from the file is taken."""
    require_shop_writer(by, invoice_request.shop_id)
    errors: dict[str, list] = {}
    detected = check_upload(file, errors, "file")
    if reading is NOT_READ:
        reading = read_invoice(_file_content(file), detected) if detected else None
    if not (invoice_number or "").strip() and reading is not None and reading.number:
        invoice_code, invoice_number = reading.code, reading.number
    try:
        code, number = validate_invoice_number(invoice_code or "", invoice_number or "")
    except ValidationError as e:
        errors["invoice_number"] = e.error_list
    if errors:
        raise ValidationError(errors)
    result = check(invoice_request, reading, invoice_code=code, invoice_number=number)
    if not result.ok:
        raise ValidationError(
            {
                "file": [
                    ValidationError(m.message, code="invoice_mismatch") for m in result.mismatches
                ]
            }
        )
    read = reading.as_json() if reading is not None else {}
    if invoice_request.state != State.PENDING:  # cheap early answer; the UPDATE decides
        raise Conflict("not_pending", _("This request is no longer pending."))
    folder = f"invoices/{invoice_request.shop_id}/{invoice_request.pk}"
    now = timezone.now()
    with saved_upload(file, detected, folder=folder) as name, transaction.atomic():
        _transition(
            invoice_request,
            by=by,
            action="issued",
            to=State.ISSUED,
            changes={
                "issued_at": now,
                "invoice_code": code,
                "invoice_number": number,
                "invoice_file": name,
                "invoice_content_type": detected.content_type,
                "invoice_check": result.outcome,
                "invoice_read": read,
            },
            data={
                "invoice_code": code,
                "invoice_number": number,
                "file": name,
                "check": result.outcome,
                "read": read,
            },
        )
        invoice_issued.send(sender=InvoiceRequest, invoice_request=invoice_request, by=by, at=now)
    return invoice_request


def invoice_request_refuse(
    *,
    invoice_request: InvoiceRequest,
    by: AbstractBaseUser,
    reason: str,
) -> InvoiceRequest:
    """The merchant refuses to issue, with a reason the consumer reads (and may dispute)."""
    require_shop_writer(by, invoice_request.shop_id)
    errors: dict[str, list] = {}
    reason = text_field(
        {"reason": reason},
        "reason",
        errors,
        required=True,
        required_message=_("Say why the invoice is refused."),
    )
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        refused = _transition(
            invoice_request,
            by=by,
            action="refused",
            to=State.REFUSED,
            changes={"refused_at": now, "refuse_reason": reason},
            data={"reason": reason},
        )
        invoice_refused.send(sender=InvoiceRequest, invoice_request=refused, by=by, at=now)
        return refused


def invoice_request_cancel(
    *,
    invoice_request: InvoiceRequest,
    by: AbstractBaseUser,
) -> InvoiceRequest:
    """The consumer withdraws a pending request."""
    if invoice_request.consumer_id != by.pk:
        raise PermissionDenied(_("Only the consumer who asked can withdraw the request."))
    with transaction.atomic():
        return _transition(
            invoice_request,
            by=by,
            action="cancelled",
            to=State.CANCELLED,
            changes={"cancelled_at": timezone.now()},
        )
