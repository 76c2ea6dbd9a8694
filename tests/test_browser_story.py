"""The whole story of issue 11 in a real browser (Debian's Chromium, headless): a consumer asks
for an invoice; ten days pass and the job opens an urge ticket; the merchant sees it on the
dashboard and the workbench, its countdown ticking, and replies 已协商开票时间; the consumer reads
the reply in words; the promise breaks; the consumer opens an urge dispute; an arbitrator
confirms the proposed verdict in the admin; both sides read the judgment.

The clock: the live server runs in a thread of this process, so `time_machine.travel(...,
tick=True)` moves its clock too (not the browser's). The story starts in the past, so that the
ticket the job opens is due about 50 minutes from the real "now" when the merchant looks (the
browser's countdown then shows seconds, and ticks), and later travels past the promised day.

Every step runs axe-core (`step()`); with `JDPOP_SCREENSHOTS=<folder>` each step is saved, and
the dashboard also as `<folder>/dashboard.png` (the README's picture; the workbench's comes from
tests/test_browser_workbench.py, which shows rows of every colour):

    JDPOP_SCREENSHOTS=docs .venv/bin/pytest -p no:cacheprovider tests/test_browser_story.py
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group
from django.utils import timezone, translation

from core.roles import ARBITRATOR_GROUP
from disputes.models import Dispute
from invoices.models import InvoiceRequest
from notifications.delivery import drain_outbox
from tests.factories import VALID_USCC, OrderFactory, ShopFactory, UserFactory, merchant_of
from tests.test_browser import browser, log_in, on_phone, step  # noqa: F401 (the fixture)
from tickets.jobs import flag_broken_promises, open_overdue_tickets
from tickets.models import UrgeTicket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SHOP = "云帆数码专营店"
TICKS = "([sel, before]) => document.querySelector(sel).textContent.trim() !== before"


def test_the_whole_story_from_request_to_judgment(browser, live_server):  # noqa: F811
    shop = ShopFactory(name=SHOP, tax_id=VALID_USCC)
    order = OrderFactory(  # completed before the story starts (below)
        shop=shop,
        consumer=UserFactory(username="story-buyer"),
        completed_at=timezone.now() - timedelta(days=30),
    )
    merchant_of(shop, user=UserFactory(username="story-seller"))
    arbitrator = UserFactory(username="story-arbiter", is_staff=True)
    arbitrator.groups.add(Group.objects.get(name=ARBITRATOR_GROUP))

    # The story starts in the past: the ticket opened when the request became overdue will be
    # due about 50 minutes after the real now, when the merchant looks at it.
    real_now = timezone.now()
    started = (
        real_now
        - settings.JDPOP_REPLY_WINDOW
        + timedelta(minutes=50)
        - settings.JDPOP_OVERDUE_AFTER
        - timedelta(minutes=2)
    )
    with time_machine.travel(started, tick=True) as clock:
        # 1. A consumer requests an invoice on the page for the completed order.
        page = log_in(browser, live_server, "story-buyer")
        page.click(f"text={order.number} >> xpath=.. >> a")
        page.select_option("select[name=title_type]", "organisation")
        page.fill("input[name=title]", "上海云帆信息科技有限公司")
        page.fill("input[name=tax_id]", VALID_USCC)
        page.select_option("select[name=invoice_kind]", "paper_ordinary")
        page.click("button.primary")
        page.wait_for_url("**/my/invoices/*/")
        assert page.inner_text(".state") == "待开票"
        step(page, "consumer-requested")
        r = InvoiceRequest.objects.for_system().get(order=order)
        assert r.state == "pending" and r.overdue_at is not None

        # 2. The clock moves past the ten days; the job opens the ticket.
        clock.move_to(r.overdue_at + timedelta(minutes=1))
        assert open_overdue_tickets(now=timezone.now())["opened"] == 1
        drain_outbox(now=timezone.now())
    ticket = UrgeTicket.objects.for_system().get(request=r)
    assert (ticket.state, ticket.opened_via) == ("awaiting_reply", "job")
    left = ticket.reply_due_at - timezone.now()
    assert timedelta(minutes=30) < left < timedelta(hours=1), left  # the browser shows seconds
    page.reload()
    step(page, "consumer-ticket-opened")

    # 3. The merchant logs in (real time now): the dashboard lists the ticket under "needs an
    # answer now", its countdown ticking without a reload.
    shop_page = log_in(browser, live_server, "story-seller")
    shop_page.set_viewport_size({"width": 1280, "height": 900})
    shop_page.goto(f"{live_server.url}/merchant/")
    shop_page.evaluate("window.notReloaded = true")
    row = 'table.needs-answer tr[data-kind="ticket"]'
    assert order.number in shop_page.inner_text(row)
    assert "due-urgent" in shop_page.get_attribute(row, "class")
    countdown = f"{row} time.countdown"
    before = shop_page.inner_text(countdown).strip()
    assert "秒" in before  # under an hour left: minutes and seconds
    time.sleep(1.5)
    shop_page.wait_for_function(TICKS, arg=[countdown, before], timeout=5_000)
    assert shop_page.evaluate("window.notReloaded") is True
    step(shop_page, "dashboard", readme=True)

    # ... and on the workbench, ticking too.
    shop_page.locator('main a[href="/merchant/tickets/"]').first.click()
    shop_page.wait_for_url("**/merchant/tickets/")
    shop_page.evaluate("window.notReloaded = true")
    bench_row = f'table.tickets tr[data-ticket="{ticket.pk}"]'
    assert order.number in shop_page.inner_text(bench_row)
    countdown = f"{bench_row} time.countdown"
    before = shop_page.inner_text(countdown).strip()
    time.sleep(1.5)
    shop_page.wait_for_function(TICKS, arg=[countdown, before], timeout=5_000)
    assert shop_page.evaluate("window.notReloaded") is True
    step(shop_page, "workbench")

    # 4. The merchant replies 已协商开票时间 with a promised day (tomorrow, China time).
    shop_page.goto(f"{live_server.url}/merchant/tickets/{ticket.pk}/")
    shop_page.check("input[name=resolution][value=date_agreed]")
    promised = timezone.localdate() + timedelta(days=1)
    shop_page.fill(".promised-date input", promised.isoformat())
    shop_page.fill("textarea[name=note]", "已与顾客协商，明天开具")
    shop_page.check("input[name=confirm]")
    shop_page.click("#reply button.primary")
    shop_page.wait_for_load_state()
    step(shop_page, "merchant-replied")
    ticket.refresh_from_db()
    assert (ticket.state, ticket.sla, ticket.resolution) == ("answered", "met", "date_agreed")
    assert (ticket.promised_date, ticket.promise_state) == (promised, "pending")

    # 5. The consumer reads the reply in words, on a phone: the shop's name and 已协商开票时间,
    # no internal code.
    drain_outbox(now=timezone.now())
    page.goto(f"{live_server.url}/my/invoices/{r.pk}/")
    with on_phone(page):
        step(page, "consumer-reads-the-reply")
    story = page.inner_text("ol.timeline")
    replied = [line for line in story.splitlines() if "已协商开票时间" in line]
    assert replied and SHOP in replied[0], story
    assert f"{promised.month} 月 {promised.day} 日" in story
    for code in ("date_agreed", "awaiting", "ticket_replied", "ticket_opened", "pending", "→"):
        assert code not in story, code
    assert "story-seller" not in page.inner_text("main")

    # 6. The promise breaks: the promised day ends in China with no invoice; the job flags it.
    with time_machine.travel(ticket.promise_due_at + timedelta(minutes=5), tick=True):
        assert flag_broken_promises(now=timezone.now())["flagged"] == 1
        drain_outbox(now=timezone.now())
        ticket.refresh_from_db()
        assert ticket.promise_state == "broken"
        page.reload()
        step(page, "consumer-promise-broken")

        # 7. The consumer opens an urge dispute on the invoice page.
        page.click("#open-urge summary")
        page.fill("#open-urge textarea[name=complaint]", "商家承诺的日期已过，仍未开票")
        page.click("#open-urge button.primary")
        page.wait_for_load_state()
        step(page, "consumer-opened-an-urge-dispute")
        d = Dispute.objects.for_system().get(request=r)
        assert (d.kind, d.state) == ("urge", "awaiting_platform")
        assert (d.proposed_verdict, d.proposed_reason_code) == ("liable", "broken_promise")

        # 8. An arbitrator confirms the proposed verdict in the admin's dispute queue.
        admin = log_in(browser, live_server, "story-arbiter")
        admin.goto(f"{live_server.url}/admin/disputes/dispute/")
        step(admin, "arbitrator-queue")
        admin.check(f'input[name=_selected_action][value="{d.pk}"]')
        admin.select_option("select[name=action]", "confirm_proposal")
        admin.click("button[name=index]")
        admin.wait_for_selector("ul.messagelist li.success")
        step(admin, "arbitrator-confirmed")
        d.refresh_from_db()
        assert (d.state, d.outcome, d.verdict, d.judged_by) == (
            "closed",
            "judged",
            "liable",
            arbitrator,
        )
        assert d.reason  # a written reason both sides read

        # 9. Both sides read the judgment: the verdict and the written reason.
        with translation.override("zh-hans"):
            verdict = str(d.get_verdict_display())
        page.goto(f"{live_server.url}/my/invoices/{r.pk}/")
        with on_phone(page):
            step(page, "consumer-reads-the-judgment")
        consumer_sees = page.inner_text("main")
        assert verdict in consumer_sees and d.reason in consumer_sees
        page.goto(f"{live_server.url}/my/disputes/{d.pk}/")
        step(page, "consumer-dispute")
        consumer_sees = page.inner_text("main")
        assert verdict in consumer_sees and d.reason in consumer_sees

        shop_page.goto(f"{live_server.url}/merchant/disputes/{d.pk}/")
        step(shop_page, "merchant-reads-the-judgment")
        merchant_sees = shop_page.inner_text("main")
        assert verdict in merchant_sees and d.reason in merchant_sees
