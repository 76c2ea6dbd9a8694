"""Spec 8: an arbitrator who finds a ticket's reply false (乱填) records a penalty against the
shop, once per ticket, from the ticket's admin page."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from core.errors import Conflict
from core.models import HistoryEntry
from penalties.models import Penalty
from penalties.services import penalty_record_false_reply
from tests.disputes.factories import make_ticket
from tests.factories import InvoiceRequestFactory, merchant_of
from tickets.models import TicketReply

pytestmark = pytest.mark.django_db


@pytest.fixture
def replied_ticket():
    request = InvoiceRequestFactory()
    ticket = make_ticket(request, resolution="no_invoice_needed", resolution_note="顾客同意")
    TicketReply.objects.create(
        ticket=ticket, at=ticket.opened_at, resolution="no_invoice_needed", note="顾客同意"
    )
    return ticket


def test_an_arbitrator_records_one_confirmed_penalty_with_history(replied_ticket, arbitrator):
    penalty = penalty_record_false_reply(ticket=replied_ticket, by=arbitrator, note="顾客从未同意")
    assert (penalty.kind, penalty.state, penalty.shop_id) == (
        "false_reply",
        "confirmed",
        replied_ticket.shop_id,
    )
    assert HistoryEntry.objects.for_system().filter(action="penalty_false_reply").count() == 1
    with pytest.raises(Conflict):
        penalty_record_false_reply(ticket=replied_ticket, by=arbitrator, note="again")
    assert Penalty.objects.for_system().filter(kind="false_reply").count() == 1


def test_only_an_arbitrator_may_record_it(replied_ticket):
    with pytest.raises(PermissionDenied):
        penalty_record_false_reply(
            ticket=replied_ticket, by=merchant_of(replied_ticket.shop), note="x"
        )
    assert not Penalty.objects.for_system().exists()


def test_the_admin_action_asks_what_was_false_then_records(client, replied_ticket, arbitrator):
    client.force_login(arbitrator)
    url = "/admin/tickets/urgeticket/"
    data = {"action": "record_false_reply", "_selected_action": [replied_ticket.pk]}
    page = client.post(url, data)
    assert page.status_code == 200 and not Penalty.objects.for_system().exists()
    done = client.post(url, {**data, "apply": "1", "note": "聊天记录显示顾客要求开票"})
    assert done.status_code == 302
    assert Penalty.objects.for_system().get().decision_note == "聊天记录显示顾客要求开票"
