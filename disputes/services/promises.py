"""The promise of an accepted 另行约定开票日期 plan (spec 4.5, 5; the rules are `..rules`): kept
by the upload, kept or broken by the deadline job, and the consumer's one-click reopening of a
dispute whose promise was broken.

Exactly once, as for an urge ticket's promise: each change is a conditional UPDATE from
`pending` (under the rows' locks in the job, SKIP LOCKED so runs at once split the work), and
what the apps above write for a broken promise (the penalty, the consumer's notice) is keyed by
the dispute in unique indexes. A dispute is reopened at most once: only from closed with a
settled outcome, and the judgment that closes it again is no settlement.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import Conflict
from core.history import history_rows
from invoices.models import InvoiceRequest

from ..models import Dispute
from ..rules import ACCEPTED, invoice_in_time, may_reopen, promise_due_q, settled_by_q
from ..signals import dispute_escalated, dispute_promises_broken
from ..verdicts import propose_dispute_verdict
from ._common import SUBJECT, require_consumer, transition
from .judgment import judge_in_transaction

Promise = Dispute.PromiseState
BATCH_SIZE = 500


def _settle(rows: list[dict[str, Any]], *, to: str, at: datetime, changes: dict) -> list[int]:
    """Move the pending promises of `rows` to `to` with one conditional UPDATE, and append
    their history rows; the ids it moved."""
    ids = [r["pk"] for r in rows]
    disputes = Dispute.objects.for_system()
    moved = disputes.filter(pk__in=ids, promise_state=Promise.PENDING).update(
        promise_state=to, **changes
    )
    if moved != len(ids):  # cannot happen under the row locks; never half-record
        raise RuntimeError(f"dispute promises: moved {moved} of {len(ids)} to {to}")
    history_rows(
        [
            {
                "request_id": r["request_id"],
                "subject": SUBJECT,
                "subject_id": r["pk"],
                "action": f"plan_promise_{to}",
                "state_from": Promise.PENDING,
                "state_to": to,
                "data": {"plan_date": r["plan_date"], "promise_due_at": r["promise_due_at"]},
            }
            for r in rows
        ],
        at=at,
    )
    return ids


def disputes_settle_promises(
    *, now: datetime, counts: Counter, batch_size: int = BATCH_SIZE
) -> tuple[int, int]:
    """The deadline job's step: every pending promise whose date ended by `now` is kept (an
    invoice was issued in time) or broken (none was: the `dispute_promises_broken` signal, for
    the penalty and the consumer's notice), a batch per transaction. (kept, broken)."""
    disputes = Dispute.objects.for_system()
    kept = broken = 0
    while True:
        with transaction.atomic():
            rows = list(
                disputes.filter(promise_due_q(now))
                .annotate(in_time=invoice_in_time())
                .order_by("promise_due_at", "pk")
                .select_for_update(skip_locked=True, of=("self",))
                .values("pk", "request_id", "plan_date", "promise_due_at", "in_time")[:batch_size]
            )
            if not rows:
                return kept, broken
            good = [r for r in rows if r["in_time"]]
            bad = [r for r in rows if not r["in_time"]]
            if good:
                kept += len(_settle(good, to=Promise.KEPT, at=now, changes={}))
            if bad:
                ids = _settle(bad, to=Promise.BROKEN, at=now, changes={"promise_broken_at": now})
                broken += len(ids)
                for _receiver, extra in dispute_promises_broken.send(
                    sender=Dispute, ids=ids, at=now
                ):
                    counts.update(extra or {})
        if len(rows) < batch_size:
            return kept, broken


def disputes_keep_promises(
    *, invoice_request: InvoiceRequest, at: datetime, **kwargs: object
) -> int:
    """Uploading an invoice keeps the pending promises it settles whose date has not ended, in
    the upload's transaction (a receiver of `invoices.signals.invoice_issued`). How many."""
    rows = list(
        Dispute.objects.for_system()
        .filter(settled_by_q(invoice_request), promise_state=Promise.PENDING, promise_due_at__gt=at)
        .select_for_update(of=("self",))
        .values("pk", "request_id", "plan_date", "promise_due_at")
    )
    return len(_settle(rows, to=Promise.KEPT, at=at, changes={})) if rows else 0


def dispute_reopen(*, dispute: Dispute, by: AbstractBaseUser) -> Dispute:
    """The consumer sends a settled dispute whose promise was broken to the platform, in one
    click: proposed verdict merchant liable, broken promise (a clear case, judged at once when
    JDPOP_AUTO_JUDGE_CLEAR_CASES says so)."""
    require_consumer(dispute, by)
    if not may_reopen(dispute):
        raise Conflict(
            "not_reopenable",
            _(
                "Only a settled dispute whose agreed issue date passed without an invoice can be "
                "sent to the platform."
            ),
        )
    now = timezone.now()
    proposal = propose_dispute_verdict(dispute, now=now)
    try:
        with transaction.atomic():
            dispute = transition(
                dispute,
                action="reopened",
                by=by,
                at=now,
                changes={
                    "outcome": "",
                    "closed_at": None,
                    "reopened_at": now,
                    "platform_since": now,
                    "proposed_verdict": proposal.verdict,
                    "proposed_reason_code": proposal.reason_code,
                },
                data={
                    "plan_date": dispute.plan_date,
                    "promise_broken_at": dispute.promise_broken_at,
                    "proposal": [proposal.verdict, proposal.reason_code],
                },
                extra={"promise_state": Promise.BROKEN, "outcome__in": ACCEPTED},
            )
            dispute_escalated.send(sender=Dispute, dispute=dispute, action="reopened", at=now)
            if proposal.is_clear and settings.JDPOP_AUTO_JUDGE_CLEAR_CASES:
                judge_in_transaction(
                    dispute,
                    by=None,
                    verdict=proposal.verdict,
                    reason_code=proposal.reason_code,
                    reason="",
                    at=now,
                )
    except IntegrityError as e:
        # The partial unique constraint: another dispute of this kind on the request is open.
        raise Conflict(
            "dispute_open", _("Another dispute on this request is open; follow that one.")
        ) from e
    return dispute
