"""What is evidence stays as it was written (spec 9): the history, the merchant's replies and
submitted dispute evidence refuse UPDATE, DELETE and TRUNCATE in PostgreSQL, and the models
refuse to change them on every database. Drafts of evidence may still go, or be submitted."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from core.models import HistoryEntry, HistoryIsAppendOnly
from disputes import services as disputes
from disputes.models import Evidence
from tests.disputes.factories import DisputeFactory
from tests.factories import InvoiceRequestFactory, merchant_of
from tickets.models import TicketReply, UrgeTicket

pytestmark = pytest.mark.django_db


@pytest.fixture
def reply() -> TicketReply:
    r = InvoiceRequestFactory()
    ticket = UrgeTicket.objects.create(
        request=r, shop=r.shop, opened_at=r.requested_at, opened_via="job",
        reply_due_at=r.requested_at,
    )  # fmt: skip
    return TicketReply.objects.create(
        ticket=ticket, at=r.requested_at, resolution="cannot_issue", note="赠品"
    )


@pytest.fixture
def evidence() -> tuple[Evidence, Evidence]:
    """A submitted piece of the merchant's evidence, and a draft of the consumer's."""
    dispute = DisputeFactory()
    owner = merchant_of(dispute.shop)
    submitted = disputes.dispute_evidence_add(dispute=dispute, by=owner, text="聊天记录")
    disputes.dispute_evidence_submit(dispute=dispute, by=owner)
    draft = disputes.dispute_evidence_add(dispute=dispute, by=dispute.consumer, text="草稿")
    submitted.refresh_from_db()
    return submitted, draft


def refused(sql: str, params: list | None = None) -> None:
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            # The test connection may TRUNCATE (the runner's flush); a real one may not. The
            # rows this test wrote must have their foreign keys checked before a TRUNCATE.
            cursor.execute("SET LOCAL jdpop.allow_truncate = 'off'")
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(sql, params)


def test_the_models_refuse_to_change_a_reply_or_submitted_evidence(reply, evidence):
    submitted, draft = evidence
    reply.note = "改过"
    for change in (
        reply.save,
        reply.delete,
        lambda: TicketReply.objects.for_system().update(note="改过"),
        lambda: TicketReply.objects.for_system().delete(),
        submitted.save,
        submitted.delete,
        lambda: Evidence.objects.for_system().delete(),
        lambda: HistoryEntry.objects.for_system().update(action="forged"),
    ):
        with pytest.raises(HistoryIsAppendOnly):
            change()
    assert TicketReply.objects.for_system().get().note == "赠品"
    assert Evidence.objects.for_system().count() == 2


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["core_historyentry", "tickets_ticketreply", "disputes_evidence"])
def test_postgresql_refuses_truncate(table, reply, evidence):
    refused(f"TRUNCATE {table} CASCADE")


@pytest.mark.postgres
def test_postgresql_refuses_to_edit_or_delete_a_reply(reply):
    refused("UPDATE tickets_ticketreply SET note = 'forged' WHERE id = %s", [reply.pk])
    refused("DELETE FROM tickets_ticketreply WHERE id = %s", [reply.pk])
    assert TicketReply.objects.for_system().get().note == "赠品"


@pytest.mark.postgres
def test_postgresql_guards_submitted_evidence_but_lets_drafts_go(evidence):
    submitted, draft = evidence
    refused("UPDATE disputes_evidence SET text = 'forged' WHERE id = %s", [submitted.pk])
    refused("UPDATE disputes_evidence SET submitted_at = NULL WHERE id = %s", [submitted.pk])
    refused("DELETE FROM disputes_evidence WHERE id = %s", [submitted.pk])
    # a draft cannot be rewritten either, only submitted or removed
    refused("UPDATE disputes_evidence SET text = 'forged' WHERE id = %s", [draft.pk])
    disputes.dispute_evidence_remove(evidence=draft, by=draft.author)
    assert list(Evidence.objects.for_system().values_list("text", flat=True)) == ["聊天记录"]
