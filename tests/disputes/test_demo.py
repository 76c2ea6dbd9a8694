"""The demo data gives every screen something to show: tickets in each state, penalties and
disputes in the arbitrators' queue, all made by the real jobs and services."""

from __future__ import annotations

import pytest
import time_machine
from django.core.management import call_command

from disputes.models import Dispute
from penalties.models import Penalty
from tickets.models import UrgeTicket

pytestmark = pytest.mark.django_db


# Any time of day in China: late in the evening too, when the tickets it opened two days
# before would be answered (two hours after opening) on the next China day.
@pytest.mark.parametrize("clock", [None, "2026-11-30T23:30:00+08:00", "2026-12-01T00:30:00+08:00"])
def test_seed_demo_leaves_tickets_penalties_and_disputes(clock):
    if clock is None:
        call_command("seed_demo", "--shops", "2", "--requests", "200", verbosity=0)
    else:
        with time_machine.travel(clock, tick=False):
            call_command("seed_demo", "--shops", "2", "--requests", "200", verbosity=0)
    states = set(UrgeTicket.objects.for_system().values_list("state", flat=True))
    assert {"answered", "breached"} <= states
    assert UrgeTicket.objects.for_system().filter(promise_state="broken").exists()
    assert {"no_reply", "broken_promise"} <= set(
        Penalty.objects.for_system().values_list("kind", flat=True)
    )
    kinds = set(Dispute.objects.for_system().values_list("kind", flat=True))
    assert kinds == {"refused", "urge"}
    assert Dispute.objects.for_system().filter(state="awaiting_platform").exists()
