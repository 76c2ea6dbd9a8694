"""The merchant's replies to an urge ticket (spec 4.3): one of four resolutions, each with
what it requires; final once sent (a correction is a new, dated reply); the SLA recorded once.
Uploading the invoice answers the ticket too (`ticket_answer_by_upload`, connected to
`invoices.signals.invoice_issued`)."""

from __future__ import annotations

from datetime import date, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.history import actor_or_none
from core.roles import require_shop_writer
from core.text import text_field
from core.uploads import DetectedFile, check_upload, saved_upload
from invoices.models import InvoiceRequest

from ..models import TicketReply, UrgeTicket
from ..rules import promise_date_error, promise_due_at, reply_is_late
from ..signals import reply_late, ticket_replied
from ._common import ticket_history

Resolution = UrgeTicket.Resolution

# What each resolution requires before it can be sent (spec 4.3); the forms show this.
REQUIREMENTS: dict[str, dict[str, bool]] = {
    Resolution.ISSUED: {"note": False, "date": False, "attachment": False, "uploaded": True},
    Resolution.NO_INVOICE_NEEDED: {
        "note": True,
        "date": False,
        "attachment": False,
        "uploaded": False,
    },
    Resolution.CANNOT_ISSUE: {"note": True, "date": False, "attachment": False, "uploaded": False},
    Resolution.DATE_AGREED: {"note": True, "date": True, "attachment": False, "uploaded": False},
}


def reply_requirements() -> dict[str, dict]:
    """Per resolution: its label and whether it needs a note, a date, an attachment, or the
    invoice already uploaded."""
    return {value: {"label": label, **REQUIREMENTS[value]} for value, label in Resolution.choices}


def _clean_reply(
    *,
    ticket: UrgeTicket,
    resolution: str,
    note: str,
    promised_date: date | None,
    attachment: File | None,
    at: datetime,
) -> tuple[str, DetectedFile | None]:
    """The reply's errors by field (nothing is written when there is one); else its cleaned
    note and the attachment's detected type."""
    errors: dict[str, list] = {}
    need = REQUIREMENTS.get(resolution)
    if need is None:
        raise ValidationError({"resolution": _("Choose one of the four resolutions.")})
    note = text_field(
        {"note": note},
        "note",
        errors,
        required=need["note"],
        required_message=_("This resolution needs a note for the consumer and the platform."),
    )
    if (
        need["uploaded"]
        and not InvoiceRequest.objects.for_system()
        .filter(pk=ticket.request_id, state=InvoiceRequest.State.ISSUED)
        .exists()
    ):
        errors["resolution"] = [
            _("已开发票 can only be sent once the invoice is uploaded: upload it instead.")
        ]
    if need["date"] and (problem := promise_date_error(promised_date, at=at)):
        errors["promised_date"] = [problem]
    detected = check_upload(attachment, errors, "attachment")
    if errors:
        raise ValidationError(errors)
    return note, detected


def _promise_changes(ticket: UrgeTicket, resolution: str, promised_date: date | None) -> dict:
    """How a reply changes the ticket's promise. A pending promise is kept by the upload,
    replaced by a new date, or withdrawn by another resolution; a kept or broken promise is
    settled and stays as it was (a new date after a broken one does not wipe the breach)."""
    Promise = UrgeTicket.PromiseState
    if ticket.promise_state in (Promise.KEPT, Promise.BROKEN):
        return {}
    if resolution == Resolution.DATE_AGREED:
        return {
            "promised_date": promised_date,
            "promise_due_at": promise_due_at(promised_date),
            "promise_state": Promise.PENDING,
        }
    if ticket.promise_state != Promise.PENDING:
        return {}
    if resolution == Resolution.ISSUED:
        return {"promise_state": Promise.KEPT}
    return {"promise_state": Promise.NONE, "promise_due_at": None}  # withdrawn


def _record_reply(
    *,
    ticket_id: int,
    by: AbstractBaseUser | None,
    resolution: str,
    note: str,
    promised_date: date | None,
    attachment_name: str,
    at: datetime,
) -> TicketReply:
    """Inside a transaction: store the reply, answer the ticket and record its SLA once."""
    tickets = UrgeTicket.objects.for_system()
    ticket = tickets.select_for_update(no_key=True).get(pk=ticket_id)
    was = ticket.state
    answered = tickets.filter(pk=ticket.pk, state=UrgeTicket.State.AWAITING_REPLY).update(
        state=UrgeTicket.State.ANSWERED, answered_at=at
    )
    late = reply_is_late(ticket, at)
    sla = UrgeTicket.Sla.LATE if late else UrgeTicket.Sla.MET
    recorded = tickets.filter(pk=ticket.pk, sla="").update(sla=sla, sla_at=at)
    changes: dict = {"resolution": resolution, "resolution_note": note}
    changes.update(_promise_changes(ticket, resolution, promised_date))
    tickets.filter(pk=ticket.pk).update(**changes)
    reply = TicketReply.objects.create(
        ticket=ticket,
        by=actor_or_none(by),
        at=at,
        resolution=resolution,
        note=note,
        promised_date=promised_date if resolution == Resolution.DATE_AGREED else None,
        attachment=attachment_name,
        late=late,
    )
    if recorded and late:
        reply_late.send(sender=UrgeTicket, ticket=ticket, reply=reply, at=at)
    ticket_history(
        ticket,
        by=by,
        action="ticket_replied" if answered else "ticket_reply_added",
        state_from=was,
        state_to=UrgeTicket.State.ANSWERED if answered else was,
        data={
            "reply_id": reply.pk,
            "resolution": resolution,
            "note": note,
            "promised_date": promised_date.isoformat() if promised_date else None,
            "late": late,
            "sla": sla if recorded else ticket.sla,
        },
        at=at,
    )
    return reply


def ticket_reply(
    *,
    ticket: UrgeTicket,
    by: AbstractBaseUser,
    resolution: str,
    note: str = "",
    promised_date: date | None = None,
    attachment: File | None = None,
    at: datetime | None = None,
) -> TicketReply:
    """The merchant replies to a ticket with one of the four resolutions (spec 4.3). Sending is
    final; a later reply is a correction, a new dated entry. A reply after the deadline is
    accepted and marked late (and, if it is the first answer, a late-reply penalty)."""
    at = at or timezone.now()
    require_shop_writer(by, ticket.shop_id)
    note, detected = _clean_reply(
        ticket=ticket,
        resolution=resolution,
        note=note,
        promised_date=promised_date,
        attachment=attachment,
        at=at,
    )
    folder = f"tickets/{ticket.shop_id}/{ticket.pk}"
    with saved_upload(attachment, detected, folder=folder) as name, transaction.atomic():
        reply = _record_reply(
            ticket_id=ticket.pk,
            by=by,
            resolution=resolution,
            note=note,
            promised_date=promised_date,
            attachment_name=name,
            at=at,
        )
        ticket_replied.send(sender=UrgeTicket, ticket=ticket, reply=reply, at=at)
        return reply


def ticket_answer_by_upload(
    *, invoice_request: InvoiceRequest, by: AbstractBaseUser, at: datetime, **kwargs: object
) -> None:
    """Uploading the invoice answers the request's urge ticket as 已开发票 (spec 4.3), in the
    upload's transaction; a pending promise is kept. (A receiver of `invoice_issued`.)"""
    ticket_id = (
        UrgeTicket.objects.for_system()
        .filter(request_id=invoice_request.pk)
        .values_list("pk", flat=True)
        .first()
    )
    if ticket_id is None:
        return
    _record_reply(
        ticket_id=ticket_id,
        by=by,
        resolution=Resolution.ISSUED,
        note="",
        promised_date=None,
        attachment_name="",
        at=at,
    )
