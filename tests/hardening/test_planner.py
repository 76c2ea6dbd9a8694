"""Issue 8, item 8: a cold planner does not make a job crawl. Right after a bulk load, with no
statistics, a batch's UPDATE joins the batch's ids (core.sql.id_rows) instead of checking
every row of a partial index against the whole list of ids; and seed_demo leaves the
statistics behind it."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from core.sql import id_rows, ids
from tests.factories import InvoiceRequestFactory
from tickets.models import UrgeTicket

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_a_batch_update_is_looked_up_by_primary_key_without_statistics():
    # given tickets written just now, never analysed
    now = timezone.now()
    requests = [InvoiceRequestFactory() for _ in range(30)]
    tickets = UrgeTicket.objects.bulk_create(
        UrgeTicket(request=r, shop=r.shop, opened_at=now, opened_via="job", reply_due_at=now)
        for r in requests
    )
    table = UrgeTicket._meta.db_table
    # when the flag job's kind of UPDATE is planned for a batch of them
    sql = (
        f"EXPLAIN UPDATE {table} SET state = 'breached' FROM {id_rows('chosen')} "
        f"WHERE {table}.id = chosen.id AND {table}.state = 'awaiting_reply'"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids(t.pk for t in tickets[:20])])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # then the ids are joined (by primary key, or hashed once), never compared with every row
    # one by one as an "id = ANY(...)" filter was (5,000 × 100,000 comparisons a batch)
    assert f"{table}_pkey" in plan or "Hash Join" in plan, plan
    assert "ANY" not in plan, plan


def test_seed_demo_leaves_statistics_behind_it():
    call_command("seed_demo", "--shops", "2", "--requests", "50", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'invoices_invoicerequest'"
        )
        (last_analyze,) = cursor.fetchone()
    assert last_analyze is not None
