"""Spec 10 for the events of exchanges (换开, spec 11): the shop's staff hear that an exchange
is asked, the consumer that it was issued or refused; in the inbox always and by e-mail as each
chooses, exactly once however often the drain runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from core.models import OutboxMessage, ShopMembership
from invoices.exchange import invoice_exchange_request
from invoices.models import InvoiceRequest
from invoices.services import invoice_request_issue, invoice_request_refuse
from notifications.delivery import drain_outbox
from notifications.models import Notification
from tests.factories import (
    PDF_BYTES,
    VALID_USCC,
    InvoiceRequestFactory,
    ShopFactory,
    UserFactory,
    merchant_of,
)

pytestmark = pytest.mark.django_db

CHINA = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 1, 9, 30, tzinfo=CHINA)
S = timedelta(seconds=1)
Role = ShopMembership.Role


def pdf() -> SimpleUploadedFile:
    return SimpleUploadedFile("i.pdf", PDF_BYTES, content_type="application/pdf")


class World:
    """A shop with an owner, an operator and a viewer (each with an e-mail address), another
    shop's owner, and a consumer with an issued invoice at the shop who asks for an exchange."""

    def __init__(self) -> None:
        self.shop = ShopFactory(new_flow_since=T0 - timedelta(days=30))
        self.owner = merchant_of(self.shop, Role.OWNER, user__email="owner@a.example")
        self.operator = merchant_of(self.shop, Role.OPERATOR, user__email="ops@a.example")
        self.viewer = merchant_of(self.shop, Role.VIEWER, user__email="viewer@a.example")
        self.stranger = merchant_of(ShopFactory(), Role.OWNER, user__email="owner@b.example")
        self.consumer = UserFactory(email="x@consumer.example")
        self.invoice = InvoiceRequestFactory(
            order__shop=self.shop,
            order__consumer=self.consumer,
            requested_at=T0 - timedelta(days=2),
            title_type="person",
            title="张三",
            tax_id="",
        )
        with time_machine.travel(T0, tick=False):
            invoice_request_issue(
                invoice_request=self.invoice, by=self.owner, file=pdf(), invoice_number="1" * 20
            )
            self.exchange = invoice_exchange_request(
                consumer=self.consumer,
                invoice=self.invoice,
                data={
                    "exchange_reason": "wrong_tax_id",
                    "exchange_note": "税号少了一位",
                    "title_type": "organisation",
                    "title": "北京示例科技有限公司",
                    "tax_id": VALID_USCC,
                    "invoice_kind": "e_ordinary",
                    "email": "finance@example.com",
                },
            )
        self.staff = [self.owner, self.operator, self.viewer]

    def fresh_exchange(self) -> InvoiceRequest:
        return InvoiceRequest.objects.for_system().get(pk=self.exchange.pk)


@pytest.fixture
def w() -> World:
    return World()


def deliver(at: datetime) -> None:
    """The drain runs twice: the second finds nothing new."""
    with time_machine.travel(at, tick=False):
        drain_outbox(now=at)
        assert drain_outbox(now=at)["sent"] == 0


def inbox(kind: str) -> list:
    rows = Notification.objects.for_system().filter(kind=kind).order_by("user_id")
    return [n.user for n in rows]


def mailed(kind: str) -> list:
    return [m for m in mail.outbox if m.extra_headers.get("X-Jdpop-Event") == kind]


def by_id(*users) -> list:
    return sorted(users, key=lambda u: u.pk)


def test_an_exchange_asked_reaches_every_member_of_the_shop_once(w):
    deliver(T0 + S)
    assert inbox("exchange_requested") == by_id(*w.staff)
    sent = mailed("exchange_requested")
    assert sorted(m.to[0] for m in sent) == ["ops@a.example", "owner@a.example", "viewer@a.example"]
    staff_mail = next(m for m in sent if m.to == ["owner@a.example"])
    assert w.invoice.order.number in staff_mail.subject and "换开" in staff_mail.subject
    assert "税号少了一位" in staff_mail.body  # the consumer's note
    overdue = (T0 + settings.JDPOP_OVERDUE_AFTER).strftime("%Y-%m-%d %H:%M")
    assert overdue in staff_mail.body  # its own 10-day clock
    assert f"/merchant/requests/{w.exchange.pk}/" in staff_mail.body
    assert (
        not Notification.objects.for_system()
        .filter(user=w.consumer, kind="exchange_requested")
        .exists()
    )
    assert "owner@b.example" not in [m.to[0] for m in mail.outbox]
    assert OutboxMessage.objects.filter(kind="exchange_requested").count() == 1


def test_the_staff_read_the_reason_in_their_language(w):
    deliver(T0 + S)
    note = Notification.objects.for_system().get(user=w.owner, kind="exchange_requested")
    assert note.link == f"/merchant/requests/{w.exchange.pk}/"
    with translation.override("en"):
        assert "wrong tax id" in note.body


def test_the_consumer_hears_that_the_replacement_is_issued(w):
    deliver(T0 + S)
    mail.outbox.clear()
    with time_machine.travel(T0 + 60 * S, tick=False):
        invoice_request_issue(
            invoice_request=w.fresh_exchange(), by=w.operator, file=pdf(), invoice_number="2" * 20
        )
    deliver(T0 + 61 * S)
    assert inbox("invoice_issued") == [w.consumer, w.consumer]  # the first invoice, the new one
    [sent] = mailed("invoice_issued")
    assert sent.to == ["x@consumer.example"]
    assert "换开" in sent.subject and "1" * 20 in sent.body  # it replaces that invoice
    assert f"/my/invoices/{w.exchange.pk}/" in sent.body


def test_the_consumer_hears_that_the_exchange_is_refused_once(w):
    deliver(T0 + S)
    mail.outbox.clear()
    with time_machine.travel(T0 + 60 * S, tick=False):
        invoice_request_refuse(
            invoice_request=w.fresh_exchange(), by=w.owner, reason="税号与营业执照一致"
        )
    deliver(T0 + 61 * S)
    assert inbox("exchange_refused") == [w.consumer]
    [sent] = mailed("exchange_refused")
    assert sent.to == ["x@consumer.example"]
    assert "税号与营业执照一致" in sent.body and "纠纷" in sent.body
    assert f"/my/invoices/{w.exchange.pk}/" in sent.body
    assert not mailed("exchange_requested")  # nothing else went out again
