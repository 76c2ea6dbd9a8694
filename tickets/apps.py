from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

JOBS = [
    (
        "open_overdue_tickets",
        "tickets.jobs.open_overdue_tickets",
        "Open an urge ticket for every overdue request of a new-flow shop (spec 4.2).",
    ),
    (
        "flag_missed_replies",
        "tickets.jobs.flag_missed_replies",
        "Breach the tickets whose reply window passed without an answer (spec 4.4).",
    ),
    (
        "flag_broken_promises",
        "tickets.jobs.flag_broken_promises",
        "Flag the promised issue dates that passed without an invoice (spec 4.5).",
    ),
    (
        "send_ticket_reminders",
        "tickets.reminders.send_ticket_reminders",
        "Queue the reminders of tickets whose reply deadline is near.",
    ),
]


class TicketsConfig(AppConfig):
    """Urge tickets (spec 4): their jobs, replies and e-mails."""

    name = "tickets"
    verbose_name = _("Urge tickets")
    domain = True

    def ready(self) -> None:
        from core.jobs import register
        from invoices.signals import invoice_issued, requests_cancelled_with_order

        from .services import ticket_answer_by_upload, tickets_close_with_requests

        for name, target, help in JOBS:
            register(name, target, task=f"tickets.{name}", help=help)
        # An upload answers the request's urge ticket as 已开发票, in the upload's transaction.
        invoice_issued.connect(ticket_answer_by_upload, dispatch_uid="ticket-answer-by-upload")
        # An order cancelled or returned closes its request's ticket, without a penalty.
        requests_cancelled_with_order.connect(
            tickets_close_with_requests, dispatch_uid="tickets-close-with-requests"
        )
