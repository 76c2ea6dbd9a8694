"""The pages in a real browser (Debian's Chromium, headless): a consumer asks for an invoice,
the merchant uploads it, the consumer downloads it.

Every step runs axe-core on the page (`step()`, see `tests/axe.py`): no serious or critical
accessibility violation. With `JDPOP_SCREENSHOTS=<folder>` each step also saves a screenshot,
`<folder>/steps/<test>-<nn>-<step>.png`, and the README's pictures go to `<folder>/<name>.png`
(the README's `docs/consumer-invoice.png`: the consumer's invoice page on a phone):

    JDPOP_SCREENSHOTS=docs .venv/bin/pytest -p no:cacheprovider tests/test_browser.py
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from invoices.models import InvoiceRequest
from notifications.delivery import drain_outbox
from tests import axe
from tests.factories import PDF_BYTES, VALID_USCC, OrderFactory, UserFactory, merchant_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
_step_numbers: dict[str, itertools.count] = collections.defaultdict(lambda: itertools.count(1))


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


def screenshots() -> Path | None:
    """The folder `JDPOP_SCREENSHOTS` names (relative to the project), or None."""
    if not (folder := os.environ.get("JDPOP_SCREENSHOTS")):
        return None
    target = Path(folder)
    return target if target.is_absolute() else Path(settings.BASE_DIR) / target


def step(page, name: str, *, readme: bool = False) -> None:
    """One step of a story, once the page has loaded: axe-core finds no serious or critical
    violation on it; with JDPOP_SCREENSHOTS set, the page is saved as that step's screenshot
    (and as `<folder>/<name>.png` for a picture the README shows)."""
    page.wait_for_load_state()
    axe.check(page, f"step {name!r} ({page.url})")
    if (folder := screenshots()) is None:
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "story").split("::")[-1].split(" ")[0]
    (folder / "steps").mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(folder / "steps" / f"{test}-{next(_step_numbers[test]):02d}-{name}.png"),
        full_page=True,
    )
    if readme:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@contextlib.contextmanager
def on_phone(page) -> Iterator:
    """The page at a phone's size (390 × 844) for a while, then back at its own."""
    before = page.viewport_size
    page.set_viewport_size(PHONE)
    try:
        yield page
    finally:
        page.set_viewport_size(before)


def log_in(browser, live_server, username: str):
    page = browser.new_page(locale="zh-CN")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


def test_request_issue_download(browser, live_server, tmp_path):
    consumer = UserFactory(username="buyer")
    order = OrderFactory(consumer=consumer)
    merchant_of(order.shop, user=UserFactory(username="seller"))

    # Given a consumer with a completed order, when they ask with a wrong tax id,
    # then the page says what is wrong (in Chinese) and nothing is created.
    page = log_in(browser, live_server, "buyer")
    step(page, "consumer-orders")
    page.click(f"text={order.number} >> xpath=.. >> a")
    step(page, "consumer-request-form")
    page.select_option("select[name=title_type]", "organisation")
    page.fill("input[name=title]", "上海云帆信息科技有限公司")
    page.fill("input[name=tax_id]", VALID_USCC[:-1] + "1")
    page.select_option("select[name=invoice_kind]", "paper_ordinary")
    page.click("button.primary")
    assert "校验" in page.inner_text(".errorlist")
    step(page, "consumer-request-error")
    assert not InvoiceRequest.objects.for_system().exists()

    # When the tax id is right, the detail page shows the pending request and its timeline.
    page.fill("input[name=tax_id]", VALID_USCC)
    page.click("button.primary")
    page.wait_for_url("**/my/invoices/*/")
    assert page.inner_text(".state") == "待开票"
    step(page, "consumer-invoice-pending")
    r = InvoiceRequest.objects.for_system().get()

    # The merchant uploads the invoice from the dashboard.
    shop_page = log_in(browser, live_server, "seller")
    step(shop_page, "merchant-home")
    shop_page.goto(f"{live_server.url}/merchant/requests/")
    step(shop_page, "merchant-requests")
    shop_page.click(f"text={order.number}")
    step(shop_page, "merchant-request")
    pdf = tmp_path / "fapiao.pdf"
    pdf.write_bytes(PDF_BYTES)
    shop_page.fill("input[name=invoice_number]", "12345678901234567890")
    shop_page.set_input_files("input[name=file]", str(pdf))
    shop_page.click("#issue button.primary")
    shop_page.wait_for_selector(".msg.success")
    step(shop_page, "merchant-issued")
    assert InvoiceRequest.objects.for_system().get(pk=r.pk).state == "issued"

    # The consumer downloads exactly the uploaded file.
    page.reload()
    step(page, "consumer-invoice-issued")
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
    step(page, "consumer-invoice-overdue")
    page.click("form.urge button")
    page.wait_for_selector(".msg")
    step(page, "consumer-urged")
    ticket = UrgeTicket.objects.for_system().get(request=r)
    assert ticket.opened_via == "consumer" and ticket.urge_count == 1

    # The outbox drain (the worker's job) tells the shop: the top bar of every page counts the
    # unread, and the inbox links to the ticket.
    drain_outbox(now=timezone.now())
    shop_page = log_in(browser, live_server, "replier")
    shop_page.goto(f"{live_server.url}/merchant/tickets/")
    step(shop_page, "merchant-workbench")
    assert r.order.number in shop_page.inner_text("main")
    assert shop_page.inner_text("header .inbox-link .badge") == "1"
    shop_page.click("header .inbox-link")
    step(shop_page, "merchant-inbox")
    item = shop_page.locator("ul.inbox li.unread")
    assert r.order.number in item.inner_text() and "催开票工单" in item.inner_text()
    item.locator("button.subject").click()
    shop_page.wait_for_url(f"**/merchant/tickets/{ticket.pk}/")
    step(shop_page, "merchant-ticket")
    assert shop_page.locator("header .inbox-link .badge").count() == 0  # read now

    # The merchant replies with an agreed date; the date field appears only for that
    # resolution.
    assert shop_page.is_hidden(".promised-date")
    shop_page.check("input[name=resolution][value=date_agreed]")
    assert shop_page.is_visible(".promised-date")
    step(shop_page, "merchant-reply-form")
    promised = (timezone.localdate() + timedelta(days=3)).isoformat()
    shop_page.fill(".promised-date input", promised)
    shop_page.fill("textarea[name=note]", "已与顾客协商，三天内开具")
    shop_page.check("input[name=confirm]")
    shop_page.click("#reply button.primary")
    shop_page.wait_for_load_state()
    step(shop_page, "merchant-replied")
    ticket.refresh_from_db()
    assert (ticket.state, ticket.sla, ticket.resolution) == ("answered", "met", "date_agreed")
    assert ticket.promised_date.isoformat() == promised

    # The consumer is told: the shop's answer, with its note and date, in their inbox.
    drain_outbox(now=timezone.now())
    page.goto(f"{live_server.url}/my/invoices/{r.pk}/")
    with on_phone(page):  # consumers open the invoice page on their phones
        step(page, "consumer-invoice", readme=True)
    assert page.inner_text("header .inbox-link .badge") == "2"  # urged, then answered
    page.click("header .inbox-link")
    step(page, "consumer-inbox")
    newest = page.locator("ul.inbox li.unread").first
    assert "已与顾客协商，三天内开具" in newest.inner_text() and promised in newest.inner_text()
    page.click("text=全部标为已读")
    step(page, "consumer-inbox-read")
    assert page.locator("header .inbox-link .badge").count() == 0
