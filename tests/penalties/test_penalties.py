"""Spec 8: an arbitrator confirms or waives a proposed penalty, once, with a reason to waive."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import Conflict
from core.models import HistoryEntry
from disputes import services
from penalties import services as penalty_services
from penalties.models import Penalty
from tests.disputes.factories import DisputeFactory, urge_request
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def penalty():
    """The no-reply penalty of a dispute whose merchant let the window lapse."""
    DisputeFactory(opened_at=timezone.now() - timezone.timedelta(days=2))
    services.disputes_enforce_deadlines()
    return Penalty.objects.for_system().get()


def test_confirm_once(penalty, arbitrator):
    penalty = penalty_services.penalty_confirm(penalty=penalty, by=arbitrator)
    assert penalty.state == "confirmed"
    entry = HistoryEntry.objects.for_system().get(action="penalty_confirmed")
    assert (entry.subject, entry.subject_id, entry.actor) == (
        "dispute",
        penalty.dispute_id,
        arbitrator,
    )
    with pytest.raises(Conflict):
        penalty_services.penalty_waive(penalty=penalty, by=arbitrator, note="重复")
    assert Penalty.objects.for_system().get().state == "confirmed"


def test_waive_needs_a_reason(penalty, arbitrator):
    with pytest.raises(ValidationError):
        penalty_services.penalty_waive(penalty=penalty, by=arbitrator, note=" ")
    penalty = penalty_services.penalty_waive(
        penalty=penalty, by=arbitrator, note="系统故障导致超时"
    )
    assert penalty.state == "waived"
    assert (
        HistoryEntry.objects.for_system().get(action="penalty_waived").data["note"]
        == "系统故障导致超时"
    )


def test_only_arbitrators_decide(penalty):
    with pytest.raises(PermissionDenied):
        penalty_services.penalty_confirm(penalty=penalty, by=UserFactory(is_staff=True))
    assert Penalty.objects.for_system().get().state == "proposed"


def test_the_decision_is_recorded_on_the_penalty(penalty, arbitrator):
    penalty = penalty_services.penalty_waive(
        penalty=penalty, by=arbitrator, note="系统故障导致超时"
    )
    assert (penalty.state, penalty.decided_by, penalty.decision_note) == (
        "waived",
        arbitrator,
        "系统故障导致超时",
    )
    assert penalty.decided_at is not None
    entry = HistoryEntry.objects.for_system().get(action="penalty_waived")
    assert (entry.state_from, entry.state_to) == ("proposed", "waived")


def test_a_tickets_penalty_is_decided_the_same_way_in_the_tickets_history(arbitrator):
    # given a no-reply penalty the ticket jobs recorded
    r = urge_request(state="breached", sla="missed", resolution="")
    p = Penalty.objects.create(shop=r.shop, kind="no_reply", ticket=r.urge_ticket)
    # when an arbitrator confirms it
    p = penalty_services.penalty_confirm(penalty=p, by=arbitrator, note="属实")
    # then the ticket's request has the history entry
    entry = HistoryEntry.objects.for_system().get(action="penalty_confirmed")
    assert (entry.request_id, entry.subject, entry.subject_id) == (r.pk, "ticket", r.urge_ticket.pk)
    assert (p.state, p.decision_note) == ("confirmed", "属实")


def test_the_database_keeps_one_penalty_per_dispute_and_kind(penalty):
    with pytest.raises(IntegrityError), transaction.atomic():
        Penalty.objects.create(
            shop_id=penalty.shop_id, kind=penalty.kind, dispute_id=penalty.dispute_id
        )
    # another kind for the same dispute is fine (a lapsed window, then a liable judgment)
    Penalty.objects.create(shop_id=penalty.shop_id, kind="dispute_liable", dispute=penalty.dispute)
    assert Penalty.objects.for_system().filter(dispute_id=penalty.dispute_id).count() == 2
