"""Spec 9: the history is append-only, in the app, the admin and (on PostgreSQL) the database."""

import pytest
from django.db import DatabaseError, connection, transaction

from core.models import HistoryEntry, HistoryIsAppendOnly
from invoices import services
from tests.factories import InvoiceRequestFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry() -> HistoryEntry:
    r = InvoiceRequestFactory()
    return services.history_record(
        request_id=r.pk,
        subject="request",
        subject_id=r.pk,
        actor=None,
        action="requested",
        state_to="pending",
    )


def test_an_entry_cannot_be_edited_or_deleted_through_the_orm(entry):
    entry.action = "forged"
    with pytest.raises(HistoryIsAppendOnly):
        entry.save()
    with pytest.raises(HistoryIsAppendOnly):
        entry.delete()
    with pytest.raises(HistoryIsAppendOnly):
        HistoryEntry.objects.for_system().filter(pk=entry.pk).update(action="forged")
    with pytest.raises(HistoryIsAppendOnly):
        HistoryEntry.objects.for_system().filter(pk=entry.pk).delete()
    assert HistoryEntry.objects.for_system().get(pk=entry.pk).action == "requested"


def test_the_admin_offers_no_add_change_or_delete(admin_client, entry):
    assert admin_client.get(f"/admin/core/historyentry/{entry.pk}/delete/").status_code == 403
    assert (
        admin_client.post(
            f"/admin/core/historyentry/{entry.pk}/change/", {"action": "forged"}
        ).status_code
        == 403
    )
    assert admin_client.get("/admin/core/historyentry/add/").status_code == 403
    assert HistoryEntry.objects.for_system().get(pk=entry.pk).action == "requested"


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE core_historyentry SET action = 'forged' WHERE id = %s",
        "DELETE FROM core_historyentry WHERE id = %s",
    ],
)
def test_the_database_refuses_update_and_delete(entry, sql):
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    assert HistoryEntry.objects.for_system().get(pk=entry.pk).action == "requested"
