"""Spec 5 and 7: who may open a refused-invoice dispute, when, and where it goes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from core.errors import Conflict
from core.models import HistoryEntry
from disputes import services
from disputes.models import Dispute
from tests.factories import InvoiceRequestFactory, UserFactory, merchant_of

from .factories import DisputeFactory, RefusedRequestFactory, dispute_in

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def open_refused(request, **kwargs):
    return services.dispute_open(
        request=request, by=request.consumer, kind="refused", complaint="拒绝理由不成立", **kwargs
    )


def test_the_consumer_opens_a_refused_invoice_dispute_and_the_merchant_has_24_hours():
    # given a refused request on a new-flow shop
    r = RefusedRequestFactory()
    # when its consumer opens a dispute
    with time_machine.travel(T0, tick=False):
        d = open_refused(r)
    # then it awaits the merchant, with a stored 24 h deadline, and the history says so
    assert (d.state, d.kind, d.old_flow) == ("awaiting_merchant", "refused", False)
    assert d.merchant_due_at == T0 + timedelta(hours=24)
    assert (d.whose_move, d.deadline) == ("merchant", T0 + timedelta(hours=24))
    assert (d.shop_id, d.consumer_id) == (r.shop_id, r.consumer_id)
    [h] = HistoryEntry.objects.for_system().filter(subject="dispute", subject_id=d.pk)
    assert (h.request_id, h.action, h.state_to, h.actor) == (
        r.pk,
        "opened",
        "awaiting_merchant",
        r.consumer,
    )


def test_the_merchant_window_is_a_setting(settings):
    settings.JDPOP_DISPUTE_MERCHANT_WINDOW = timedelta(hours=48)
    with time_machine.travel(T0, tick=False):
        d = open_refused(RefusedRequestFactory())
    assert d.merchant_due_at == T0 + timedelta(hours=48)


def test_on_the_old_flow_the_dispute_goes_straight_to_the_platform_without_plans():
    # given a refused request of a shop not on the new flow (spec 7)
    r = RefusedRequestFactory(order__shop__new_flow_since=None)
    # when the consumer opens a dispute
    d = open_refused(r)
    # then the platform has it at once: no merchant deadline, no plans
    assert (d.state, d.old_flow, d.merchant_due_at) == ("awaiting_platform", True, None)
    assert (d.whose_move, d.deadline) == ("platform", None)
    assert d.platform_since is not None and d.proposed_verdict == "needs_person"
    with pytest.raises(Conflict):
        services.dispute_answer(
            dispute=d, by=merchant_of(d.shop), plan="cannot_issue", note="无法开票"
        )


@pytest.mark.parametrize("state", ["pending", "cancelled"])
def test_only_a_refused_request_can_be_disputed_as_refused(state):
    r = InvoiceRequestFactory(state=state)
    with pytest.raises(Conflict) as e:
        open_refused(r)
    assert e.value.code == "not_refused"
    assert not Dispute.objects.for_system().exists()


def test_only_the_requests_consumer_opens_a_dispute():
    r = RefusedRequestFactory()
    with pytest.raises(PermissionDenied):
        services.dispute_open(request=r, by=UserFactory(), kind="refused", complaint="x")
    assert not Dispute.objects.for_system().exists()


def test_a_complaint_is_required():
    r = RefusedRequestFactory()
    with pytest.raises(ValidationError) as e:
        services.dispute_open(request=r, by=r.consumer, kind="refused", complaint="  ")
    assert "complaint" in e.value.error_dict
    assert not Dispute.objects.for_system().exists()


def test_a_second_open_dispute_of_the_same_kind_is_a_conflict():
    # given an open dispute
    r = RefusedRequestFactory()
    first = open_refused(r)
    # when the consumer opens another one, then the service says Conflict
    with pytest.raises(Conflict) as e:
        open_refused(r)
    assert e.value.code == "dispute_open"
    assert list(Dispute.objects.for_system().values_list("pk", flat=True)) == [first.pk]


def test_the_database_refuses_a_second_open_dispute_even_bypassing_the_service():
    d = DisputeFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        DisputeFactory(request=d.request)
    assert Dispute.objects.for_system().count() == 1


def test_the_database_refuses_it_in_every_open_state():
    d = dispute_in("awaiting_platform")
    with pytest.raises(IntegrityError), transaction.atomic():
        dispute_in("awaiting_consumer", request=d.request)


def test_a_dispute_may_be_opened_again_once_the_first_is_closed():
    # given a closed dispute
    closed = dispute_in("closed")
    # when the consumer opens a new one on the same request
    again = open_refused(closed.request)
    # then it is a new, open dispute next to the closed one
    assert again.pk != closed.pk and again.state == "awaiting_merchant"
    assert Dispute.objects.for_system().filter(request=closed.request).count() == 2


def test_the_opening_problem_tells_the_pages_whether_to_show_the_button():
    r = RefusedRequestFactory()
    assert services.dispute_opening_problem(request=r, kind="refused") is None
    open_refused(r)
    assert services.dispute_opening_problem(request=r, kind="refused").code == "dispute_open"
    assert services.dispute_opening_problem(request=r, kind="urge").code == "no_ticket"
