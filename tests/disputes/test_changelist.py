"""Change lists on big tables: no full COUNT on PostgreSQL when the list is unfiltered."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import changelist
from core.changelist import EstimatedCountPaginator
from disputes.models import Dispute

from .factories import DisputeFactory, dispute_in

pytestmark = pytest.mark.django_db


def test_a_small_or_filtered_list_is_counted_exactly():
    for _ in range(3):
        DisputeFactory()
    dispute_in("closed")
    assert EstimatedCountPaginator(Dispute.objects.for_system().all(), 2).count == 4
    assert EstimatedCountPaginator(Dispute.objects.for_system().open(), 2).count == 3


def test_a_filtered_count_stops_at_the_cap(monkeypatch):
    monkeypatch.setattr(changelist, "COUNT_CAP", 2)
    for _ in range(3):
        DisputeFactory()
    assert EstimatedCountPaginator(Dispute.objects.for_system().open(), 1).count == 2


@pytest.mark.postgres
def test_on_postgresql_an_unfiltered_big_list_takes_the_planners_estimate(monkeypatch):
    # given a table PostgreSQL has analysed, "big" from its first row
    for _ in range(3):
        DisputeFactory()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE disputes_dispute")
    monkeypatch.setattr(changelist, "ESTIMATE_ABOVE", 0)
    # when the unfiltered list is counted
    with CaptureQueriesContext(connection) as queries:
        count = EstimatedCountPaginator(Dispute.objects.for_system().with_queue_order(), 50).count
    # then the estimate comes from pg_class, with no COUNT over the table
    assert count == 3
    assert [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()] == []
    assert any("pg_class" in q["sql"] for q in queries)
