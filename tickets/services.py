"""Writes for urge tickets (spec 4): opening (job and consumer alike), urging, replying, and the
answer an invoice upload gives. Each is one transaction with its history rows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from invoices.models import InvoiceRequest
from invoices.services import history_record, require_shop_writer
from invoices.validators import validate_invoice_file
from jdpop.errors import DomainError

from .models import Penalty, TicketReply, UrgeTicket

Resolution = UrgeTicket.Resolution
CHINA = ZoneInfo("Asia/Shanghai")

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


def promise_due_at(promised: date) -> datetime:
    """The end of the promised date in China time: the promise is broken from this instant."""
    return datetime.combine(promised + timedelta(days=1), time.min, tzinfo=CHINA)


# The overdue requests of new-flow shops still without a ticket, oldest first, after a cursor.
_OPEN_CANDIDATES = """
SELECT r.id, r.shop_id, r.overdue_at
FROM invoices_invoicerequest r
JOIN invoices_shop s ON s.id = r.shop_id
WHERE r.state = 'pending' AND r.overdue_at IS NOT NULL AND r.overdue_at < %(now)s
  AND s.new_flow_since IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM tickets_urgeticket t WHERE t.request_id = r.id)
  {where}
ORDER BY r.overdue_at, r.id
LIMIT %(limit)s
{lock}
"""
_AFTER = "AND r.overdue_at >= %(after_at)s AND (r.overdue_at > %(after_at)s OR r.id > %(after_id)s)"
_OPEN_INSERT = """
INSERT INTO tickets_urgeticket (request_id, shop_id, state, opened_at, opened_via, reply_due_at,
                                urge_count, sla, resolution, resolution_note, promise_state)
SELECT id, shop_id, 'awaiting_reply', %(now)s, %(via)s, %(due)s, 0, '', '', '', ''
FROM {source} WHERE true
ON CONFLICT (request_id) DO NOTHING
RETURNING id, request_id, shop_id
"""
_HISTORY_INSERT = (
    "INSERT INTO invoices_historyentry (request_id, subject, subject_id, actor_id, action, "
    "state_from, state_to, data, at) "
)
_OUTBOX_INSERT = (
    "INSERT INTO tickets_outboxmessage (key, kind, payload, created_at, attempts, last_error) "
)
# PostgreSQL: one statement. The requests are claimed: one being issued, urged or opened by
# another transaction right now is left to it (read from a snapshot it would look pending and
# ticketless); NO KEY UPDATE does not block the foreign-key checks of the inserts.
_PG_LOCK = "FOR NO KEY UPDATE OF r SKIP LOCKED"
_OPEN_PG = f"""
WITH candidates AS ({_OPEN_CANDIDATES.replace("{lock}", _PG_LOCK)}
), opened AS ({_OPEN_INSERT.format(source="candidates")}
), history AS (
    {_HISTORY_INSERT}
    SELECT request_id, 'ticket', id, %(actor)s, 'ticket_opened', '', 'awaiting_reply',
           %(data)s::jsonb, %(now)s FROM opened
), outbox AS (
    {_OUTBOX_INSERT}
    SELECT 'ticket:' || id || ':opened', 'ticket_opened',
           jsonb_build_object('ticket_id', id, 'request_id', request_id, 'shop_id', shop_id),
           %(now)s, 0, ''
    FROM opened
    ON CONFLICT (key) DO NOTHING
)
SELECT id, request_id, NULL::timestamptz, NULL::bigint FROM opened
UNION ALL
(SELECT NULL, id, overdue_at, (SELECT count(*) FROM candidates) FROM candidates
 ORDER BY overdue_at DESC, id DESC LIMIT 1)
"""

Cursor = tuple[object, int]  # (overdue_at as the database returns it, request id)


def tickets_open(
    *,
    request_ids: Sequence[int] | None,
    now: datetime,
    via: str,
    by: AbstractBaseUser | None = None,
    limit: int | None = None,
) -> list[tuple[int, int]]:
    """Open the tickets of the overdue requests (all of them, or those of `request_ids`), with
    their history and their "ticket opened" message, in the caller's transaction or one of its
    own. The one code path for the beat job and the consumer's urge: a request already holding
    a ticket is skipped by the unique key (`ON CONFLICT DO NOTHING`), whoever got there first.
    Returns (ticket id, request id) of the tickets it created."""
    return tickets_open_batch(request_ids=request_ids, now=now, via=via, by=by, limit=limit)[0]


def tickets_open_batch(
    *,
    request_ids: Sequence[int] | None = None,
    now: datetime,
    via: str,
    by: AbstractBaseUser | None = None,
    limit: int | None = None,
    after: Cursor | None = None,
) -> tuple[list[tuple[int, int]], Cursor | None]:
    """`tickets_open`, also returning the cursor of the last request it looked at, or None
    when it looked at fewer than `limit` (nothing left), so that the job's next batch starts
    after it instead of walking again past the requests this batch just gave a ticket."""
    adapt = connection.ops.adapt_datetimefield_value
    params: dict = {
        "now": adapt(now),
        "via": via,
        "due": adapt(now + settings.JDPOP_REPLY_WINDOW),
        "limit": limit or 1_000_000,
        "actor": by.pk if by is not None and by.is_authenticated else None,
        "data": json.dumps({"via": via}),
    }
    where = ""
    if request_ids is not None:
        if not request_ids:
            return [], None
        marks = ", ".join(f"%(id{i})s" for i in range(len(request_ids)))
        where = f"AND r.id IN ({marks})"
        params.update({f"id{i}": rid for i, rid in enumerate(request_ids)})
    if after is not None:
        where += " " + _AFTER
        params.update(after_at=after[0], after_id=after[1])
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_OPEN_PG.format(where=where), params)
            rows = cursor.fetchall()
            opened = [(r[0], r[1]) for r in rows if r[0] is not None]
            last = [r for r in rows if r[0] is None]
            if not last or last[0][3] < params["limit"]:
                return opened, None
            return opened, (last[0][2], last[0][1])
        return _open_sqlite(cursor, where, params)


def _open_sqlite(cursor, where: str, params: dict) -> tuple[list[tuple[int, int]], Cursor | None]:
    """SQLite (one writer at a time, no row locks): the same writes, a statement each."""
    cursor.execute(_OPEN_CANDIDATES.format(where=where, lock=""), params)
    candidates = cursor.fetchall()
    if not candidates:
        return [], None
    params["ids"] = json.dumps([c[0] for c in candidates])
    source = (
        "(SELECT id, shop_id FROM invoices_invoicerequest "
        "WHERE id IN (SELECT value FROM json_each(%(ids)s)))"
    )
    cursor.execute(_OPEN_INSERT.format(source=source), params)
    rows = cursor.fetchall()
    if rows:
        cursor.executemany(
            f"{_HISTORY_INSERT} VALUES (%s, 'ticket', %s, %s, 'ticket_opened', '', "
            "'awaiting_reply', %s, %s)",
            [(r[1], r[0], params["actor"], params["data"], params["now"]) for r in rows],
        )
        cursor.executemany(
            f"{_OUTBOX_INSERT} VALUES (%s, 'ticket_opened', %s, %s, 0, '') "
            "ON CONFLICT (key) DO NOTHING",
            [
                (
                    f"ticket:{r[0]}:opened",
                    json.dumps({"ticket_id": r[0], "request_id": r[1], "shop_id": r[2]}),
                    params["now"],
                )
                for r in rows
            ],
        )
    if len(candidates) < params["limit"]:
        return [(r[0], r[1]) for r in rows], None
    return [(r[0], r[1]) for r in rows], (candidates[-1][2], candidates[-1][0])


def ticket_urge(
    *, invoice_request: InvoiceRequest, by: AbstractBaseUser, at: datetime | None = None
) -> UrgeTicket:
    """The consumer presses 催开票 on an overdue request (spec 4.2): the ticket opens at once if
    the job has not opened it; each press is counted and never moves the reply deadline."""
    at = at or timezone.now()
    if invoice_request.consumer_id != by.pk:
        raise InvoiceRequest.DoesNotExist
    with transaction.atomic():
        # NO KEY UPDATE: the ticket's own insert checks its foreign key with KEY SHARE.
        fresh = InvoiceRequest.objects.select_for_update(no_key=True).get(pk=invoice_request.pk)
        if not fresh.is_overdue(at):
            raise DomainError(
                "not_overdue",
                _(
                    "You can urge the merchant once the invoice is more than %(days)d days "
                    "overdue and still not issued."
                )
                % {"days": settings.JDPOP_OVERDUE_AFTER.days},
            )
        tickets_open(request_ids=[fresh.pk], now=at, via="consumer", by=by)
        UrgeTicket.objects.filter(request_id=fresh.pk).update(
            urge_count=F("urge_count") + 1, last_urged_at=at
        )
        ticket = UrgeTicket.objects.get(request_id=fresh.pk)
        history_record(
            request_id=fresh.pk,
            subject="ticket",
            subject_id=ticket.pk,
            actor=by,
            action="ticket_urged",
            data={"urge_count": ticket.urge_count},
            at=at,
        )
    return ticket


def _clean_reply(
    *,
    ticket: UrgeTicket,
    resolution: str,
    note: str,
    promised_date: date | None,
    attachment: File | None,
    at: datetime,
) -> str | None:
    """The reply's errors by field (nothing is written when there is one)."""
    errors: dict[str, list] = {}
    need = REQUIREMENTS.get(resolution)
    if need is None:
        raise ValidationError({"resolution": _("Choose one of the four resolutions.")})
    if need["note"] and not note.strip():
        errors["note"] = [_("This resolution needs a note for the consumer and the platform.")]
    if (
        need["uploaded"]
        and not InvoiceRequest.objects.filter(
            pk=ticket.request_id, state=InvoiceRequest.State.ISSUED
        ).exists()
    ):
        errors["resolution"] = [
            _("已开发票 can only be sent once the invoice is uploaded: upload it instead.")
        ]
    if need["date"]:
        today = timezone.localtime(at, CHINA).date()
        if promised_date is None:
            errors["promised_date"] = [_("Give the agreed issue date.")]
        elif promised_date <= today:
            errors["promised_date"] = [_("The agreed issue date must be after today.")]
    detected = None
    if attachment is not None:
        try:
            detected = validate_invoice_file(attachment)
        except ValidationError as e:
            errors["attachment"] = e.error_list
    if errors:
        raise ValidationError(errors)
    return detected.extension if detected is not None else None


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
    ticket = UrgeTicket.objects.select_for_update(no_key=True).get(pk=ticket_id)
    was = ticket.state
    answered = UrgeTicket.objects.filter(
        pk=ticket.pk, state=UrgeTicket.State.AWAITING_REPLY
    ).update(state=UrgeTicket.State.ANSWERED, answered_at=at)
    # A reply to a breached ticket is late even if it claims an earlier time.
    late = at > ticket.reply_due_at or ticket.state == UrgeTicket.State.BREACHED
    sla = UrgeTicket.Sla.LATE if late else UrgeTicket.Sla.MET
    recorded = UrgeTicket.objects.filter(pk=ticket.pk, sla="").update(sla=sla, sla_at=at)
    changes: dict = {"resolution": resolution, "resolution_note": note}
    changes.update(_promise_changes(ticket, resolution, promised_date))
    UrgeTicket.objects.filter(pk=ticket.pk).update(**changes)
    reply = TicketReply.objects.create(
        ticket=ticket,
        by=by if by is not None and by.is_authenticated else None,
        at=at,
        resolution=resolution,
        note=note,
        promised_date=promised_date if resolution == Resolution.DATE_AGREED else None,
        attachment=attachment_name,
        late=late,
    )
    if recorded and late:
        Penalty.objects.create(
            shop_id=ticket.shop_id,
            kind=Penalty.Kind.LATE_REPLY,
            ticket=ticket,
            at=at,
            evidence={
                "ticket_id": ticket.pk,
                "request_id": ticket.request_id,
                "reply_due_at": ticket.reply_due_at.isoformat(),
                "replied_at": at.isoformat(),
            },
        )
    history_record(
        request_id=ticket.request_id,
        subject="ticket",
        subject_id=ticket.pk,
        actor=by,
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
    note = (note or "").strip()
    ext = _clean_reply(
        ticket=ticket,
        resolution=resolution,
        note=note,
        promised_date=promised_date,
        attachment=attachment,
        at=at,
    )
    name = ""
    if attachment is not None:
        name = default_storage.save(
            f"tickets/{ticket.shop_id}/{ticket.pk}/{timezone.now():%Y%m%d%H%M%S%f}.{ext}",
            attachment,
        )
    try:
        with transaction.atomic():
            return _record_reply(
                ticket_id=ticket.pk,
                by=by,
                resolution=resolution,
                note=note,
                promised_date=promised_date,
                attachment_name=name,
                at=at,
            )
    except Exception:
        if name:
            default_storage.delete(name)
        raise


def ticket_answer_by_upload(
    *, invoice_request: InvoiceRequest, by: AbstractBaseUser, at: datetime
) -> None:
    """Uploading the invoice answers the request's urge ticket as 已开发票 (spec 4.3), in the
    upload's transaction; a pending promise is kept."""
    ticket_id = (
        UrgeTicket.objects.filter(request_id=invoice_request.pk)
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
