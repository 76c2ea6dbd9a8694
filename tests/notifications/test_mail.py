"""The drain's e-mails (`notifications.mail`): what goes to an SMTP server is the message
Django's own `EmailMessage` would send, header for header, built without it; and the drain's
cached links are the ones `reverse` gives."""

from __future__ import annotations

import email
from email import policy

import pytest
from django.urls import reverse

from notifications.kinds.common import link
from notifications.mail import Mail


def parsed(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=policy.default)


MAILS = [
    Mail(
        kind="ticket_opened",
        to="owner@shop.example",
        subject="订单 300000000001 的催开票工单：请在 12 月 3 日 14:05 前回复",
        body="请在 12 月 3 日 14:05（北京时间）前回复。\n\n/merchant/tickets/1/\n\n---\n\nReply …",
    ),
    Mail(
        kind="dispute_judged",
        to="Zhang San <x@consumer.example>",
        subject="A plain ASCII subject, long enough to be folded by a generator: " + "x " * 40,
        body=".a line that starts with a dot\r\nCRLF and a lone\rCR\n",
    ),
    Mail(kind="penalty_proposed", to="张三@例子.中国", subject="罚", body="短"),
]


@pytest.mark.parametrize("mail", MAILS, ids=lambda m: m.kind)
def test_the_bytes_sent_over_smtp_are_the_message_django_would_send(settings, mail):
    settings.DEFAULT_FROM_EMAIL = "京东开票 <noreply@jdpop.example>"
    ours = parsed(mail.as_bytes())
    django = parsed(mail.message().message().as_bytes(linesep="\r\n"))
    for header in ("Subject", "From", "To", "X-Jdpop-Event", "Content-Type", "MIME-Version"):
        # (Django's generator folds the Subject: a space more or less at either end)
        assert ours[header].strip() == django[header].strip(), header
    assert ours["Message-ID"] and ours["Date"]
    assert ours.get_content() == django.get_content()
    assert ours.get_content_charset() == "utf-8"
    assert b"\r\n" in mail.as_bytes() and b"\n" not in mail.as_bytes().replace(b"\r\n", b"")


def test_a_body_with_a_line_too_long_for_smtp_goes_the_django_way():
    mail = Mail(kind="ticket_opened", to="a@b.example", subject="s", body="长" * 400)
    assert mail.as_bytes() is None  # 1,200 bytes on one line: Django sends it quoted-printable
    assert parsed(mail.message().message().as_bytes()).get_content() == "长" * 400


@pytest.mark.parametrize(
    "name", ["merchant-ticket", "my-invoice", "merchant-request", "merchant-dispute"]
)
def test_a_cached_link_is_the_one_reverse_gives(name):
    for pk in (1, 42, 987654321):
        assert link(name, pk) == reverse(name, args=[pk])
