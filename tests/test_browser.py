"""The pages in a real browser (Debian's Chromium, headless): a consumer asks for an invoice,
the merchant uploads it, the consumer downloads it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from invoices.models import InvoiceRequest
from notifications.delivery import drain_outbox
from tests.factories import PDF_BYTES, VALID_USCC, OrderFactory, UserFactory, merchant_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "Debian's chromium is required: apt-get install chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


def log_in(browser, live_server, username: str):
    page = browser.new_page(locale="zh-CN")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    return page


def test_request_issue_download(browser, live_server, tmp_path):
    consumer = UserFactory(username="buyer")
    order = OrderFactory(consumer=consumer)
    merchant_of(order.shop, user=UserFactory(username="seller"))

    # Given a consumer with a completed order, when they ask with a wrong tax id,
    # then the page says what is wrong (in Chinese) and nothing is created.
    page = log_in(browser, live_server, "buyer")
    page.click(f"text={order.number} >> xpath=.. >> a")
    page.select_option("select[name=title_type]", "organisation")
    page.fill("input[name=title]", "上海云帆信息科技有限公司")
    page.fill("input[name=tax_id]", VALID_USCC[:-1] + "1")
    page.select_option("select[name=invoice_kind]", "paper_ordinary")
    page.click("button.primary")
    assert "校验" in page.inner_text(".errorlist")
    assert not InvoiceRequest.objects.for_system().exists()

    # When the tax id is right, the detail page shows the pending request and its timeline.
    page.fill("input[name=tax_id]", VALID_USCC)
    page.click("button.primary")
    page.wait_for_url("**/my/invoices/*/")
    assert page.inner_text(".state") == "待开票"
    r = InvoiceRequest.objects.for_system().get()

    # The merchant uploads the invoice from the dashboard.
    shop_page = log_in(browser, live_server, "seller")
    shop_page.click(f"text={order.number}")
    pdf = tmp_path / "fapiao.pdf"
    pdf.write_bytes(PDF_BYTES)
    shop_page.fill("input[name=invoice_number]", "12345678901234567890")
    shop_page.set_input_files("input[name=file]", str(pdf))
    shop_page.click("#issue button.primary")
    shop_page.wait_for_selector(".msg.success")
    assert InvoiceRequest.objects.for_system().get(pk=r.pk).state == "issued"

    # The consumer downloads exactly the uploaded file.
    page.reload()
    with page.expect_download() as info:
        page.click(f"a[href='/invoices/{r.pk}/file']")
    assert open(info.value.path(), "rb").read() == PDF_BYTES


def test_urge_and_reply_with_an_agreed_date(browser, live_server):
    from datetime import timedelta

    from django.utils import timezone

    from tests.factories import InvoiceRequestFactory
    from tickets.models import UrgeTicket

    consumer = UserFactory(username="urger")
    r = InvoiceRequestFactory(
        order__consumer=consumer, requested_at=timezone.now() - timedelta(days=11)
    )
    merchant_of(r.shop, user=UserFactory(username="replier"))

    # Given an overdue request, the consumer presses 催开票 on the invoice detail page:
    # the ticket opens at once.
    page = log_in(browser, live_server, "urger")
    page.goto(f"{live_server.url}/my/invoices/{r.pk}/")
    page.click("form.urge button")
    page.wait_for_selector(".msg")
    ticket = UrgeTicket.objects.for_system().get(request=r)
    assert ticket.opened_via == "consumer" and ticket.urge_count == 1

    # The outbox drain (the worker's job) tells the shop: the top bar of every page counts the
    # unread, and the inbox links to the ticket.
    drain_outbox(now=timezone.now())
    shop_page = log_in(browser, live_server, "replier")
    shop_page.goto(f"{live_server.url}/merchant/tickets/")
    assert r.order.number in shop_page.inner_text("main")
    assert shop_page.inner_text("header .inbox-link .badge") == "1"
    shop_page.click("header .inbox-link")
    item = shop_page.locator("ul.inbox li.unread")
    assert r.order.number in item.inner_text() and "催开票工单" in item.inner_text()
    item.locator("button.subject").click()
    shop_page.wait_for_url(f"**/merchant/tickets/{ticket.pk}/")
    assert shop_page.locator("header .inbox-link .badge").count() == 0  # read now

    # The merchant replies with an agreed date; the date field appears only for that
    # resolution.
    assert shop_page.is_hidden(".promised-date")
    shop_page.check("input[name=resolution][value=date_agreed]")
    assert shop_page.is_visible(".promised-date")
    promised = (timezone.localdate() + timedelta(days=3)).isoformat()
    shop_page.fill(".promised-date input", promised)
    shop_page.fill("textarea[name=note]", "已与顾客协商，三天内开具")
    shop_page.check("input[name=confirm]")
    shop_page.click("#reply button.primary")
    shop_page.wait_for_load_state()
    ticket.refresh_from_db()
    assert (ticket.state, ticket.sla, ticket.resolution) == ("answered", "met", "date_agreed")
    assert ticket.promised_date.isoformat() == promised

    # The consumer is told: the shop's answer, with its note and date, in their inbox.
    drain_outbox(now=timezone.now())
    page.goto(f"{live_server.url}/my/invoices/{r.pk}/")
    assert page.inner_text("header .inbox-link .badge") == "2"  # urged, then answered
    page.click("header .inbox-link")
    newest = page.locator("ul.inbox li.unread").first
    assert "已与顾客协商，三天内开具" in newest.inner_text() and promised in newest.inner_text()
    page.click("text=全部标为已读")
    page.wait_for_load_state()
    assert page.locator("header .inbox-link .badge").count() == 0
