"""The bulk upload in a real browser (Debian's Chromium, headless): a merchant uploads a zip of
invoices, watches the progress bar move in place (htmx polling, no reload), and reads the report
per file when the run is over.

The task's body runs in this process, as the worker would run it (the worker itself is tested
in `tests/invoices/test_bulk_worker.py`). With `JDPOP_SCREENSHOTS=<folder>` the finished report
is saved as `<folder>/bulk-report.png` (the README's `docs/bulk-report.png`):

    JDPOP_SCREENSHOTS=docs .venv/bin/pytest -p no:cacheprovider tests/test_browser_bulk.py
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from invoices.bulk import bulk_upload_process
from invoices.models import BulkUpload, InvoiceRequest
from jdpop.celery import app
from tests.factories import InvoiceRequestFactory, ShopFactory, UserFactory, merchant_of
from tests.invoices import fakes
from tests.test_browser import browser, log_in, step  # noqa: F401 (the browser fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def own_queue(settings) -> Iterator[str]:
    """The tasks the upload sends go to a queue of this test's, emptied afterwards (this test
    plays the worker itself)."""
    queue = f"jdpop-browser-{uuid.uuid4().hex[:12]}"
    settings.JDPOP_BULK_UPLOAD_QUEUE = queue
    yield queue
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(queue)


def the_zip(shop) -> bytes:
    """Eight invoices for a shop's day: most issue, one has the wrong buyer tax id, one is
    for an order the shop does not have, one is a scan, one is damaged, one came twice."""
    titles = ["上海云帆信息科技有限公司", "杭州青禾贸易有限公司", "北京示例科技有限公司"]
    titles += ["深圳南山电子商行", "成都锦城文化传播有限公司"]
    requests = [
        InvoiceRequestFactory(
            order__shop=shop, title=title, order__amount=Decimal("199.00") + 100 * i
        )
        for i, title in enumerate(titles)
    ]
    wrong = InvoiceRequestFactory(order__shop=shop, title="广州天河餐饮管理有限公司")
    scanned = InvoiceRequestFactory(order__shop=shop, title="南京紫金物流有限公司")
    files = {
        f"2026-11/{r.order.number}.pdf": fakes.invoice_pdf(fakes.fields_for(r))
        for r in requests[:3]
    }
    files["2026-11/青禾-补.ofd"] = fakes.invoice_ofd(fakes.fields_for(requests[1]))
    files["2026-11/锦城.xml"] = fakes.invoice_xml(fakes.fields_for(requests[4]))
    files["2026-11/南山.pdf"] = fakes.invoice_pdf(fakes.fields_for(requests[3], remarks=""))
    files["2026-11/天河.pdf"] = fakes.invoice_pdf(
        fakes.fields_for(wrong, buyer_tax_id="91440101MA5CXXXX0X")
    )
    files["2026-11/其他店铺.pdf"] = fakes.invoice_pdf(
        fakes.Fields(buyer_name="无关公司", remarks="订单号：900000000001")
    )
    files[f"扫描件/{scanned.order.number}.pdf"] = fakes.scanned_pdf(fakes.fields_for(scanned))
    files["扫描件/损坏.pdf"] = fakes.corrupt_pdf()
    return fakes.zip_of(files)


def test_upload_a_zip_watch_the_progress_and_read_the_report(
    browser,  # noqa: F811
    live_server,
    tmp_path,
    own_queue,
):
    shop = ShopFactory(name="云帆数码专营店", tax_id=fakes.DEFAULT_SELLER_TAX_ID)
    merchant_of(shop, user=UserFactory(username="bulk-seller"))
    archive = tmp_path / "2026-11-发票.zip"
    archive.write_bytes(the_zip(shop))

    # Given a merchant on the invoice requests page, the link leads to the bulk upload.
    page = log_in(browser, live_server, "bulk-seller")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/merchant/requests/")
    step(page, "merchant-requests")
    page.click("a[href='/merchant/bulk/']")
    page.wait_for_url("**/merchant/bulk/")
    step(page, "bulk-form")

    # When they upload the zip, the detail page shows it queued, polling for progress.
    page.set_input_files("#bulk-upload input[name=files]", str(archive))
    page.click("#bulk-upload button.primary")
    page.wait_for_url("**/merchant/bulk/*/")
    bulk = BulkUpload.objects.for_system().get()
    assert bulk.total == 10
    assert page.get_attribute("#bulk-progress", "data-state") == "queued"
    step(page, "bulk-queued")
    page.evaluate("window.notReloaded = true")

    # The worker reads one file, then runs out of its (tiny) budget: the bar moves in place.
    assert bulk_upload_process(bulk_upload_id=bulk.pk, budget_seconds=1e-9) == "again"
    page.wait_for_selector("#bulk-progress progress[value='10']", timeout=10_000)
    assert re.search(r"\b1\D+10\b", page.inner_text("#bulk-progress .done"))  # 1 of 10
    step(page, "bulk-progress")

    # The next run finishes it; the page shows the counts and the report, and stops polling.
    assert bulk_upload_process(bulk_upload_id=bulk.pk) == "done"
    page.wait_for_selector("#bulk-progress[data-state=done]", timeout=10_000)
    assert page.evaluate("window.notReloaded") is True  # updated in place, not reloaded
    assert page.get_attribute("#bulk-progress", "hx-get") is None
    step(page, "bulk-done")
    counts = {
        key: page.inner_text(f"table.counts td[data-outcome={key}]")
        for key in ("issued", "mismatch", "no_match", "already_issued", "unreadable", "bad_file")
    }
    assert counts == {
        "issued": "5",
        "mismatch": "1",
        "no_match": "1",
        "already_issued": "1",
        "unreadable": "1",
        "bad_file": "1",
    }
    report = page.inner_text("table.report")
    assert "91440101MA5CXXXX0X" in report  # the mismatch names the wrong tax id
    assert report.count("\n") >= 10
    issued = InvoiceRequest.objects.for_system().filter(shop=shop, state="issued")
    assert issued.count() == 5

    if folder := os.environ.get("JDPOP_SCREENSHOTS"):
        target = Path(folder)
        if not target.is_absolute():
            target = Path(settings.BASE_DIR) / target
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target / "bulk-report.png"), full_page=True)
