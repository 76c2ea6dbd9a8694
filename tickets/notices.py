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


def _open_ticket(payload: dict) -> UrgeTicket | None:
    """The ticket, if it still waits for the merchant's reply (else the mail is moot)."""
    ticket = (
        UrgeTicket.objects.for_system()
        .select_related("request__order")
        .filter(pk=payload["ticket_id"])
        .first()
    )
    if ticket is None or ticket.state != UrgeTicket.State.AWAITING_REPLY:
        return None
    return ticket


def _mail(payload: dict, subject: str, first: str, **extra: str) -> Mail | None:
    """The mail about an open ticket: `subject`, then `first`, the deadline and the link."""
    ticket = _open_ticket(payload)
    if ticket is None:
        return None
    path = reverse("merchant-request", args=[ticket.request_id])
    c = {
        "order": ticket.request.order.number,
        "deadline": china_time(ticket.reply_due_at),
        "link": f"{settings.JDPOP_SITE_URL}{path}",
        **extra,
    }

    def body() -> str:
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
    to = shop_staff_emails(ticket.shop_id)
    return Mail(subject=translated_subject, body=bilingual(body), to=to)


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
def render_ticket_opened(payload: dict) -> Mail | None:
    return _mail(payload, OPENED_SUBJECT, OPENED_FIRST)


@renderer("ticket_reminder")
def render_ticket_reminder(payload: dict) -> Mail | None:
    hours = str(payload.get("lead", "")).removesuffix("h")
    return _mail(payload, REMINDER_SUBJECT, REMINDER_FIRST, hours=hours)
