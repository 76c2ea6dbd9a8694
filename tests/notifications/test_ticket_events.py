"""Spec 10 for the events of invoice requests and urge tickets: each reaches the right people, in
the inbox always and by e-mail as each chooses, exactly once however often the job that
produces it runs (and however often the drain runs)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.utils import translation

from core.models import OutboxMessage, ShopMembership
from invoices.services import invoice_request_issue
from notifications import services
from notifications.delivery import drain_outbox
from notifications.models import Notification
from tests.factories import PDF_BYTES, InvoiceRequestFactory, ShopFactory, UserFactory, merchant_of
from tickets.jobs import flag_broken_promises, flag_missed_replies, open_overdue_tickets
from tickets.models import UrgeTicket
from tickets.reminders import send_ticket_reminders
from tickets.services import ticket_reply

pytestmark = pytest.mark.django_db

CHINA = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 1, 9, 30, tzinfo=CHINA)
S = timedelta(seconds=1)
OPENED = T0 + settings.JDPOP_OVERDUE_AFTER + S
DUE = OPENED + settings.JDPOP_REPLY_WINDOW
Role = ShopMembership.Role


class World:
    """A shop with an owner, an operator and a viewer (each with an e-mail address), another
    shop's owner, and a consumer with an overdue request at the shop."""

    def __init__(self) -> None:
        self.shop = ShopFactory(new_flow_since=T0 - timedelta(days=30))
        self.owner = merchant_of(self.shop, Role.OWNER, user__email="owner@a.example")
        self.operator = merchant_of(self.shop, Role.OPERATOR, user__email="ops@a.example")
        self.viewer = merchant_of(self.shop, Role.VIEWER, user__email="viewer@a.example")
        self.stranger = merchant_of(ShopFactory(), Role.OWNER, user__email="owner@b.example")
        self.consumer = UserFactory(email="x@consumer.example")
        self.request = InvoiceRequestFactory(
            order__shop=self.shop, order__consumer=self.consumer, requested_at=T0
        )
        self.staff = [self.owner, self.operator, self.viewer]

    def ticket(self) -> UrgeTicket:
        return UrgeTicket.objects.for_system().get(request=self.request)


@pytest.fixture
def w() -> World:
    return World()


def deliver(at: datetime) -> None:
    """The drain runs twice: the second finds nothing new."""
    with time_machine.travel(at, tick=False):
        drain_outbox(now=at)
        assert drain_outbox(now=at)["sent"] == 0


def inbox(kind: str) -> list:
    """Who got `kind` in their inbox, in user-id order."""
    rows = Notification.objects.for_system().filter(kind=kind).order_by("user_id")
    return [n.user for n in rows]


def mailed(kind: str) -> list:
    """The e-mails about `kind` (their X-Jdpop-Event header)."""
    return [m for m in mail.outbox if m.extra_headers.get("X-Jdpop-Event") == kind]


def by_id(*users) -> list:
    return sorted(users, key=lambda u: u.pk)


# --- ticket opened -------------------------------------------------------------------------------


def test_a_ticket_opened_reaches_every_member_of_the_shop_and_the_consumer_once(w):
    open_overdue_tickets(now=OPENED)
    open_overdue_tickets(now=OPENED + S)  # the job runs again: nothing new
    deliver(OPENED + S)

    assert inbox("ticket_opened") == by_id(*w.staff, w.consumer)
    order = w.request.order.number
    assert sorted(m.to[0] for m in mail.outbox) == [
        "ops@a.example",
        "owner@a.example",
        "viewer@a.example",
        "x@consumer.example",
    ]
    staff_mail = next(m for m in mail.outbox if m.to == ["owner@a.example"])
    consumer_mail = next(m for m in mail.outbox if m.to == ["x@consumer.example"])
    deadline = DUE.strftime("%Y-%m-%d %H:%M")
    assert order in staff_mail.subject and deadline in staff_mail.body
    assert "China time" in staff_mail.body  # Chinese first, English too
    assert f"/merchant/tickets/{w.ticket().pk}/" in staff_mail.body
    assert f"/my/invoices/{w.request.pk}/" in consumer_mail.body
    assert "owner@b.example" not in [m.to[0] for m in mail.outbox]


def test_the_inbox_link_and_words_differ_for_the_shop_and_the_consumer(w):
    open_overdue_tickets(now=OPENED)
    deliver(OPENED)
    staff_note = Notification.objects.for_system().get(user=w.owner)
    consumer_note = Notification.objects.for_system().get(user=w.consumer)
    assert staff_note.link == f"/merchant/tickets/{w.ticket().pk}/"
    assert consumer_note.link == f"/my/invoices/{w.request.pk}/"
    assert staff_note.shop_id == w.shop.pk and consumer_note.shop_id is None
    with translation.override("en"):
        assert "Reply by" in staff_note.body and "Reply by" not in consumer_note.body


# --- reminders ---------------------------------------------------------------------------------


def test_reminders_go_to_the_shops_staff_only_once_per_lead_time(w):
    open_overdue_tickets(now=OPENED)
    deliver(OPENED)
    mail.outbox.clear()
    at = DUE - 2 * 3600 * S
    send_ticket_reminders(now=at)
    send_ticket_reminders(now=at + S)
    deliver(at + S)
    assert inbox("ticket_reminder") == by_id(*w.staff)
    assert len(mailed("ticket_reminder")) == 3 and all("2" in m.body for m in mail.outbox)


# --- the merchant's answer, the invoice ---------------------------------------------------------


def test_the_consumer_hears_the_shops_answer_with_its_note_and_promised_date(w):
    open_overdue_tickets(now=OPENED)
    deliver(OPENED)
    mail.outbox.clear()
    with time_machine.travel(OPENED + 3600 * S, tick=False):
        ticket_reply(
            ticket=w.ticket(),
            by=w.operator,
            resolution="date_agreed",
            note="月底开",
            promised_date=date(2026, 11, 20),
        )
    deliver(OPENED + 3600 * S)
    assert inbox("ticket_replied") == [w.consumer]
    [sent] = mailed("ticket_replied")
    assert sent.to == ["x@consumer.example"]
    assert "月底开" in sent.body and "2026-11-20" in sent.body


def test_the_consumer_hears_that_the_invoice_is_issued(w):
    from django.core.files.uploadedfile import SimpleUploadedFile

    invoice_request_issue(
        invoice_request=w.request,
        by=w.owner,
        file=SimpleUploadedFile("i.pdf", PDF_BYTES, content_type="application/pdf"),
        invoice_number="1" * 20,
    )
    deliver(OPENED)
    assert inbox("invoice_issued") == [w.consumer]
    assert [m.to for m in mailed("invoice_issued")] == [["x@consumer.example"]]


# --- what the jobs found -------------------------------------------------------------------------


def test_a_breached_ticket_is_told_to_the_shop_and_the_consumer_once(w):
    open_overdue_tickets(now=OPENED)
    deliver(OPENED)
    mail.outbox.clear()
    flag_missed_replies(now=DUE + S)
    flag_missed_replies(now=DUE + 2 * S)  # again: nothing new
    deliver(DUE + 2 * S)
    assert inbox("ticket_breached") == by_id(*w.staff, w.consumer)
    assert len(mailed("ticket_breached")) == 4
    consumer_mail = next(m for m in mailed("ticket_breached") if m.to == ["x@consumer.example"])
    assert "纠纷" in consumer_mail.body  # a dispute is open to them


def test_a_broken_promise_is_told_to_the_shop_and_the_consumer_once(w):
    open_overdue_tickets(now=OPENED)
    with time_machine.travel(OPENED + S, tick=False):
        ticket_reply(
            ticket=w.ticket(),
            by=w.owner,
            resolution="date_agreed",
            note="下周",
            promised_date=date(2026, 11, 20),
        )
    broken = datetime(2026, 11, 21, 0, 0, 1, tzinfo=CHINA)
    flag_broken_promises(now=broken)
    flag_broken_promises(now=broken + S)
    deliver(broken + S)
    assert inbox("promise_broken") == by_id(*w.staff, w.consumer)
    assert OutboxMessage.objects.filter(kind="promise_broken").count() == 1


# --- each person's choice -----------------------------------------------------------------------


def test_a_person_who_mutes_a_kind_gets_it_only_in_the_inbox(w):
    services.notification_settings_save(
        user=w.viewer, language="", email_kinds=[], offered=["ticket_opened"]
    )
    open_overdue_tickets(now=OPENED)
    deliver(OPENED)
    assert w.viewer in inbox("ticket_opened")
    assert "viewer@a.example" not in [m.to[0] for m in mail.outbox]


def test_an_email_goes_in_the_language_the_person_chose(w):
    services.notification_settings_save(
        user=w.owner, language="en", email_kinds=["ticket_opened"], offered=["ticket_opened"]
    )
    open_overdue_tickets(now=OPENED)
    deliver(OPENED)
    english = next(m for m in mail.outbox if m.to == ["owner@a.example"])
    both = next(m for m in mail.outbox if m.to == ["ops@a.example"])
    assert english.subject.startswith("Urge ticket")
    assert "---" not in english.body  # English only
    assert "---" in both.body  # no choice: Chinese first, then English


def test_staff_who_left_the_shop_no_longer_see_its_events_and_get_no_new_ones(w):
    open_overdue_tickets(now=OPENED)
    deliver(OPENED)
    assert Notification.objects.for_recipient(w.viewer).count() == 1
    ShopMembership.objects.for_system().filter(user=w.viewer).delete()
    assert Notification.objects.for_recipient(w.viewer).count() == 0
    flag_missed_replies(now=DUE + S)
    deliver(DUE + S)
    assert w.viewer not in inbox("ticket_breached")


def test_an_inactive_user_gets_nothing(w):
    w.operator.is_active = False
    w.operator.save()
    open_overdue_tickets(now=OPENED)
    deliver(OPENED)
    assert w.operator not in inbox("ticket_opened")
    assert "ops@a.example" not in [m.to[0] for m in mail.outbox]
