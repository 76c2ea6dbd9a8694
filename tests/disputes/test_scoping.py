"""Spec 9: a merchant sees only their shops' disputes, a consumer only their own."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from disputes import selectors
from disputes.models import Dispute, Evidence
from tests.factories import merchant_of

from .factories import DisputeFactory, EvidenceFactory, RefusedRequestFactory

pytestmark = pytest.mark.django_db


def test_for_merchant_and_for_consumer_exclude_the_others():
    # given two disputes of two shops and two consumers
    mine, theirs = DisputeFactory(), DisputeFactory()
    staff = merchant_of(mine.shop, role="viewer")
    # then each side sees only its own
    assert list(Dispute.objects.for_merchant(staff)) == [mine]
    assert list(Dispute.objects.for_consumer(mine.consumer)) == [mine]
    assert list(Dispute.objects.for_consumer(theirs.consumer)) == [theirs]
    assert not Dispute.objects.for_merchant(mine.consumer).exists()
    assert not Dispute.objects.for_consumer(staff).exists()
    assert not Dispute.objects.for_merchant(AnonymousUser()).exists()
    assert not Dispute.objects.for_consumer(AnonymousUser()).exists()


def test_evidence_is_scoped_through_its_dispute():
    mine, theirs = EvidenceFactory(), EvidenceFactory(submitted_at=timezone.now())
    staff = merchant_of(mine.dispute.shop)
    assert list(Evidence.objects.for_merchant(staff)) == [mine]
    assert list(Evidence.objects.for_consumer(theirs.dispute.consumer)) == [theirs]


def test_each_side_sees_its_own_drafts_but_not_the_others():
    d = DisputeFactory()
    staff = merchant_of(d.shop)
    merchant_draft = EvidenceFactory(dispute=d, author=staff)
    consumer_draft = EvidenceFactory(dispute=d, author=d.consumer, party="consumer")
    assert list(Evidence.objects.for_merchant(staff)) == [merchant_draft]
    assert list(Evidence.objects.for_consumer(d.consumer)) == [consumer_draft]
    Evidence.objects.for_system().filter(pk=consumer_draft.pk).update(submitted_at=d.opened_at)
    assert set(Evidence.objects.for_merchant(staff)) == {merchant_draft, consumer_draft}


def test_the_pages_selectors_answer_does_not_exist_for_anyone_elses_dispute():
    mine, theirs = DisputeFactory(), DisputeFactory()
    staff = merchant_of(mine.shop)
    assert selectors.dispute_get_for_merchant(user=staff, pk=mine.pk) == mine
    assert selectors.dispute_get_for_consumer(user=mine.consumer, pk=mine.pk) == mine
    with pytest.raises(Dispute.DoesNotExist):
        selectors.dispute_get_for_merchant(user=staff, pk=theirs.pk)
    with pytest.raises(Dispute.DoesNotExist):
        selectors.dispute_get_for_consumer(user=mine.consumer, pk=theirs.pk)
    assert list(selectors.disputes_for_merchant(user=staff)) == [mine]
    assert list(selectors.disputes_for_consumer(user=theirs.consumer)) == [theirs]


def test_the_dispute_button_shows_only_the_kinds_the_consumer_may_open():
    r = RefusedRequestFactory()
    assert selectors.dispute_kinds_open_to(user=r.consumer, request=r) == ["refused"]
    assert selectors.dispute_kinds_open_to(user=merchant_of(r.shop), request=r) == []
    DisputeFactory(request=r)
    assert selectors.dispute_kinds_open_to(user=r.consumer, request=r) == []


def test_the_progress_both_sides_see():
    d = DisputeFactory()
    p = selectors.dispute_progress(d)
    assert (p.state, p.whose_move, p.deadline) == ("awaiting_merchant", "merchant", d.deadline)
    assert str(p.deadline.tzinfo) == "Asia/Shanghai"
