"""Penalties (spec 8): proposed when the tickets and disputes apps report a violation (see
`penalties.receivers`), confirmed or waived by an arbitrator, or recorded by one (乱填).

Proposing is set-based and exactly-once: one penalty per (ticket, kind) and (dispute, kind), by
unique keys, whatever runs twice. Deciding is a conditional UPDATE from `proposed`, so two
arbitrators cannot both decide; it records who decided, when and why on the penalty and in the
history of the request it concerns (through its dispute or its ticket), in the same transaction.
Both report through `penalties.signals` in that transaction: `penalties_proposed` with the new
ids, `penalty_decided` with the decision (the shop's owners hear of each).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict
from core.history import history_record
from core.roles import require_arbitrator
from core.text import text_field
from disputes.models import Dispute
from tickets.models import UrgeTicket
from tickets.services import ticket_history

from .models import Penalty
from .signals import penalties_proposed, penalty_decided

Kind = Penalty.Kind


def penalties_propose(
    rows: Iterable[dict[str, Any]], *, kind: str, source: str, at: datetime
) -> int:
    """Propose a `kind` penalty for each row (`shop_id`, the `source` ("ticket" or "dispute")
    id as `source_id`, and `evidence`), skipping sources that already have one of that kind.
    Call inside the transaction of the change that found the violation. Returns how many."""
    rows = list(rows)
    ids = [r["source_id"] for r in rows]
    taken = set(
        Penalty.objects.for_system()
        .filter(kind=kind, **{f"{source}_id__in": ids})
        .values_list(f"{source}_id", flat=True)
    )
    new = [
        Penalty(
            shop_id=r["shop_id"],
            kind=kind,
            at=at,
            evidence=r["evidence"],
            **{f"{source}_id": r["source_id"]},
        )
        for r in rows
        if r["source_id"] not in taken
    ]
    # A race the check above cannot see is settled by the unique keys (ON CONFLICT DO NOTHING).
    Penalty.objects.bulk_create(new, ignore_conflicts=True, batch_size=2000)
    if new:
        # ignore_conflicts gives the objects no ids: read them back (a row a racing transaction
        # committed meanwhile may come too; what the receivers write is keyed by penalty id).
        created = (
            Penalty.objects.for_system()
            .filter(kind=kind, **{f"{source}_id__in": [getattr(p, f"{source}_id") for p in new]})
            .values_list("pk", flat=True)
        )
        report_proposed(list(created), at=at)
    return len(new)


def penalty_propose_for_judgment(
    *, dispute: Dispute, kind: str, ticket_id: int | None, evidence: dict, at: datetime
) -> int:
    """Propose the `kind` penalty of a merchant-liable judgment (`penalties.rules`): on the
    dispute and, when given, its urge ticket, unless either already has one of that kind (the
    same violation, recorded by a job or an arbitrator). Both unique keys settle a race
    (ON CONFLICT DO NOTHING). Inside the judgment's transaction; 1 or 0."""
    penalties = Penalty.objects.for_system().filter(kind=kind)
    taken = Q(dispute_id=dispute.pk) | (Q(ticket_id=ticket_id) if ticket_id else Q(pk__in=[]))
    if penalties.filter(taken).exists():
        return 0
    Penalty.objects.bulk_create(
        [
            Penalty(
                shop_id=dispute.shop_id,
                kind=kind,
                dispute_id=dispute.pk,
                ticket_id=ticket_id,
                at=at,
                evidence=evidence,
            )
        ],
        ignore_conflicts=True,
    )
    created = list(penalties.filter(dispute_id=dispute.pk).values_list("pk", flat=True))
    report_proposed(created, at=at)
    return len(created)


def report_proposed(ids: list[int], *, at: datetime) -> None:
    """Tell the apps above (`penalties_proposed`) of newly proposed penalties; inside the
    transaction that proposed them."""
    if ids:
        penalties_proposed.send(sender=Penalty, ids=ids, at=at)


def _subject_of(penalty: Penalty) -> tuple[int, str, int] | None:
    """(request id, subject, subject id) of the dispute or ticket the penalty hangs off."""
    for model, subject, subject_id in (
        (Dispute, "dispute", penalty.dispute_id),
        (UrgeTicket, "ticket", penalty.ticket_id),
    ):
        if not subject_id:
            continue
        request_id = (
            model.objects.for_system()
            .filter(pk=subject_id)
            .values_list("request_id", flat=True)
            .first()
        )
        if request_id:
            return request_id, subject, subject_id
    return None


def _clean_note(note: str, *, required_message: str | None = None) -> str:
    """The arbitrator's note, cleaned and bounded (`core.text`); required with a message."""
    errors: dict[str, list] = {}
    rules = {"required": required_message is not None, "required_message": required_message}
    note = text_field({"note": note}, "note", errors, **rules)
    if errors:
        raise ValidationError(errors)
    return note


def _decide(penalty: Penalty, *, by: AbstractBaseUser, to: str, note: str) -> Penalty:
    now = timezone.now()
    with transaction.atomic():
        updated = (
            Penalty.objects.for_system()
            .filter(pk=penalty.pk, state=Penalty.State.PROPOSED)
            .update(state=to, decided_at=now, decided_by=by, decision_note=note)
        )
        if not updated:
            raise Conflict("penalty_decided", _("This penalty was already confirmed or waived."))
        subject = _subject_of(penalty)
        if subject is not None:
            request_id, kind, subject_id = subject
            history_record(
                request_id=request_id,
                subject=kind,
                subject_id=subject_id,
                actor=by,
                action=f"penalty_{to}",
                state_from=Penalty.State.PROPOSED,
                state_to=to,
                data={"penalty_id": penalty.pk, "penalty_kind": penalty.kind, "note": note},
                at=now,
            )
        penalty_decided.send(sender=Penalty, penalty=penalty, state=to, note=note, at=now)
    penalty.refresh_from_db()
    return penalty


def penalty_confirm(*, penalty: Penalty, by: AbstractBaseUser, note: str = "") -> Penalty:
    """An arbitrator confirms a proposed penalty: it counts against the shop."""
    require_arbitrator(by)
    return _decide(penalty, by=by, to=Penalty.State.CONFIRMED, note=_clean_note(note))


def penalty_waive(*, penalty: Penalty, by: AbstractBaseUser, note: str) -> Penalty:
    """An arbitrator waives a proposed penalty, saying why (the note is required)."""
    require_arbitrator(by)
    return _decide(
        penalty,
        by=by,
        to=Penalty.State.WAIVED,
        note=_clean_note(note, required_message=_("Say why the penalty is waived.")),
    )


def penalty_record_false_reply(*, ticket: UrgeTicket, by: AbstractBaseUser, note: str) -> Penalty:
    """An arbitrator finds a ticket's reply false (乱填, spec 8): a confirmed penalty against the
    shop, with the arbitrator's finding, once per ticket (the unique ticket-and-kind index)."""
    require_arbitrator(by)
    note = _clean_note(note, required_message=_("Say what in the reply was false."))
    if not ticket.replies.exists():
        raise Conflict("no_reply", _("This ticket has no reply to find false."))
    now = timezone.now()
    try:
        with transaction.atomic():
            penalty = Penalty.objects.create(
                shop_id=ticket.shop_id,
                kind=Penalty.Kind.FALSE_REPLY,
                ticket=ticket,
                state=Penalty.State.CONFIRMED,
                at=now,
                evidence={
                    "ticket_id": ticket.pk,
                    "request_id": ticket.request_id,
                    "resolution": ticket.resolution,
                    "reply_note": ticket.resolution_note,
                },
                decided_at=now,
                decided_by=by,
                decision_note=note,
            )
            ticket_history(
                ticket,
                by=by,
                action="penalty_false_reply",
                data={"penalty_id": penalty.pk, "note": note},
                at=now,
            )
            penalty_decided.send(
                sender=Penalty, penalty=penalty, state=penalty.state, note=note, at=now
            )
    except IntegrityError:
        raise Conflict(
            "penalty_recorded", _("A false-reply penalty is already recorded for this ticket.")
        ) from None
    return penalty
