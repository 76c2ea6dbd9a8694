"""Spec 5: the merchant's five plans, what each requires, and the two windows' boundaries."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from core.errors import Conflict
from core.models import HistoryEntry, ShopMembership
from disputes import services
from disputes.models import Dispute, Evidence
from disputes.plans import PLAN_RULES, Plan
from invoices import services as invoice_services
from tests.factories import PDF_BYTES, InvoiceRequestFactory, merchant_of

from .factories import DisputeFactory, EvidenceFactory, dispute_in

pytestmark = pytest.mark.django_db

CN = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 3, 1, 10, 0, tzinfo=CN)
TOMORROW = date(2025, 3, 2)


@pytest.fixture
def d():
    with time_machine.travel(T0, tick=False):
        return DisputeFactory()


def answer(d, owner, plan, **kwargs):
    return services.dispute_answer(dispute=d, by=owner, plan=plan, **kwargs)


def issue_reissue(d, owner):
    """The consumer asks for a re-issue (补开) and the merchant uploads the invoice."""
    reissue = InvoiceRequestFactory(
        order=d.request.order, kind="reissue", reissue_of=d.request, consumer=d.consumer
    )
    invoice_services.invoice_request_issue(
        invoice_request=reissue,
        by=owner,
        file=SimpleUploadedFile("i.pdf", PDF_BYTES),
        invoice_number="12345678901234567890",
    )


def test_the_plans_declare_their_requirements_as_data():
    assert [p for p, r in PLAN_RULES.items() if r.settlement] == [
        "issued",
        "no_invoice_needed",
        "cannot_issue",
        "another_date",
    ]
    assert PLAN_RULES[Plan.ANOTHER_DATE].needs_date
    assert PLAN_RULES[Plan.PLATFORM_JUDGE].needs_evidence
    assert not PLAN_RULES[Plan.PLATFORM_JUDGE].settlement
    assert PLAN_RULES[Plan.ISSUED].needs_issued_invoice


@pytest.mark.parametrize(
    ("plan", "kwargs", "field"),
    [
        ("no_invoice_needed", {}, "note"),
        ("cannot_issue", {"note": "  "}, "note"),
        ("another_date", {}, "plan_date"),
        ("another_date", {"plan_date": date(2025, 3, 1)}, "plan_date"),  # today is not future
        ("another_date", {"plan_date": date(2025, 2, 1)}, "plan_date"),
        ("issued", {}, "plan"),  # no invoice was uploaded
        ("platform_judge", {"note": "请平台判责"}, "evidence"),
        ("platform_judge", {}, "note"),
        ("no_such_plan", {"note": "x"}, "plan"),
    ],
)
def test_each_plan_refuses_what_it_lacks_and_changes_nothing(d, plan, kwargs, field):
    owner = merchant_of(d.shop)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        with pytest.raises(ValidationError) as e:
            answer(d, owner, plan, **kwargs)
    assert field in e.value.error_dict
    assert Dispute.objects.for_system().get(pk=d.pk).state == "awaiting_merchant"


@pytest.mark.parametrize(
    ("plan", "kwargs"),
    [
        ("no_invoice_needed", {"note": "已与消费者电话协商"}),
        ("cannot_issue", {"note": "该商品为二手商品"}),
        ("another_date", {"plan_date": TOMORROW}),
    ],
)
def test_a_settlement_plan_gives_the_consumer_72_hours(d, plan, kwargs):
    # given a dispute awaiting the merchant; when the merchant answers with a settlement plan
    owner = merchant_of(d.shop)
    at = T0 + timedelta(hours=2)
    with time_machine.travel(at, tick=False):
        d = answer(d, owner, plan, **kwargs)
    # then the consumer decides within 72 h
    assert (d.state, d.plan, d.answered_by) == ("awaiting_consumer", plan, owner)
    assert (d.whose_move, d.deadline) == ("consumer", at + timedelta(hours=72))
    assert d.consumer_due_at == at + timedelta(hours=72)
    entry = HistoryEntry.objects.for_system().get(
        subject="dispute", subject_id=d.pk, action="settlement_proposed"
    )
    assert entry.data["plan"] == plan


def test_the_agreed_date_is_judged_in_china_time():
    # given 00:30 on 1 March in Shanghai, which is still 28 February in UTC
    at = datetime(2025, 3, 1, 0, 30, tzinfo=CN)
    with time_machine.travel(at, tick=False):
        d = DisputeFactory()
        owner = merchant_of(d.shop)
        # then 1 March is today, not the future; 2 March is
        with pytest.raises(ValidationError):
            answer(d, owner, "another_date", plan_date=date(2025, 3, 1))
        d = answer(d, owner, "another_date", plan_date=date(2025, 3, 2))
    assert d.plan_date == date(2025, 3, 2)


def test_invoice_issued_only_once_the_invoice_is_uploaded(d):
    owner = merchant_of(d.shop)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        issue_reissue(d, owner)
        d = answer(d, owner, "issued")
    assert (d.state, d.plan) == ("awaiting_consumer", "issued")


def test_the_evidence_plan_goes_to_the_platform_and_submits_the_evidence(d):
    # given the merchant's draft evidence
    owner = merchant_of(d.shop)
    draft = EvidenceFactory(dispute=d, author=owner)
    # when the merchant answers "cannot settle, platform please judge"
    with time_machine.travel(T0 + timedelta(hours=3), tick=False):
        d = answer(d, owner, "platform_judge", note="消费者已同意不开票，见聊天记录")
    # then the platform has it, with the evidence submitted in the same transaction
    assert (d.state, d.whose_move, d.deadline) == ("awaiting_platform", "platform", None)
    assert d.platform_since == T0 + timedelta(hours=3)
    assert Evidence.objects.for_system().get(pk=draft.pk).submitted_at == T0 + timedelta(hours=3)
    assert d.merchant_evidence_submitted_at == T0 + timedelta(hours=3)
    actions = (
        HistoryEntry.objects.for_system()
        .filter(subject="dispute", subject_id=d.pk)
        .values_list("action", flat=True)
    )
    assert list(actions) == ["sent_to_platform", "evidence_submitted"]


def test_a_viewer_or_another_shop_cannot_answer(d):
    viewer = merchant_of(d.shop, role=ShopMembership.Role.VIEWER)
    stranger = merchant_of(DisputeFactory().shop)
    for user in (viewer, stranger, d.consumer):
        with pytest.raises(PermissionDenied):
            answer(d, user, "cannot_issue", note="x")
    assert Dispute.objects.for_system().get(pk=d.pk).state == "awaiting_merchant"


# --- the windows' boundaries -----------------------------------------------------------------


def test_the_merchant_may_answer_exactly_at_the_deadline(d):
    owner = merchant_of(d.shop)
    with time_machine.travel(d.merchant_due_at, tick=False):
        d = answer(d, owner, "cannot_issue", note="无法开票")
    assert d.state == "awaiting_consumer"


def test_one_second_past_the_merchant_deadline_the_answer_is_refused(d):
    owner = merchant_of(d.shop)
    with time_machine.travel(d.merchant_due_at + timedelta(seconds=1), tick=False):
        with pytest.raises(Conflict) as e:
            answer(d, owner, "cannot_issue", note="无法开票")
    assert e.value.code == "window_passed"
    assert Dispute.objects.for_system().get(pk=d.pk).state == "awaiting_merchant"


@pytest.mark.parametrize("decide", ["accept", "reject"])
def test_the_consumer_may_decide_exactly_at_the_deadline(decide):
    d = dispute_in("awaiting_consumer")
    with time_machine.travel(d.consumer_due_at, tick=False):
        if decide == "accept":
            d = services.dispute_accept(dispute=d, by=d.consumer)
        else:
            d = services.dispute_reject(dispute=d, by=d.consumer, note="我从未同意")
    assert d.state == ("closed" if decide == "accept" else "awaiting_platform")


@pytest.mark.parametrize("decide", ["accept", "reject"])
def test_one_second_past_the_consumer_deadline_the_decision_is_refused(decide):
    d = dispute_in("awaiting_consumer")
    with time_machine.travel(d.consumer_due_at + timedelta(seconds=1), tick=False):
        with pytest.raises(Conflict):
            if decide == "accept":
                services.dispute_accept(dispute=d, by=d.consumer)
            else:
                services.dispute_reject(dispute=d, by=d.consumer, note="我从未同意")
    assert Dispute.objects.for_system().get(pk=d.pk).state == "awaiting_consumer"


def test_accepting_settles_and_closes():
    d = dispute_in("awaiting_consumer")
    d = services.dispute_accept(dispute=d, by=d.consumer)
    assert (d.state, d.outcome, d.whose_move, d.deadline) == ("closed", "settled", "none", None)


def test_rejecting_needs_a_reason_and_sends_it_to_the_platform():
    d = dispute_in("awaiting_consumer")
    with pytest.raises(ValidationError):
        services.dispute_reject(dispute=d, by=d.consumer, note="")
    d = services.dispute_reject(dispute=d, by=d.consumer, note="我没有同意不开票")
    assert (d.state, d.consumer_note, d.proposed_verdict) == (
        "awaiting_platform",
        "我没有同意不开票",
        "needs_person",
    )


def test_only_the_consumer_decides():
    d = dispute_in("awaiting_consumer")
    with pytest.raises(PermissionDenied):
        services.dispute_accept(dispute=d, by=merchant_of(d.shop))
