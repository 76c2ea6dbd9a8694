"""The drain's e-mails: one `Mail` per recipient, sent through Django's mail backend.

Any backend gets a Django `EmailMessage` (`Mail.message()`: the console under `make run`, the
in-memory one in tests, a provider's backend). Django's own SMTP backend, the one production
uses, gets the same bytes built directly (`Mail.as_bytes()`) and sent over the backend's open
SMTP session: Django's `EmailMessage` spends about 0.3 ms of CPU on each (the stdlib's
`email` package rebuilding, parsing and folding headers, and parsing both addresses again per
message), five times the cost of building it here, which at 50,000 e-mails is most of a
drain's time. The bytes are the ones Django would send (same headers, text/plain UTF-8, 8bit;
a body with a line longer than SMTP allows goes the Django way, quoted-printable), checked
against Django's in `tests/notifications/test_mail.py`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from email.utils import formatdate, make_msgid

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import forbid_multi_line_headers, sanitize_address
from django.core.mail.utils import DNS_NAME

EVENT_HEADER = "X-Jdpop-Event"
LINE_LIMIT = 998  # RFC 5322: longest line, in bytes, without its CRLF


@functools.lru_cache(maxsize=4096)
def _address(address: str) -> str:
    """An address as Django's SMTP backend writes it (in a header and on the envelope)."""
    return sanitize_address(address, "utf-8")


@functools.lru_cache(maxsize=4096)
def _subject(subject: str) -> str:
    """The Subject header's value as Django writes it (RFC 2047 words when not ASCII)."""
    value = forbid_multi_line_headers("Subject", subject, "utf-8")[1]
    return "\r\n".join(value.splitlines())  # a long one is folded over lines


@dataclass(frozen=True)
class Mail:
    """One e-mail of an event to one recipient; `kind` goes in its X-Jdpop-Event header (for
    the recipient's mail filters)."""

    kind: str
    to: str
    subject: str
    body: str

    def message(self) -> EmailMessage:
        """The e-mail as Django's `EmailMessage`, for any mail backend."""
        return EmailMessage(
            subject=self.subject, body=self.body, to=[self.to], headers={EVENT_HEADER: self.kind}
        )

    def as_bytes(self) -> bytes | None:
        """The message Django's SMTP backend would send (CRLF line ends), built directly;
        None when the body has a line too long to send as it is (then it goes the Django way)."""
        lines = self.body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        body = "\r\n".join(lines).encode()
        if any(len(line.encode()) > LINE_LIMIT for line in lines):
            return None
        head = (
            'Content-Type: text/plain; charset="utf-8"\r\n'
            "MIME-Version: 1.0\r\n"
            "Content-Transfer-Encoding: 8bit\r\n"
            f"Subject: {_subject(self.subject)}\r\n"
            f"From: {_address(settings.DEFAULT_FROM_EMAIL)}\r\n"
            f"To: {_address(self.to)}\r\n"
            f"Date: {formatdate(localtime=settings.EMAIL_USE_LOCALTIME)}\r\n"
            f"Message-ID: {make_msgid(domain=DNS_NAME)}\r\n"
            f"{EVENT_HEADER}: {self.kind}\r\n"
            "\r\n"
        )
        return head.encode() + body


def send(connection: BaseEmailBackend, mail: Mail) -> None:
    """Send `mail` over the open `connection` (raises what the backend raises). Django's SMTP
    backend gets the bytes of `Mail.as_bytes` on its session; others, the `EmailMessage`."""
    if type(connection) is SMTPBackend and connection.connection is not None:
        data = mail.as_bytes()
        if data is not None:
            connection.connection.sendmail(
                _address(settings.DEFAULT_FROM_EMAIL), [_address(mail.to)], data
            )
            return
    connection.send_messages([mail.message()])
