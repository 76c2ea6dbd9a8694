"""Spec 5: the arbitrator confirms or overrides the proposal; a liable judgment's penalty is
recorded exactly once; the written reason is there for both sides."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from core.errors import Conflict
from core.models import HistoryEntry
from disputes import services
from disputes.models import Dispute
from penalties.models import Penalty
from tests.factories import UserFactory, merchant_of
from tickets.models import UrgeTicket

from .factories import DisputeFactory, dispute_in, urge_request

pytestmark = pytest.mark.django_db

QUEUE = "/admin/disputes/dispute/"


def open_urge(**record) -> Dispute:
    r = urge_request(**record)
    return services.dispute_open(request=r, by=r.consumer, kind="urge", complaint="一直不开票")


def lost(d: Dispute) -> list[Penalty]:
    """The penalties of the dispute, whatever their kind (the reason decides it:
    `penalties.rules`)."""
    return list(Penalty.objects.for_system().filter(dispute_id=d.pk))


def test_confirming_a_liable_proposal_closes_it_and_records_one_penalty(arbitrator):
    # given an urge dispute on a breached ticket (proposal: liable, no reply)
    d = open_urge(state="breached", sla="missed", resolution="")
    # when the arbitrator confirms the proposal
    d = services.dispute_confirm_proposal(dispute=d, by=arbitrator)
    # then it is closed as judged, with the reason code and a written reason
    assert (d.state, d.outcome, d.verdict, d.reason_code) == (
        "closed",
        "judged",
        "liable",
        "no_reply",
    )
    assert d.reason and d.judged_by == arbitrator and d.whose_move == "none"
    [penalty] = lost(d)
    # (no reply: 不填, on the dispute and its ticket)
    assert (penalty.shop_id, penalty.dispute_id, penalty.kind) == (d.shop_id, d.pk, "no_reply")
    assert penalty.ticket_id == d.ticket.pk
    # and confirming again is a Conflict that records nothing more
    with pytest.raises(Conflict):
        services.dispute_confirm_proposal(
            dispute=Dispute.objects.for_system().get(pk=d.pk), by=arbitrator
        )
    with pytest.raises(Conflict):
        services.dispute_judge(
            dispute=d, by=arbitrator, verdict="liable", reason_code="no_reply", reason="again"
        )
    assert len(lost(d)) == 1
    assert (
        HistoryEntry.objects.for_system()
        .filter(subject="dispute", subject_id=d.pk, action="judged")
        .count()
        == 1
    )


def test_confirming_a_not_liable_proposal_records_no_penalty(arbitrator):
    # given an urge dispute on a ticket answered by uploading the invoice in time
    d = open_urge(resolution="issued", sla="met", state="answered")
    assert d.proposed_verdict == "not_liable"
    d = services.dispute_confirm_proposal(dispute=d, by=arbitrator)
    assert (d.verdict, d.reason_code) == ("not_liable", "issued_in_time")
    assert not Penalty.objects.for_system().exists()


def test_a_proposal_that_needs_a_person_cannot_be_confirmed(arbitrator):
    d = open_urge(resolution="cannot_issue")
    with pytest.raises(Conflict) as e:
        services.dispute_confirm_proposal(dispute=d, by=arbitrator)
    assert e.value.code == "needs_person"
    assert Dispute.objects.for_system().get(pk=d.pk).state == "awaiting_platform"


def test_overriding_needs_a_written_reason(arbitrator):
    # given a proposal of liable
    d = open_urge(state="breached", sla="missed", resolution="")
    # when the arbitrator judges not liable without a reason, then it is refused
    with pytest.raises(ValidationError) as e:
        services.dispute_judge(
            dispute=d, by=arbitrator, verdict="not_liable", reason_code="consumer_agreed"
        )
    assert "reason" in e.value.error_dict
    assert Dispute.objects.for_system().get(pk=d.pk).state == "awaiting_platform"
    # when with a reason, then it is judged as the arbitrator says, and no penalty
    d = services.dispute_judge(
        dispute=d,
        by=arbitrator,
        verdict="not_liable",
        reason_code="consumer_agreed",
        reason="聊天记录显示消费者同意延后开票",
    )
    assert (d.verdict, d.reason, d.state) == (
        "not_liable",
        "聊天记录显示消费者同意延后开票",
        "closed",
    )
    assert not Penalty.objects.for_system().exists()
    entry = HistoryEntry.objects.for_system().get(
        subject="dispute", subject_id=d.pk, action="judged"
    )
    assert entry.data["override"] is True and entry.actor == arbitrator


def test_a_false_reply_is_judged_liable_with_its_penalty(arbitrator):
    d = open_urge(resolution="no_invoice_needed")
    d = services.dispute_judge(
        dispute=d,
        by=arbitrator,
        verdict="liable",
        reason_code="false_reply",
        reason="消费者从未同意无需开票",
    )
    assert len(lost(d)) == 1


@pytest.mark.parametrize(
    "make_user",
    [lambda d: UserFactory(is_staff=True), lambda d: merchant_of(d.shop), lambda d: d.consumer],
    ids=["plain-staff", "merchant", "consumer"],
)
def test_only_arbitrators_judge(make_user):
    d = open_urge(state="breached", sla="missed", resolution="")
    user = make_user(d)
    with pytest.raises(PermissionDenied):
        services.dispute_confirm_proposal(dispute=d, by=user)
    with pytest.raises(PermissionDenied):
        services.dispute_judge(
            dispute=d, by=user, verdict="liable", reason_code="no_reply", reason="x"
        )
    assert Dispute.objects.for_system().get(pk=d.pk).state == "awaiting_platform"


def test_a_proposal_that_changed_with_the_ticket_must_be_reviewed_again(arbitrator):
    # given an urge dispute opened on a contested agreed date
    d = open_urge(resolution="date_agreed", promise_state="pending")
    assert d.proposed_verdict == "needs_person"
    # when the promise is then broken (the ticket job flags it)
    UrgeTicket.objects.for_system().filter(request=d.request).update(promise_state="broken")
    # then confirming the old proposal is refused, and the new one is stored and recorded
    with pytest.raises(Conflict) as e:
        services.dispute_confirm_proposal(dispute=d, by=arbitrator)
    assert e.value.code == "proposal_changed"
    d.refresh_from_db()
    assert (d.proposed_verdict, d.proposed_reason_code) == ("liable", "broken_promise")
    assert (
        HistoryEntry.objects.for_system().filter(subject_id=d.pk, action="proposal_updated").count()
        == 1
    )
    # and the arbitrator, having seen it, confirms it
    d = services.dispute_confirm_proposal(dispute=d, by=arbitrator)
    assert (d.verdict, d.reason_code) == ("liable", "broken_promise")


def test_a_lapsed_merchant_window_then_a_confirmed_judgment_makes_one_penalty(arbitrator):
    # given a refused-invoice dispute the merchant never answered
    d = DisputeFactory(opened_at=timezone.now() - timedelta(days=3))
    services.disputes_enforce_deadlines()
    d.refresh_from_db()
    # when the arbitrator confirms the proposal (liable, no reply)
    d = services.dispute_confirm_proposal(dispute=d, by=arbitrator)
    # then the judgment's reason (no reply) names the penalty the lapse already proposed: the
    # shop has that one penalty for this dispute, not two (`penalties.rules`)
    kinds = sorted(
        Penalty.objects.for_system().filter(dispute_id=d.pk).values_list("kind", flat=True)
    )
    assert kinds == ["dispute_no_answer"]


def test_an_arbitrator_opens_the_queue_and_runs_the_confirm_action(client, arbitrator):
    # given two clear urge disputes and one that needs a person
    clear = [open_urge(state="breached", sla="missed", resolution="") for _ in range(2)]
    unclear = dispute_in("awaiting_platform")
    client.force_login(arbitrator)
    assert client.get(QUEUE).status_code == 200
    # when the arbitrator selects all three and confirms the proposals
    response = client.post(
        QUEUE,
        {"action": "confirm_proposal", "_selected_action": [d.pk for d in [*clear, unclear]]},
        follow=True,
    )
    # then the two clear ones are judged, the other is reported and left alone
    assert response.status_code == 200
    levels = sorted(m.level_tag for m in response.context["messages"])
    assert levels == ["error", "success"]
    assert [Dispute.objects.for_system().get(pk=d.pk).state for d in clear] == ["closed", "closed"]
    assert Dispute.objects.for_system().get(pk=unclear.pk).state == "awaiting_platform"
    assert Penalty.objects.for_system().filter(kind="no_reply").count() == 2
