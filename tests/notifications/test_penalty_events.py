"""Spec 8 and 10 for penalties: the shop's owners (and only they: owners see penalties) hear of
every penalty against the shop, when it is proposed and when an arbitrator confirms or waives
it, in the inbox always and by e-mail to those with an address, exactly once however often the
job that found the violation, the decision or the drain runs. Operators, viewers and the
consumer do not."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail

from core.errors import Conflict
from core.models import OutboxMessage, ShopMembership
from core.roles import ARBITRATOR_GROUP
from disputes import services as disputes
from notifications.delivery import drain_outbox
from notifications.models import Notification, WebhookDelivery, WebhookEndpoint
from penalties.models import Penalty
from penalties.services import penalty_confirm, penalty_record_false_reply, penalty_waive
from tests.disputes.factories import DisputeFactory, RefusedRequestFactory, make_ticket
from tests.factories import InvoiceRequestFactory, ShopFactory, UserFactory, merchant_of
from tickets.jobs import flag_missed_replies
from tickets.models import TicketReply

pytestmark = pytest.mark.django_db

CHINA = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 9, 30, tzinfo=CHINA)
S = timedelta(seconds=1)
H = timedelta(hours=1)
LAPSED = T0 + settings.JDPOP_DISPUTE_MERCHANT_WINDOW + S
Role = ShopMembership.Role


class World:
    """A shop with two owners (one without an e-mail address: inbox only), an operator and a
    viewer, another shop's owner, a consumer (all with addresses but the second owner), and an
    arbitrator."""

    def __init__(self) -> None:
        self.shop = ShopFactory(new_flow_since=T0 - timedelta(days=30))
        self.owner = merchant_of(self.shop, Role.OWNER, user__email="owner@a.example")
        self.owner2 = merchant_of(self.shop, Role.OWNER)
        self.operator = merchant_of(self.shop, Role.OPERATOR, user__email="ops@a.example")
        self.viewer = merchant_of(self.shop, Role.VIEWER, user__email="viewer@a.example")
        self.stranger = merchant_of(ShopFactory(), Role.OWNER, user__email="owner@b.example")
        self.consumer = UserFactory(email="x@consumer.example")
        self.arbitrator = UserFactory(is_staff=True, email="arb@platform.example")
        self.arbitrator.groups.add(Group.objects.get(name=ARBITRATOR_GROUP))
        self.owners = sorted([self.owner, self.owner2], key=lambda u: u.pk)

    def lapsed_dispute(self):
        """A refused-invoice dispute opened at T0 and left unanswered: the job sends it to the
        platform one second past its window, with a dispute_no_answer penalty."""
        request = RefusedRequestFactory(order__shop=self.shop, order__consumer=self.consumer)
        return DisputeFactory(request=request, opened_at=T0)

    def penalty(self) -> Penalty:
        self.lapsed_dispute()
        enforce(LAPSED)
        deliver(LAPSED)
        mail.outbox.clear()
        return Penalty.objects.for_system().get()


@pytest.fixture
def w() -> World:
    return World()


def enforce(at: datetime) -> dict[str, int]:
    with time_machine.travel(at, tick=False):
        return disputes.disputes_enforce_deadlines()


def deliver(at: datetime) -> None:
    """The drain runs twice: the second finds nothing new."""
    with time_machine.travel(at, tick=False):
        drain_outbox(now=at)
        assert drain_outbox(now=at)["sent"] == 0


def inbox(kind: str) -> list:
    """Who got `kind` in their inbox (one row each), in user-id order."""
    rows = Notification.objects.for_system().filter(kind=kind).order_by("user_id")
    return [n.user for n in rows]


def english(kind: str, user) -> str:
    texts = Notification.objects.for_system().get(kind=kind, user=user).texts["en"]
    return f"{texts['subject']}\n{texts['body']}"


def mailed(kind: str) -> list[str]:
    """The addresses `kind` was e-mailed to (matched by the subjects its notices had)."""
    subjects = {
        n.texts[settings.LANGUAGE_CODE]["subject"]
        for n in Notification.objects.for_system().filter(kind=kind)
    }
    return sorted(m.to[0] for m in mail.outbox if m.subject in subjects)


def queued(kind: str) -> int:
    return OutboxMessage.objects.filter(kind=kind).count()


# --- proposed ---------------------------------------------------------------------------------


def test_a_proposed_penalty_reaches_the_owners_only(w):
    # given a dispute the shop did not answer in time
    d = w.lapsed_dispute()
    # when the deadline job runs, twice, and the drain twice
    enforce(LAPSED)
    enforce(LAPSED + S)
    deliver(LAPSED + S)
    # then the owners, and only they, hear of the one penalty, once each
    assert Penalty.objects.for_system().count() == 1 and queued("penalty_proposed") == 1
    assert inbox("penalty_proposed") == w.owners
    assert mailed("penalty_proposed") == ["owner@a.example"]  # the other owner has no address
    words = english("penalty_proposed", w.owner2)
    assert "dispute not answered in time" in words and d.request.order.number in words
    assert "arbitrator confirms or waives" in words
    note = Notification.objects.for_system().get(kind="penalty_proposed", user=w.owner)
    assert note.link == f"/merchant/disputes/{d.pk}/" and note.shop_id == w.shop.pk
    # while the operator and the viewer hear that the dispute went to the platform
    assert w.operator in inbox("dispute_escalated") and w.viewer in inbox("dispute_escalated")


def test_the_ticket_jobs_penalties_reach_the_owners_too(w):
    # given an urge ticket left unanswered past its window
    request = InvoiceRequestFactory(order__shop=w.shop, order__consumer=w.consumer)
    ticket = make_ticket(request, state="awaiting_reply", sla="", resolution="", opened_at=T0)
    due = ticket.reply_due_at
    # when the job breaches it, twice
    flag_missed_replies(now=due + S)
    flag_missed_replies(now=due + 2 * S)
    deliver(due + 2 * S)
    # then the owners hear of the no-reply penalty once, with a link to the ticket
    assert queued("penalty_proposed") == 1
    assert inbox("penalty_proposed") == w.owners
    assert mailed("penalty_proposed") == ["owner@a.example"]
    words = english("penalty_proposed", w.owner)
    assert "no reply in time" in words and "urge ticket" in words
    note = Notification.objects.for_system().get(kind="penalty_proposed", user=w.owner)
    assert note.link == f"/merchant/tickets/{ticket.pk}/"


@pytest.mark.parametrize(("verdict", "penalty"), [("liable", True), ("not_liable", False)])
def test_a_liable_judgment_proposes_a_penalty_the_owners_hear_of(w, verdict, penalty):
    d = w.lapsed_dispute()
    enforce(LAPSED)
    d.refresh_from_db()
    with time_machine.travel(LAPSED + H, tick=False):
        disputes.dispute_judge(
            dispute=d, by=w.arbitrator, verdict=verdict, reason_code="other", reason="见证据"
        )
    deliver(LAPSED + H)
    liable = Penalty.objects.for_system().filter(kind="dispute_liable")
    assert liable.count() == (1 if penalty else 0)
    told = Notification.objects.for_system().filter(
        event__key__in=[f"penalty:{p.pk}:proposed" for p in liable]
    )
    assert sorted(n.user_id for n in told) == ([u.pk for u in w.owners] if penalty else [])
    assert all("judged liable" in n.texts["en"]["subject"] for n in told)


# --- decided ----------------------------------------------------------------------------------


def test_a_confirmed_penalty_tells_the_owners_with_the_arbitrators_note(w):
    p = w.penalty()
    with time_machine.travel(LAPSED + H, tick=False):
        penalty_confirm(penalty=p, by=w.arbitrator, note="商家确未在24小时内答复")
        with pytest.raises(Conflict):  # decided once
            penalty_confirm(penalty=p, by=w.arbitrator, note="again")
    deliver(LAPSED + H)
    assert queued("penalty_confirmed") == 1
    assert inbox("penalty_confirmed") == w.owners
    assert mailed("penalty_confirmed") == ["owner@a.example"]
    words = english("penalty_confirmed", w.owner)
    assert "confirmed" in words and "商家确未在24小时内答复" in words
    assert "scorecard" in words


def test_a_waived_penalty_tells_the_owners_why(w):
    p = w.penalty()
    with time_machine.travel(LAPSED + H, tick=False):
        penalty_waive(penalty=p, by=w.arbitrator, note="系统故障导致超时")
        with pytest.raises(Conflict):
            penalty_waive(penalty=p, by=w.arbitrator, note="again")
    deliver(LAPSED + H)
    assert queued("penalty_waived") == 1 and queued("penalty_confirmed") == 0
    assert inbox("penalty_waived") == w.owners
    assert mailed("penalty_waived") == ["owner@a.example"]
    words = english("penalty_waived", w.owner2)
    assert "waived" in words and "系统故障导致超时" in words


def test_a_false_reply_found_by_an_arbitrator_is_told_as_a_confirmed_penalty(w):
    # given a ticket the shop answered
    request = InvoiceRequestFactory(order__shop=w.shop, order__consumer=w.consumer)
    ticket = make_ticket(request, resolution="no_invoice_needed", resolution_note="顾客同意")
    TicketReply.objects.create(
        ticket=ticket, at=ticket.opened_at, resolution="no_invoice_needed", note="顾客同意"
    )
    # when an arbitrator finds the reply false, once (a second finding is refused)
    penalty_record_false_reply(ticket=ticket, by=w.arbitrator, note="顾客从未同意")
    with pytest.raises(Conflict):
        penalty_record_false_reply(ticket=ticket, by=w.arbitrator, note="again")
    deliver(T0)
    # then the owners hear of a confirmed penalty with the finding, and of no proposal
    assert queued("penalty_proposed") == 0 and queued("penalty_confirmed") == 1
    assert inbox("penalty_confirmed") == w.owners
    words = english("penalty_confirmed", w.owner)
    assert "false" in words and "顾客从未同意" in words


# --- the shop's webhook ------------------------------------------------------------------------


def test_the_shops_webhook_gets_the_penalty_but_no_personal_data(w):
    WebhookEndpoint.objects.create(shop=w.shop, url="https://hooks.example/jdpop", secret="s")
    p = w.penalty()
    with time_machine.travel(LAPSED + H, tick=False):
        penalty_waive(penalty=p, by=w.arbitrator, note="系统故障导致超时")
    deliver(LAPSED + H)
    deliveries = WebhookDelivery.objects.for_system().filter(event_type__startswith="penalty_")
    proposed, waived = (
        deliveries.get(event_type=kind).payload["data"]
        for kind in ("penalty_proposed", "penalty_waived")
    )
    assert (proposed["penalty_id"], proposed["kind"], proposed["dispute_id"]) == (
        p.pk,
        "dispute_no_answer",
        p.dispute_id,
    )
    assert (waived["state"], waived["decision_note"]) == ("waived", "系统故障导致超时")
    sent = json.dumps([x.payload for x in deliveries], ensure_ascii=False)
    assert "@" not in sent and w.consumer.username not in sent
