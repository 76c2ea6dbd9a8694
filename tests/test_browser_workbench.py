"""The live complaint workbench in a real browser (Debian's Chromium, headless, spec 4.6): the
countdown ticks without a reload, the row changes colour as the deadline comes and goes, and a
ticket opened meanwhile appears by itself (htmx polls the list).

The test server shares the test's database, so a ticket the job opens here shows up there. With
`JDPOP_SCREENSHOTS=<folder>` the page is saved as `<folder>/workbench.png`:

    JDPOP_SCREENSHOTS=docs .venv/bin/pytest -p no:cacheprovider tests/test_browser_workbench.py
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tests.factories import InvoiceRequestFactory, ShopFactory, UserFactory, merchant_of
from tests.test_browser import browser, log_in  # noqa: F401 (the browser fixture)
from tickets.jobs import open_overdue_tickets
from tickets.models import UrgeTicket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def ticket_due(shop, due: datetime) -> UrgeTicket:
    """A ticket the job opened as its request became overdue, its reply deadline at `due`."""
    opened = due - settings.JDPOP_REPLY_WINDOW
    r = InvoiceRequestFactory(
        order__shop=shop,
        requested_at=opened - settings.JDPOP_OVERDUE_AFTER - timedelta(seconds=1),
    )
    open_overdue_tickets(now=opened)
    return UrgeTicket.objects.for_system().get(request=r)


def row(ticket: UrgeTicket) -> str:
    return f'tr[data-ticket="{ticket.pk}"]'


def test_the_countdown_ticks_and_new_tickets_appear_without_a_reload(
    browser,  # noqa: F811
    live_server,
    settings,
):
    settings.JDPOP_WORKBENCH_POLL_SECONDS = 1
    shop = ShopFactory(name="云帆数码专营店", new_flow_since=timezone.now() - timedelta(days=60))
    merchant_of(shop, user=UserFactory(username="bench-seller"))
    now = timezone.now()
    urgent = ticket_due(shop, now + timedelta(minutes=55))  # under an hour: seconds show
    calm = ticket_due(shop, now + timedelta(hours=20))

    page = log_in(browser, live_server, "bench-seller")
    page.set_viewport_size({"width": 1280, "height": 900})
    # its window closes while we look
    closing = ticket_due(shop, timezone.now() + timedelta(seconds=8))
    page.goto(f"{live_server.url}/merchant/tickets/")
    page.evaluate("window.notReloaded = true")

    # The soonest deadline first, each row coloured by the time it has left
    assert page.get_attribute("table.tickets tbody tr:first-child", "data-ticket") == str(
        closing.pk
    )
    assert "due-urgent" in page.get_attribute(row(urgent), "class")
    assert "due-" not in page.get_attribute(row(calm), "class")

    # The countdown ticks: "54 分钟 59 秒", then a second or two later something less
    countdown = f"{row(urgent)} time.countdown"
    before = page.inner_text(countdown)
    time.sleep(1.5)
    page.wait_for_function(
        "([sel, before]) => document.querySelector(sel).textContent !== before",
        arg=[countdown, before],
        timeout=5_000,
    )
    after = page.inner_text(countdown)
    assert after != before and after.split()[0] in ("54", "53")

    # The ticket whose window closes turns `overdue` without a reload
    page.wait_for_selector(f"{row(closing)}.overdue", timeout=15_000)

    # A ticket the job opens now appears by itself, its countdown ticking too
    new = ticket_due(shop, timezone.now() + timedelta(minutes=30))
    page.wait_for_selector(row(new), timeout=15_000)
    assert "due-urgent" in page.get_attribute(row(new), "class")
    first = page.inner_text(f"{row(new)} time.countdown")
    page.wait_for_function(
        "([sel, before]) => document.querySelector(sel).textContent !== before",
        arg=[f"{row(new)} time.countdown", first],
        timeout=5_000,
    )
    assert page.evaluate("window.notReloaded") is True  # updated in place, not reloaded
    assert page.url == f"{live_server.url}/merchant/tickets/"
    # The new ticket (due in 30 min) is listed before the 55-minute one; the closed one below
    order = page.eval_on_selector_all(
        "table.tickets tbody tr[data-ticket]", "rows => rows.map(r => r.dataset.ticket)"
    )
    assert order == [str(t.pk) for t in (new, urgent, calm, closing)]

    if folder := os.environ.get("JDPOP_SCREENSHOTS"):
        target = Path(folder)
        if not target.is_absolute():
            target = Path(settings.BASE_DIR) / target
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target / "workbench.png"), full_page=True)
