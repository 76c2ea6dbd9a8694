"""An urge ticket's clock (spec 4.3–4.5): the one place for the reply window and for promises.

- The merchant has `JDPOP_REPLY_WINDOW` (24 h, elapsed time) from the ticket's opening; the
  deadline is inclusive: a reply at exactly `reply_due_at` is in time, one second later is late.
- The window has *passed* when `now` is strictly after `reply_due_at`; a ticket still awaiting
  its reply then is missed (the job breaches it).
- A promise (已协商开票时间) for a date is broken from the first instant after that date in China
  time, if the invoice is still not issued by then.

Each rule has its Python form (one ticket) and, where a job needs it, its filter form.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _

from core.clock import china_date, end_of_china_day
from invoices.models import InvoiceRequest

from .models import UrgeTicket

State = UrgeTicket.State


def reply_due_at(opened_at: datetime) -> datetime:
    """The reply deadline of a ticket opened at `opened_at`."""
    return opened_at + settings.JDPOP_REPLY_WINDOW


def window_passed(ticket: UrgeTicket, now: datetime) -> bool:
    """`now` is strictly past the ticket's reply deadline."""
    return now > ticket.reply_due_at


def reply_is_late(ticket: UrgeTicket, at: datetime) -> bool:
    """A reply at `at` is late: after the window, or to a ticket already breached (even one
    claiming an earlier time)."""
    return window_passed(ticket, at) or ticket.state == State.BREACHED


def missed_q(now: datetime) -> Q:
    """Tickets still awaiting their reply with the window passed (served by the partial index
    ticket_awaiting_due_idx)."""
    return Q(state=State.AWAITING_REPLY, reply_due_at__lt=now)


def seconds_left(ticket: UrgeTicket, now: datetime) -> int | None:
    """Seconds until the reply deadline; negative once it passed; None once answered."""
    if ticket.state == State.ANSWERED:
        return None
    return int((ticket.reply_due_at - now).total_seconds())


def latest_promise_date(at: datetime) -> date:
    """The last date a promise made at `at` may name: JDPOP_PROMISE_MAX_DAYS after today in
    China time (a promise for the year 3000 could never be broken)."""
    return china_date(at) + timedelta(days=settings.JDPOP_PROMISE_MAX_DAYS)


def promise_date_error(promised: date | None, *, at: datetime) -> str | None:
    """What is wrong with promising `promised` at `at` (None when it may be promised): it must
    be after today in China time and at most JDPOP_PROMISE_MAX_DAYS ahead."""
    if promised is None:
        return _("Give the agreed issue date.")
    if promised <= china_date(at):
        return _("The agreed issue date must be after today.")
    if promised > latest_promise_date(at):
        return _("The agreed issue date can be at most %(n)d days ahead.") % {
            "n": settings.JDPOP_PROMISE_MAX_DAYS
        }
    return None


def promise_due_at(promised: date) -> datetime:
    """The end of the promised date in China time: the promise is broken from this instant."""
    return end_of_china_day(promised)


def promise_broken_q(now: datetime) -> Q:
    """Pending promises whose date has ended with the invoice still not issued (served by the
    partial index ticket_promise_due_idx)."""
    return Q(promise_state=UrgeTicket.PromiseState.PENDING, promise_due_at__lte=now) & ~Q(
        request__state=InvoiceRequest.State.ISSUED
    )
