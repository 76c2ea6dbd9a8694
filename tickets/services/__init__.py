"""Writes for urge tickets (spec 4): opening (job and consumer alike), urging, replying, and the
answer an invoice upload gives. Each is one transaction with its history rows."""

from ._common import ticket_history
from .closing import tickets_close_with_requests
from .opening import Cursor, ticket_urge, tickets_open, tickets_open_batch
from .replies import REQUIREMENTS, reply_requirements, ticket_answer_by_upload, ticket_reply

__all__ = [
    "REQUIREMENTS",
    "Cursor",
    "reply_requirements",
    "ticket_answer_by_upload",
    "ticket_history",
    "ticket_reply",
    "ticket_urge",
    "tickets_close_with_requests",
    "tickets_open",
    "tickets_open_batch",
]
