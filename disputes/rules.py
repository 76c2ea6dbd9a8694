"""A refused-invoice dispute's promise (另行约定开票日期, spec 4.5 and 5): the one place for when
it binds, what keeps it and when it is broken. The same rules as an urge ticket's promise
(`tickets.rules`).

- The merchant's plan 另行约定开票日期 names a date; the end of that date in China time
  (`promise_due_at`, midnight after it) is stored with the plan.
- The promise binds once the consumer accepts the plan, or lets the window lapse (which counts
  as accepting it): `promise_state` pending.
- It is kept by an invoice issued for the disputed request (the request itself, its re-issue
  补开, or for a refused exchange 换开 a later exchange of the same invoice) strictly before that
  end: marked at the upload, or found by the deadline job.
- It is broken from the first instant after the date in China time (23:59:59 on the date is
  still in time, 00:00:00 the next day is broken) if no such invoice was issued by then. The
  consumer may then reopen the dispute to the platform, once.

Each rule has its Python form (one request or dispute) and, where the job needs it, its filter
form.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Exists, OuterRef, Q

from core.clock import end_of_china_day
from invoices.models import InvoiceRequest

from .models import Dispute
from .plans import Plan

Promise = Dispute.PromiseState
EXCHANGE = InvoiceRequest.Kind.EXCHANGE
# The outcomes that accept the plan, so that its promise binds.
ACCEPTED = (Dispute.Outcome.SETTLED, Dispute.Outcome.SETTLED_BY_LAPSE)


def promise_due_at(agreed: date) -> datetime:
    """The end of the agreed issue date in China time: the promise is broken from this instant."""
    return end_of_china_day(agreed)


def accepted_promise(plan: str) -> dict[str, str]:
    """What accepting `plan` sets: a pending promise for a plan with a date, else nothing."""
    return {"promise_state": Promise.PENDING} if plan == Plan.ANOTHER_DATE else {}


def settling_requests_q(request: InvoiceRequest) -> Q:
    """The requests whose issued invoice settles a refusal of `request`: itself, its re-issue
    (补开), and for a refused exchange (换开) a later exchange of the same invoice."""
    q = Q(pk=request.pk) | Q(reissue_of_id=request.pk)
    if request.kind == EXCHANGE:
        q |= Q(kind=request.kind, reissue_of_id=request.reissue_of_id, pk__gt=request.pk)
    return q


def settled_by_q(issued: InvoiceRequest) -> Q:
    """The disputes whose request an invoice issued on `issued` settles (the inverse of
    `settling_requests_q`), as a filter on Dispute."""
    q = Q(request_id=issued.pk)
    if issued.reissue_of_id is not None:
        q |= Q(request_id=issued.reissue_of_id)
    if issued.kind == EXCHANGE:
        q |= Q(
            request__kind=EXCHANGE,
            request__reissue_of_id=issued.reissue_of_id,
            request_id__lt=issued.pk,
        )
    return q


def invoice_in_time() -> Exists:
    """SQL form, on Dispute: an invoice that settles the dispute's request was issued strictly
    before the promise's end."""
    outer = OuterRef("request_id")
    return Exists(
        InvoiceRequest.objects.for_system().filter(
            Q(pk=outer)
            | Q(reissue_of_id=outer)
            | (  # a later exchange of the same invoice, when the request is an exchange too
                Q(kind=EXCHANGE)
                & Q(kind=OuterRef("request__kind"))
                & Q(reissue_of_id=OuterRef("request__reissue_of_id"), pk__gt=outer)
            ),
            state=InvoiceRequest.State.ISSUED,
            issued_at__lt=OuterRef("promise_due_at"),
        )
    )


def promise_due_q(now: datetime) -> Q:
    """Promises still pending whose date has ended by `now` (served by the partial index
    dispute_promise_due_idx): each is now kept (`invoice_in_time`) or broken."""
    return Q(promise_state=Promise.PENDING, promise_due_at__lte=now)


def may_reopen(dispute: Dispute) -> bool:
    """The consumer may send a settled dispute to the platform: its promise was broken (and it
    was not reopened already: a judged dispute's outcome is no longer a settlement)."""
    return (
        dispute.state == Dispute.State.CLOSED
        and dispute.promise_state == Promise.BROKEN
        and dispute.outcome in ACCEPTED
    )
