"""The pages in a real browser (Debian's Chromium, headless): a consumer asks for an invoice,
the merchant uploads it, the consumer downloads it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from invoices.models import InvoiceRequest
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
    assert not InvoiceRequest.objects.exists()

    # When the tax id is right, the detail page shows the pending request and its timeline.
    page.fill("input[name=tax_id]", VALID_USCC)
    page.click("button.primary")
    page.wait_for_url("**/my/invoices/*/")
    assert page.inner_text(".state") == "待开票"
    r = InvoiceRequest.objects.get()

    # The merchant uploads the invoice from the dashboard.
    shop_page = log_in(browser, live_server, "seller")
    shop_page.click(f"text={order.number}")
    pdf = tmp_path / "fapiao.pdf"
    pdf.write_bytes(PDF_BYTES)
    shop_page.fill("input[name=invoice_number]", "12345678901234567890")
    shop_page.set_input_files("input[name=file]", str(pdf))
    shop_page.click("#issue button.primary")
    shop_page.wait_for_selector(".msg.success")
    assert InvoiceRequest.objects.get(pk=r.pk).state == "issued"

    # The consumer downloads exactly the uploaded file.
    page.reload()
    with page.expect_download() as info:
        page.click(f"a[href='/invoices/{r.pk}/file']")
    assert open(info.value.path(), "rb").read() == PDF_BYTES
