"""Spec 5 and 10 for disputes: every step that asks someone to act, or tells them an outcome,
reaches them (the shop's staff, the consumer, or both), in the inbox always and by e-mail to
those with an address, exactly once however often the service, the deadline job or the drain
runs. Nobody misses a deadline they were not told about: the shop hears of its 24 h, the
consumer of its 72 h, and again JDPOP_DISPUTE_CONSUMER_REMINDER before it ends."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail

from core.clock import china_time
from core.errors import Conflict
from core.models import OutboxMessage, ShopMembership
from core.roles import ARBITRATOR_GROUP
from disputes import services
from disputes.models import Dispute
from notifications.delivery import drain_outbox
from notifications.models import Notification, WebhookDelivery, WebhookEndpoint
from tests.disputes.factories import EvidenceFactory, RefusedRequestFactory, make_ticket
from tests.factories import InvoiceRequestFactory, ShopFactory, UserFactory, merchant_of

pytestmark = pytest.mark.django_db

CHINA = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 2, 9, 30, tzinfo=CHINA)
S = timedelta(seconds=1)
H = timedelta(hours=1)
MERCHANT_DUE = T0 + settings.JDPOP_DISPUTE_MERCHANT_WINDOW
Role = ShopMembership.Role


class World:
    """A shop on the new flow with an owner and an operator (with e-mail addresses) and a
    viewer (without one: inbox only), another shop's owner, and a consumer whose invoice
    request the shop refused."""

    def __init__(self) -> None:
        self.shop = ShopFactory(new_flow_since=T0 - timedelta(days=30))
        self.owner = merchant_of(self.shop, Role.OWNER, user__email="owner@a.example")
        self.operator = merchant_of(self.shop, Role.OPERATOR, user__email="ops@a.example")
        self.viewer = merchant_of(self.shop, Role.VIEWER)
        self.stranger = merchant_of(ShopFactory(), Role.OWNER, user__email="owner@b.example")
        self.consumer = UserFactory(email="x@consumer.example")
        self.request = RefusedRequestFactory(
            order__shop=self.shop, order__consumer=self.consumer, requested_at=T0 - 2 * H
        )
        self.order = self.request.order.number
        self.staff = [self.owner, self.operator, self.viewer]

    def open(self, kind: str = "refused", request=None, at: datetime = T0) -> Dispute:
        with time_machine.travel(at, tick=False):
            return services.dispute_open(
                request=request or self.request,
                by=self.consumer,
                kind=kind,
                complaint="商家拒绝开票，理由不成立",
            )

    def propose(self, d: Dispute, at: datetime = T0 + H, **plan) -> Dispute:
        plan = plan or {"plan": "another_date", "plan_date": date(2026, 11, 20)}
        with time_machine.travel(at, tick=False):
            return services.dispute_answer(dispute=d, by=self.operator, **plan)


@pytest.fixture
def w() -> World:
    return World()


@pytest.fixture
def arbitrator():
    user = UserFactory(is_staff=True, email="arb@platform.example")
    user.groups.add(Group.objects.get(name=ARBITRATOR_GROUP))
    return user


def deliver(at: datetime) -> None:
    """The drain runs twice: the second finds nothing new."""
    with time_machine.travel(at, tick=False):
        drain_outbox(now=at)
        assert drain_outbox(now=at)["sent"] == 0


def enforce(at: datetime) -> dict[str, int]:
    with time_machine.travel(at, tick=False):
        return services.disputes_enforce_deadlines()


def inbox(kind: str) -> list:
    """Who got `kind` in their inbox (one row each), in user-id order."""
    rows = Notification.objects.for_system().filter(kind=kind).order_by("user_id")
    return [n.user for n in rows]


def note(kind: str, user) -> Notification:
    return Notification.objects.for_system().get(kind=kind, user=user)


def english(kind: str, user) -> str:
    texts = note(kind, user).texts["en"]
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


def by_id(*users) -> list:
    return sorted(users, key=lambda u: u.pk)


STAFF_MAIL = ["ops@a.example", "owner@a.example"]  # the viewer has no address: inbox only
CONSUMER_MAIL = ["x@consumer.example"]


# --- opened: the shop hears of the complaint and of its 24 h ---------------------------------


def test_an_opened_dispute_tells_every_member_of_the_shop_when_to_answer(w):
    # when the consumer opens a refused-invoice dispute
    d = w.open()
    deliver(T0)
    # then every member of the shop (viewers too) has it in the inbox, once; not the consumer
    assert inbox("dispute_opened") == by_id(*w.staff)
    assert mailed("dispute_opened") == STAFF_MAIL
    # with the complaint, the deadline in China time, and what missing it means
    words = english("dispute_opened", w.operator)
    assert w.order in words and "商家拒绝开票" in words
    assert f"{china_time(d.merchant_due_at)} (China time)" in words
    assert china_time(d.merchant_due_at) == china_time(MERCHANT_DUE)
    assert "penalty" in words and "platform judges" in words
    assert note("dispute_opened", w.owner).link == f"/merchant/disputes/{d.pk}/"


def test_an_urge_dispute_tells_the_shop_the_platform_judges_it(w):
    # given an urge ticket the shop let lapse
    request = InvoiceRequestFactory(order__shop=w.shop, order__consumer=w.consumer)
    make_ticket(request, state="breached", sla="missed", resolution="")
    # when the consumer opens an urge dispute (straight to the platform)
    w.open("urge", request=request)
    deliver(T0)
    # then the shop hears of it, with the system's proposal and no deadline of its own
    assert inbox("dispute_opened") == by_id(*w.staff)
    words = english("dispute_opened", w.owner)
    assert "platform judges it" in words and "merchant liable" in words
    assert "(China time)" not in words
    assert queued("dispute_escalated") == 0  # it never moved: it was opened there


def test_a_shop_on_the_old_flow_hears_the_platform_judges_it(w):
    w.shop.new_flow_since = None
    w.shop.save()
    w.open()
    deliver(T0)
    assert inbox("dispute_opened") == by_id(*w.staff)
    words = english("dispute_opened", w.owner)
    assert "old flow" in words and "platform judges it" in words


def test_an_automatic_judgment_at_opening_follows_the_opening(w, settings):
    settings.JDPOP_AUTO_JUDGE_CLEAR_CASES = True
    request = InvoiceRequestFactory(order__shop=w.shop, order__consumer=w.consumer)
    make_ticket(request, state="breached", sla="missed", resolution="")
    w.open("urge", request=request)
    deliver(T0)
    kinds = list(OutboxMessage.objects.order_by("id").values_list("kind", flat=True))
    assert kinds[0] == "dispute_opened"  # the shop hears of the dispute first
    assert sorted(kinds[1:]) == ["dispute_judged", "penalty_proposed"]
    assert inbox("dispute_judged") == by_id(*w.staff, w.consumer)


# --- the plan: the consumer hears of it and of their 72 h -----------------------------------


def test_a_settlement_plan_tells_the_consumer_the_plan_and_their_deadline(w):
    d = w.open()
    deliver(T0)
    # when the shop proposes another issue date
    d = w.propose(d)
    with pytest.raises(Conflict):  # a plan is final: a second answer changes nothing
        w.propose(d, plan="cannot_issue", note="x")
    deliver(T0 + H)
    # then the consumer, and only the consumer, hears of it once, in the inbox and by e-mail
    assert inbox("plan_proposed") == [w.consumer]
    assert mailed("plan_proposed") == CONSUMER_MAIL
    words = english("plan_proposed", w.consumer)
    assert "Another issue date agreed" in words and "2026-11-20" in words
    assert d.consumer_due_at == T0 + H + settings.JDPOP_DISPUTE_CONSUMER_WINDOW
    assert f"{china_time(d.consumer_due_at)} (China time)" in words
    assert "counts as accepted" in words  # silence accepts
    assert note("plan_proposed", w.consumer).link == f"/my/disputes/{d.pk}/"
    assert note("plan_proposed", w.consumer).shop_id is None


# --- the reminder before the consumer's deadline ----------------------------------------------


@pytest.fixture
def proposed(w) -> Dispute:
    """A plan proposed an hour after opening: the consumer has until PROPOSED + 72 h."""
    d = w.propose(w.open())
    deliver(T0 + H)
    return d


@pytest.mark.parametrize(("offset", "reminded"), [(-S, False), (timedelta(0), True), (S, True)])
def test_the_consumer_is_reminded_exactly_the_lead_time_before_the_deadline(
    w, proposed, offset, reminded
):
    # when the deadline job runs around the reminder's instant (the lead time before the end)
    at = proposed.consumer_due_at - settings.JDPOP_DISPUTE_CONSUMER_REMINDER + offset
    enforce(at)
    deliver(at)
    # then the consumer is reminded from that instant on, not a second before
    assert inbox("plan_reminder") == ([w.consumer] if reminded else [])
    assert mailed("plan_reminder") == (CONSUMER_MAIL if reminded else [])


def test_the_reminder_is_sent_once_however_often_the_job_runs(w, proposed):
    first = proposed.consumer_due_at - settings.JDPOP_DISPUTE_CONSUMER_REMINDER
    assert enforce(first)["plan_reminders"] == 1
    deliver(first)
    # the job runs on, every minute, until the deadline: it reports nothing new
    for later in (first + S, first + 12 * H, proposed.consumer_due_at):
        assert enforce(later)["plan_reminders"] == 0
        deliver(later)
    assert queued("plan_reminder") == 1
    assert inbox("plan_reminder") == [w.consumer] and mailed("plan_reminder") == CONSUMER_MAIL
    words = english("plan_reminder", w.consumer)
    assert f"{china_time(proposed.consumer_due_at)} (China time)" in words
    assert "counts as accepted" in words
    assert note("plan_reminder", w.consumer).link == f"/my/disputes/{proposed.pk}/"


def test_no_reminder_once_the_consumer_has_decided(w, proposed):
    # given a reminder queued, the consumer accepts before it goes out
    at = proposed.consumer_due_at - settings.JDPOP_DISPUTE_CONSUMER_REMINDER
    enforce(at)
    with time_machine.travel(at + S, tick=False):
        services.dispute_accept(dispute=proposed, by=w.consumer)
    deliver(at + S)
    # then the reminder is dropped as no longer needed; the shop hears the plan was accepted
    assert inbox("plan_reminder") == []
    assert OutboxMessage.objects.get(kind="plan_reminder").last_error.startswith("not sent")
    assert inbox("dispute_closed") == by_id(*w.staff)


def test_no_reminder_after_the_deadline(w, proposed):
    # the job was down through the reminder window: one second past the deadline it settles
    enforce(proposed.consumer_due_at + S)
    assert queued("plan_reminder") == 0


# --- to the platform: both sides hear it, however it got there --------------------------------


def test_a_lapsed_merchant_window_tells_both_sides_the_platform_judges_it(w):
    d = w.open()
    deliver(T0)
    # when the job runs past the merchant's deadline, twice
    assert enforce(MERCHANT_DUE + S)["merchant_timed_out"] == 1
    assert enforce(MERCHANT_DUE + 2 * S)["merchant_timed_out"] == 0
    deliver(MERCHANT_DUE + 2 * S)
    # then the shop's staff and the consumer hear of it once each
    assert queued("dispute_escalated") == 1
    assert inbox("dispute_escalated") == by_id(*w.staff, w.consumer)
    assert mailed("dispute_escalated") == sorted(STAFF_MAIL + CONSUMER_MAIL)
    deadline = f"{china_time(MERCHANT_DUE)} (China time)"
    staff, consumer = (
        english("dispute_escalated", w.owner),
        english("dispute_escalated", w.consumer),
    )
    assert deadline in staff and "penalty" in staff
    assert deadline in consumer and "platform judges it" in consumer
    assert note("dispute_escalated", w.consumer).link == f"/my/disputes/{d.pk}/"


def test_a_rejected_plan_tells_both_sides_the_platform_judges_it(w, proposed):
    with time_machine.travel(T0 + 2 * H, tick=False):
        services.dispute_reject(dispute=proposed, by=w.consumer, note="我需要发票，不接受")
    deliver(T0 + 2 * H)
    assert inbox("dispute_escalated") == by_id(*w.staff, w.consumer)
    assert "我需要发票，不接受" in english("dispute_escalated", w.operator)  # the reason
    assert "platform judges" in english("dispute_escalated", w.consumer)


def test_the_evidence_plan_tells_both_sides_the_platform_judges_it(w):
    d = w.open()
    EvidenceFactory(dispute=d, author=w.owner)
    w.propose(d, plan="platform_judge", note="消费者已同意不开票")
    deliver(T0 + H)
    assert inbox("dispute_escalated") == by_id(*w.staff, w.consumer)
    assert "cannot settle" in english("dispute_escalated", w.consumer)
    assert queued("plan_proposed") == 0  # no plan for the consumer to answer


# --- the judgment: both sides, with the verdict and the written reason ------------------------


@pytest.mark.parametrize(("verdict", "penalty"), [("liable", True), ("not_liable", False)])
def test_a_judgment_reaches_both_sides_with_the_verdict_and_the_reason(
    w, arbitrator, verdict, penalty
):
    d = w.open()
    enforce(MERCHANT_DUE + S)  # to the platform
    deliver(MERCHANT_DUE + S)
    d.refresh_from_db()
    code = "refusal_unjustified" if verdict == "liable" else "refusal_justified"
    with time_machine.travel(MERCHANT_DUE + H, tick=False):
        services.dispute_judge(
            dispute=d, by=arbitrator, verdict=verdict, reason_code=code, reason="退款后仍应开票"
        )
        with pytest.raises(Conflict):  # judged once
            services.dispute_judge(
                dispute=d, by=arbitrator, verdict=verdict, reason_code=code, reason="again"
            )
    deliver(MERCHANT_DUE + H)
    assert queued("dispute_judged") == 1
    assert inbox("dispute_judged") == by_id(*w.staff, w.consumer)
    assert mailed("dispute_judged") == sorted(STAFF_MAIL + CONSUMER_MAIL)
    label = "merchant liable" if verdict == "liable" else "merchant not liable"
    for user in (w.viewer, w.consumer):
        words = english("dispute_judged", user)
        assert label in words and "退款后仍应开票" in words
    assert ("penalty" in english("dispute_judged", w.viewer)) is penalty


# --- settled or withdrawn: the shop hears how it closed ----------------------------------------


def test_an_accepted_plan_tells_the_shop_the_dispute_is_settled(w, proposed):
    with time_machine.travel(T0 + 2 * H, tick=False):
        services.dispute_accept(dispute=proposed, by=w.consumer)
    deliver(T0 + 2 * H)
    assert inbox("dispute_closed") == by_id(*w.staff)  # the consumer did it: not told
    assert mailed("dispute_closed") == STAFF_MAIL
    words = english("dispute_closed", w.owner)
    assert "accepted" in words and "issue the invoice by 2026-11-20" in words


def test_a_lapsed_consumer_window_tells_both_sides_the_plan_counts_as_accepted(w, proposed):
    past = proposed.consumer_due_at + S
    assert enforce(past)["settled_by_lapse"] == 1
    assert enforce(past + S)["settled_by_lapse"] == 0
    deliver(past + S)
    assert queued("dispute_closed") == 1
    assert inbox("dispute_closed") == by_id(*w.staff, w.consumer)
    assert mailed("dispute_closed") == sorted(STAFF_MAIL + CONSUMER_MAIL)
    for user in (w.owner, w.consumer):
        words = english("dispute_closed", user)
        assert "counts as accepted" in words
        assert f"{china_time(proposed.consumer_due_at)} (China time)" in words


def test_a_withdrawn_dispute_tells_the_shop(w):
    d = w.open()
    with time_machine.travel(T0 + H, tick=False):
        services.dispute_withdraw(dispute=d, by=w.consumer)
        with pytest.raises(Conflict):
            services.dispute_withdraw(dispute=d, by=w.consumer)
    deliver(T0 + H)
    assert inbox("dispute_closed") == by_id(*w.staff)
    assert "withdrew" in english("dispute_closed", w.viewer)


# --- the shop's webhook ------------------------------------------------------------------------


def test_the_shops_webhook_gets_ids_states_and_deadlines_but_no_personal_data(w):
    WebhookEndpoint.objects.create(shop=w.shop, url="https://hooks.example/jdpop", secret="s")
    d = w.open()
    w.propose(d)
    deliver(T0 + H)
    deliveries = WebhookDelivery.objects.for_system().order_by("id")
    assert [x.event_type for x in deliveries] == ["dispute_opened", "plan_proposed"]
    data = deliveries.get(event_type="plan_proposed").payload["data"]
    d.refresh_from_db()
    assert data["dispute_id"] == d.pk and data["order_number"] == w.order
    assert (data["state"], data["whose_move"], data["plan"]) == (
        "awaiting_consumer",
        "consumer",
        "another_date",
    )
    assert data["plan_date"] == "2026-11-20"
    assert datetime.fromisoformat(data["consumer_due_at"]) == d.consumer_due_at
    assert datetime.fromisoformat(data["merchant_due_at"]) == MERCHANT_DUE
    sent = json.dumps([x.payload for x in deliveries], ensure_ascii=False)
    for personal in ("@", w.consumer.username, "商家拒绝开票"):  # e-mails, names, their words
        assert personal not in sent
