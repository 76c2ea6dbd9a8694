"""Scoping fails closed: a read of a model a merchant or a consumer can reach runs only once it
says whose view it is (core.scoping). A page that forgets its scope fails, it does not leak."""

from __future__ import annotations

import pytest
from django.apps import apps

from core.models import Shop
from core.scoping import ScopedQuerySet, UnscopedQuery
from invoices.models import InvoiceRequest
from tests.factories import InvoiceRequestFactory, UserFactory, merchant_of

pytestmark = pytest.mark.django_db

SCOPED = sorted(
    m._meta.label
    for m in apps.get_models()
    if isinstance(m._default_manager.get_queryset(), ScopedQuerySet)
)

EVALUATIONS = {
    "iterate": lambda qs: list(qs),
    "get": lambda qs: qs.get(pk=1),
    "first": lambda qs: qs.first(),
    "count": lambda qs: qs.count(),
    "exists": lambda qs: qs.exists(),
    "aggregate": lambda qs: qs.aggregate(n=__import__("django").db.models.Count("pk")),
    "values": lambda qs: list(qs.values_list("pk", flat=True)),
    "update": lambda qs: qs.update(pk=0),
    "delete": lambda qs: qs.delete(),
}


def test_every_model_merchants_or_consumers_reach_is_scoped():
    assert {
        "core.Shop",
        "core.ShopMembership",
        "core.HistoryEntry",
        "invoices.Order",
        "invoices.InvoiceRequest",
        "tickets.UrgeTicket",
        "tickets.TicketReply",
        "disputes.Dispute",
        "disputes.Evidence",
        "penalties.Penalty",
    } <= set(SCOPED)


@pytest.mark.parametrize("label", SCOPED)
@pytest.mark.parametrize("how", EVALUATIONS)
def test_an_unscoped_read_fails_loudly(label, how):
    model = apps.get_model(label)
    with pytest.raises((UnscopedQuery, Exception)) as e:
        EVALUATIONS[how](model.objects.filter(pk__gt=0).order_by("pk"))
    # the append-only tables refuse update/delete before they would look at the scope
    assert isinstance(e.value, UnscopedQuery) or type(e.value).__name__ == "HistoryIsAppendOnly"


def test_each_scope_sees_what_its_user_may():
    r = InvoiceRequestFactory()
    merchant = merchant_of(r.shop)
    stranger = UserFactory()
    qs = InvoiceRequest.objects
    assert list(qs.for_merchant(merchant)) == [r]
    assert list(qs.for_consumer(r.consumer)) == [r]
    assert list(qs.for_merchant(stranger)) == [] and list(qs.for_consumer(stranger)) == []
    assert list(qs.for_arbitrator(stranger)) == []  # not an arbitrator: nothing
    assert list(qs.for_system()) == [r]
    assert list(Shop.objects.for_consumer(r.consumer)) == []  # consumers see no shop list


def test_a_scope_survives_chaining_and_a_union_needs_two_scoped_halves():
    r = InvoiceRequestFactory()
    mine = InvoiceRequest.objects.for_consumer(r.consumer)
    assert mine.filter(state="pending").select_related("order").order_by("pk").get() == r
    assert list(mine | InvoiceRequest.objects.for_merchant(r.consumer)) == [r]
    with pytest.raises(UnscopedQuery):
        list(mine | InvoiceRequest.objects.all())


def test_children_of_a_scoped_object_are_scoped_by_it():
    r = InvoiceRequestFactory()
    parent = InvoiceRequest.objects.for_consumer(r.consumer).get()
    assert list(parent.order.invoice_requests.all()) == [r]  # a related manager
    assert list(parent.history) == []  # its history, through the request
