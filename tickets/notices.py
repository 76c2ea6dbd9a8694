"""The e-mails the tickets app sends through the outbox (spec 4): "ticket opened" and the
reminders, to the shop's staff, Chinese first, deadlines in China time. Registered with
`core.outbox` at start-up (TicketsConfig.ready)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.clock import china_time
from core.outbox import Mail, bilingual, renderer, shop_staff_emails

from .models import UrgeTicket


def _mails(payloads: list[dict], subject: str, first: str) -> list[Mail | None]:
    """The mail about each open ticket of `payloads` (None once the ticket no longer awaits the
    merchant's reply): `subject`, then `first`, the deadline and the link. Three queries for
    the whole batch."""
    ids = [p["ticket_id"] for p in payloads]
    tickets = (
        UrgeTicket.objects.for_system()
        .filter(pk__in=ids, state=UrgeTicket.State.AWAITING_REPLY)
        .select_related("request__order")
        .in_bulk()
    )
    staff = shop_staff_emails({t.shop_id for t in tickets.values()})
    mails: list[Mail | None] = []
    for payload in payloads:
        ticket = tickets.get(payload["ticket_id"])
        if ticket is None:
            mails.append(None)
            continue
        path = reverse("merchant-request", args=[ticket.request_id])
        c = {
            "order": ticket.request.order.number,
            "deadline": china_time(ticket.reply_due_at),
            "link": f"{settings.JDPOP_SITE_URL}{path}",
            "hours": str(payload.get("lead", "")).removesuffix("h"),
        }

        def body(c: dict = c) -> str:
            return "\n\n".join(
                [
                    _(first) % c,
                    _(
                        "Reply by %(deadline)s (China time): upload the invoice, or send a reply "
                        "with one of the resolutions. A missed deadline records a penalty."
                    )
                    % c,
                    _("Open it: %(link)s") % c,
                ]
            )

        with translation.override(settings.LANGUAGE_CODE):
            translated_subject = _(subject) % c
        mails.append(
            Mail(subject=translated_subject, body=bilingual(body), to=staff[ticket.shop_id])
        )
    return mails


OPENED_SUBJECT = gettext_noop("Urge ticket (催开票工单) for order %(order)s: reply by %(deadline)s")
OPENED_FIRST = gettext_noop(
    "The consumer's invoice request for order %(order)s is overdue, so an urge ticket "
    "(催开票工单) was opened."
)
REMINDER_SUBJECT = gettext_noop(
    "Reminder: the urge ticket for order %(order)s is due by %(deadline)s"
)
REMINDER_FIRST = gettext_noop(
    "The urge ticket (催开票工单) for order %(order)s has not been answered yet. "
    "Less than %(hours)s hours are left."
)


@renderer("ticket_opened")
def render_ticket_opened(payloads: list[dict]) -> list[Mail | None]:
    return _mails(payloads, OPENED_SUBJECT, OPENED_FIRST)


@renderer("ticket_reminder")
def render_ticket_reminder(payloads: list[dict]) -> list[Mail | None]:
    return _mails(payloads, REMINDER_SUBJECT, REMINDER_FIRST)
