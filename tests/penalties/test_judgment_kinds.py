"""Spec 8: a merchant-liable judgment's reason decides the penalty kind, from one table
(`penalties.rules`); one penalty per case and kind, never two."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from disputes import services
from disputes.models import Dispute
from penalties.models import Penalty
from penalties.rules import PENALTY_FOR_REASON, penalty_kind_for_judgment
from penalties.services import penalty_record_false_reply
from tests.disputes.factories import dispute_in, urge_request
from tickets.models import TicketReply

Reason = Dispute.ReasonCode
URGE, REFUSED = Dispute.Kind.URGE, Dispute.Kind.REFUSED

# reason code: (urge dispute, refused-invoice dispute), as the spec and the platform name them
EXPECTED = {
    "no_reply": ("no_reply", "dispute_no_answer"),  # 不填
    "late_reply": ("late_reply", "late_reply"),
    "broken_promise": ("broken_promise", "broken_promise"),  # 承诺不履约
    "false_reply": ("false_reply", "false_reply"),  # 乱填
    "issued_in_time": ("dispute_liable", "dispute_liable"),
    "unverified_invoice": ("dispute_liable", "dispute_liable"),
    "refusal_unjustified": ("dispute_liable", "dispute_liable"),
    "refusal_justified": ("dispute_liable", "dispute_liable"),
    "consumer_agreed": ("dispute_liable", "dispute_liable"),
    "contested": ("dispute_liable", "dispute_liable"),
    "other": ("dispute_liable", "dispute_liable"),
}


def test_the_table_names_every_reason_code():
    assert set(EXPECTED) == set(Reason.values)
    assert set(PENALTY_FOR_REASON) <= set(Reason.values)


@pytest.mark.parametrize("reason_code", Reason.values)
@pytest.mark.parametrize(("dispute_kind", "column"), [(URGE, 0), (REFUSED, 1)])
def test_a_liable_judgment_records_the_kind_its_reason_names(reason_code, dispute_kind, column):
    kind = penalty_kind_for_judgment(
        dispute_kind=dispute_kind, verdict="liable", reason_code=reason_code
    )
    assert kind == EXPECTED[reason_code][column]
    assert kind in Penalty.Kind.values


@pytest.mark.parametrize("reason_code", Reason.values)
def test_a_not_liable_judgment_records_none(reason_code):
    for dispute_kind in (URGE, REFUSED):
        assert (
            penalty_kind_for_judgment(
                dispute_kind=dispute_kind, verdict="not_liable", reason_code=reason_code
            )
            is None
        )


# --- through the judgment --------------------------------------------------------------------


def open_urge(**record) -> Dispute:
    r = urge_request(**record)
    return services.dispute_open(request=r, by=r.consumer, kind="urge", complaint="一直不开票")


def kinds(d: Dispute) -> list[str]:
    return sorted(
        Penalty.objects.for_system().filter(dispute_id=d.pk).values_list("kind", flat=True)
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("reason_code", "kind"),
    [("false_reply", "false_reply"), ("refusal_unjustified", "dispute_liable")],
)
def test_a_refused_dispute_judged_liable_records_its_reasons_kind(arbitrator, reason_code, kind):
    d = dispute_in("awaiting_platform")
    services.dispute_judge(
        dispute=d, by=arbitrator, verdict="liable", reason_code=reason_code, reason="聊天记录为证"
    )
    assert kinds(d) == [kind]
    assert Penalty.objects.for_system().get(dispute_id=d.pk).state == "proposed"


@pytest.mark.django_db
def test_false_reply_records_luan_tian_at_once_not_a_lost_dispute_penalty(arbitrator):
    # given an urge dispute whose ticket was answered 已协商无需开票
    d = open_urge(resolution="no_invoice_needed", resolution_note="顾客同意")
    # when the arbitrator judges the answer false
    services.dispute_judge(
        dispute=d, by=arbitrator, verdict="liable", reason_code="false_reply", reason="顾客未同意"
    )
    # then the one penalty is 乱填, on the dispute and its ticket: no second admin action
    penalty = Penalty.objects.for_system().get()
    assert (penalty.kind, penalty.dispute_id, penalty.ticket_id) == (
        "false_reply",
        d.pk,
        d.ticket.pk,
    )


@pytest.mark.django_db
def test_a_false_reply_already_recorded_on_the_ticket_is_not_recorded_twice(arbitrator):
    # given an urge dispute whose ticket's reply an arbitrator already found false (乱填)
    d = open_urge(resolution="no_invoice_needed", resolution_note="顾客同意")
    ticket = d.ticket
    TicketReply.objects.create(
        ticket=ticket, at=ticket.opened_at, resolution="no_invoice_needed", note="顾客同意"
    )
    penalty_record_false_reply(ticket=ticket, by=arbitrator, note="顾客从未同意")
    # when the dispute is judged liable for the same false reply
    services.dispute_judge(
        dispute=d, by=arbitrator, verdict="liable", reason_code="false_reply", reason="同上"
    )
    # then the shop still has one 乱填 penalty for this case
    assert Penalty.objects.for_system().filter(kind="false_reply").count() == 1
    assert kinds(d) == []


@pytest.mark.django_db
def test_the_ticket_jobs_no_reply_and_the_judgments_are_one_penalty(arbitrator):
    # given an urge dispute on a breached ticket, whose no-reply penalty the job proposed
    d = open_urge(state="breached", sla="missed", resolution="")
    Penalty.objects.create(shop_id=d.shop_id, kind="no_reply", ticket=d.ticket)
    # when the arbitrator confirms the proposal (liable, no reply)
    services.dispute_confirm_proposal(dispute=d, by=arbitrator)
    # then that stays the one no-reply penalty of the case
    assert Penalty.objects.for_system().filter(kind="no_reply").count() == 1


@pytest.mark.django_db
def test_the_database_refuses_a_second_penalty_of_a_kind_for_a_dispute():
    d = dispute_in("closed")
    Penalty.objects.create(shop_id=d.shop_id, kind="false_reply", dispute=d)
    with pytest.raises(IntegrityError), transaction.atomic():
        Penalty.objects.create(shop_id=d.shop_id, kind="false_reply", dispute=d)
