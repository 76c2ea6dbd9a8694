"""Spec 11, bulk upload: a zip of invoices (or many files at once) is checked before anything is
kept, then each file is read back, matched to a pending request of the same shop (the order
number in its remarks, its file name, or its buyer and total) and issued through the same
service as a single upload, with a report line per file. Running it twice issues nothing twice.

The task's body runs in-process here (`bulk_upload_process`); `test_bulk_worker.py` runs it in
a real worker.
"""

from __future__ import annotations

import struct
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from core.models import HistoryEntry, ShopMembership
from invoices.bulk import (
    Outcome,
    PendingIndex,
    bulk_upload_create,
    bulk_upload_process,
    report_rows,
)
from invoices.models import BulkUpload, InvoiceRequest
from invoices.reading import InvoiceReading
from tests.factories import InvoiceRequestFactory, ShopFactory, merchant_of
from tests.invoices import fakes

pytestmark = pytest.mark.django_db

SELLER_TAX_ID = fakes.DEFAULT_SELLER_TAX_ID


@pytest.fixture
def shop():
    return ShopFactory(tax_id=SELLER_TAX_ID)


@pytest.fixture
def owner(shop):
    return merchant_of(shop)


def pending(shop, **kwargs) -> InvoiceRequest:
    return InvoiceRequestFactory(order__shop=shop, **kwargs)


def as_upload(content: bytes, name: str = "invoices.zip") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/zip")


def run(shop, by, files: dict[str, bytes] | bytes, **kwargs) -> BulkUpload:
    """Upload `files` (or a zip of them) and process it as the task would."""
    content = files if isinstance(files, bytes) else fakes.zip_of(files)
    bulk = bulk_upload_create(shop=shop, by=by, files=[as_upload(content)])
    assert bulk_upload_process(bulk_upload_id=bulk.pk, **kwargs) == "done"
    bulk.refresh_from_db()
    return bulk


def outcomes(bulk: BulkUpload) -> dict[str, str]:
    return {line["name"]: line["outcome"] for line in bulk.report}


def state(r: InvoiceRequest) -> str:
    r.refresh_from_db()
    return r.state


def stored_archives(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "bulk"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- matching a file to a pending request (the index, no file needed) ---------------------


def reading(**fields) -> InvoiceReading:
    base = {"number": "2611" + "0" * 16, "buyer_name": "", "total": None, "remarks": ""}
    return InvoiceReading(**{**base, **fields})


def test_the_order_number_in_the_remarks_finds_the_request(shop):
    r = pending(shop)
    found = PendingIndex.load(shop.pk).find(reading(remarks=f"订单号：{r.order.number}"), "x")
    assert (found.pk, found.how) == (r.pk, "remarks")


def test_the_file_name_is_the_order_number(shop):
    r = pending(shop)
    index = PendingIndex.load(shop.pk)
    assert (index.find(None, r.order.number).pk, index.find(None, r.order.number).how) == (
        r.pk,
        "file_name",
    )
    assert index.find(None, f"订单{r.order.number}_发票").pk == r.pk  # its digits


def test_the_remarks_win_over_the_file_name(shop):
    a, b = pending(shop), pending(shop)
    found = PendingIndex.load(shop.pk).find(reading(remarks=a.order.number), b.order.number)
    assert found.pk == a.pk


def test_the_buyer_and_total_find_the_one_request_that_has_them(shop):
    r = pending(shop, title="上海云帆信息科技有限公司", order__amount=Decimal("88.00"))
    pending(shop, title="上海云帆信息科技有限公司", order__amount=Decimal("99.00"))
    index = PendingIndex.load(shop.pk)
    # spaces and full-width brackets aside, as the check compares names
    found = index.find(reading(buyer_name="上海云帆 信息科技有限公司", total=Decimal("88.00")), "x")
    assert (found.pk, found.how) == (r.pk, "contents")
    assert (
        index.find(reading(buyer_name="上海云帆信息科技有限公司", total=Decimal("87.99")), "x").pk
        is None
    )


def test_two_requests_with_the_same_buyer_and_total_are_ambiguous_unless_the_tax_id_tells(shop):
    a = pending(shop, title="张三", title_type="person", tax_id="")
    pending(shop, title="张三", title_type="person", tax_id="")
    index = PendingIndex.load(shop.pk)
    found = index.find(reading(buyer_name="张三", total=a.order.amount), "x")
    assert (found.pk, found.ambiguous) == (None, 2)

    c = pending(shop, title="北京一号公司", tax_id=fakes.VALID_USCC)
    pending(shop, title="北京一号公司", tax_id="91110000MA00000000")
    index = PendingIndex.load(shop.pk)
    found = index.find(
        reading(buyer_name="北京一号公司", buyer_tax_id=fakes.VALID_USCC, total=c.order.amount), ""
    )
    assert found.pk == c.pk


def test_another_shops_request_is_never_matched(shop):
    other = pending(ShopFactory())
    index = PendingIndex.load(shop.pk)
    assert index.find(reading(remarks=other.order.number), other.order.number).pk is None
    assert index.find(reading(buyer_name=other.title, total=other.order.amount), "").pk is None


def test_only_pending_requests_are_candidates(shop):
    issued = pending(shop, issued=True)
    assert PendingIndex.load(shop.pk).find(None, issued.order.number).pk is None


# --- the outcomes, end to end in-process ------------------------------------------------------


def test_each_file_is_read_matched_and_issued_through_the_single_upload_service(shop, owner):
    by_remarks, by_name, by_contents, by_ofd, by_xml = (pending(shop) for _ in range(5))
    for r, amount in zip((by_contents,), ("321.50",), strict=True):
        r.order.amount = Decimal(amount)
        r.order.save()
    bulk = run(
        shop,
        owner,
        {
            "a/anything.pdf": fakes.invoice_pdf(fakes.fields_for(by_remarks)),
            f"b/c/{by_name.order.number}.pdf": fakes.invoice_pdf(
                fakes.fields_for(by_name, remarks="")
            ),
            "contents.pdf": fakes.invoice_pdf(fakes.fields_for(by_contents, remarks="")),
            "x.ofd": fakes.invoice_ofd(fakes.fields_for(by_ofd)),
            "x.xml": fakes.invoice_xml(fakes.fields_for(by_xml)),
        },
    )
    assert bulk.state == "done" and bulk.done == bulk.total == 5
    assert set(outcomes(bulk).values()) == {Outcome.ISSUED}
    assert bulk.counts["issued"] == 5
    how = {line["name"]: line["how"] for line in bulk.report}
    assert how["a/anything.pdf"] == "remarks"
    assert how[f"b/c/{by_name.order.number}.pdf"] == "file_name"
    assert how["contents.pdf"] == "contents"
    for r in (by_remarks, by_name, by_contents, by_ofd, by_xml):
        r.refresh_from_db()
        assert (r.state, r.invoice_check) == ("issued", "verified")
        assert r.invoice_read["number"] == r.invoice_number
        issued = HistoryEntry.objects.of_request(r).get(action="issued")
        assert issued.actor == owner  # the uploader issued it, as with a single upload


def test_a_mismatch_is_reported_with_each_difference_and_the_request_stays_pending(shop, owner):
    r = pending(shop)
    wrong = fakes.fields_for(r, buyer_tax_id="91110000MA00000000", total=Decimal("1.00"))
    bulk = run(shop, owner, {"wrong.pdf": fakes.invoice_pdf(wrong)})
    assert outcomes(bulk) == {"wrong.pdf": Outcome.MISMATCH}
    assert state(r) == "pending"
    (row,) = report_rows(bulk)
    assert row.request == r.pk
    assert any("91110000MA00000000" in m for m in row.messages)
    assert any("1.00" in m and "199.00" in m for m in row.messages)


def test_a_file_that_matches_nothing_is_reported_so(shop, owner):
    pending(shop)
    other = fakes.Fields(buyer_name="无关公司", remarks="订单号：999999999999")
    bulk = run(shop, owner, {"stranger.pdf": fakes.invoice_pdf(other)})
    assert outcomes(bulk) == {"stranger.pdf": Outcome.NO_MATCH}
    assert bulk.report[0]["note"] == "no_request"


def test_a_scan_named_by_its_order_is_unreadable_and_not_issued(shop, owner):
    r = pending(shop)
    bulk = run(shop, owner, {f"{r.order.number}.pdf": fakes.scanned_pdf(fakes.fields_for(r))})
    line = bulk.report[0]
    assert (line["outcome"], line["request"], line["note"]) == (
        Outcome.UNREADABLE,
        r.pk,
        "no_number",
    )
    assert state(r) == "pending"  # without a number it cannot be issued


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (fakes.corrupt_pdf(), "file_content"),
        (b"hello, not an invoice", "file_type"),
        (b"", "file_empty"),
    ],
)
def test_a_bad_file_is_reported_and_the_others_go_on(shop, owner, content, why):
    r = pending(shop)
    bulk = run(
        shop, owner, {"bad.pdf": content, "good.pdf": fakes.invoice_pdf(fakes.fields_for(r))}
    )
    assert outcomes(bulk) == {"bad.pdf": Outcome.BAD_FILE, "good.pdf": Outcome.ISSUED}
    assert set(bulk.report[0]["messages"]) == {"zh-hans", "en"}


def test_a_member_whose_header_lies_about_its_size_is_caught_while_reading(shop, owner):
    """The headers say 100 bytes; the data unpacks to 5 MB. Reading stops at 100 and the
    member is refused as damaged (its checksum fails), whatever it would unpack to."""
    content = fakes.zip_of({"liar.pdf": b"%PDF-1.7\n" + bytes(5_000_000)})
    data = bytearray(content)
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = struct.pack("<I", 100)  # uncompressed size
    local = data.find(b"PK\x03\x04")
    data[local + 22 : local + 26] = struct.pack("<I", 100)
    bulk = bulk_upload_create(shop=shop, by=owner, files=[as_upload(bytes(data))])
    assert bulk_upload_process(bulk_upload_id=bulk.pk) == "done"
    bulk.refresh_from_db()
    assert (bulk.report[0]["outcome"], bulk.report[0]["note"]) == (Outcome.BAD_FILE, "damaged")


def test_an_already_issued_request_is_reported_and_not_touched(shop, owner):
    r = pending(shop, issued=True)
    before = r.invoice_number
    bulk = run(shop, owner, {"again.pdf": fakes.invoice_pdf(fakes.fields_for(r))})
    assert outcomes(bulk) == {"again.pdf": Outcome.ALREADY_ISSUED}
    r.refresh_from_db()
    assert r.invoice_number == before


def test_two_files_for_one_request_issue_it_once(shop, owner):
    r = pending(shop)
    f = fakes.fields_for(r)
    bulk = run(shop, owner, {"1.pdf": fakes.invoice_pdf(f), "2.pdf": fakes.invoice_pdf(f)})
    assert outcomes(bulk) == {"1.pdf": Outcome.ISSUED, "2.pdf": Outcome.ALREADY_ISSUED}


def test_the_report_reads_in_the_pages_language(shop, owner):
    r = pending(shop)
    bulk = run(shop, owner, {f"{r.order.number}.pdf": fakes.scanned_pdf(fakes.fields_for(r))})
    from django.utils import translation

    with translation.override("en"):
        (row,) = report_rows(bulk)
    assert row.label == "unreadable" and "number" in row.messages[0]


# --- the same zip twice, a task run twice -----------------------------------------------------


def test_the_same_zip_twice_issues_nothing_twice(shop, owner):
    requests = [pending(shop) for _ in range(3)]
    files = {f"{i}.pdf": fakes.invoice_pdf(fakes.fields_for(r)) for i, r in enumerate(requests)}
    content = fakes.zip_of(files)
    first = run(shop, owner, content)
    assert first.counts["issued"] == 3
    issued = HistoryEntry.objects.for_system().filter(action="issued").count()

    second = run(shop, owner, content)
    assert second.digest == first.digest
    assert second.counts["issued"] == 0 and second.counts["already_issued"] == 3
    assert HistoryEntry.objects.for_system().filter(action="issued").count() == issued


def test_a_task_delivered_twice_runs_once(shop, owner):
    r = pending(shop)
    bulk = bulk_upload_create(
        shop=shop,
        by=owner,
        files=[as_upload(fakes.zip_of({"a.pdf": fakes.invoice_pdf(fakes.fields_for(r))}))],
    )
    assert bulk_upload_process(bulk_upload_id=bulk.pk) == "done"
    assert bulk_upload_process(bulk_upload_id=bulk.pk) == "skipped"
    bulk.refresh_from_db()
    assert bulk.counts["issued"] == 1 and len(bulk.report) == 1


def test_a_running_upload_is_left_alone_until_its_lease_is_past(shop, owner, settings):
    r1, r2 = pending(shop), pending(shop)
    files = {
        "1.pdf": fakes.invoice_pdf(fakes.fields_for(r1)),
        "2.pdf": fakes.invoice_pdf(fakes.fields_for(r2)),
    }
    bulk = bulk_upload_create(shop=shop, by=owner, files=[as_upload(fakes.zip_of(files))])
    # A worker claimed it, reported the first file, and was killed.
    started = timezone.now()
    BulkUpload.objects.for_system().filter(pk=bulk.pk).update(
        state="running",
        started_at=started,
        done=1,
        report=[{"name": "1.pdf", "outcome": "issued", "request": r1.pk}],
    )
    assert bulk_upload_process(bulk_upload_id=bulk.pk) == "skipped"  # it may still run

    BulkUpload.objects.for_system().filter(pk=bulk.pk).update(
        started_at=started - settings.JDPOP_JOB_TIME_LIMIT - timedelta(seconds=1)
    )
    assert bulk_upload_process(bulk_upload_id=bulk.pk) == "done"  # its lease is past
    bulk.refresh_from_db()
    # It went on from where the report ended: the first file was not read again.
    assert [line["name"] for line in bulk.report] == ["1.pdf", "2.pdf"]
    assert (state(r1), state(r2)) == ("pending", "issued")


def test_a_run_out_of_time_queues_itself_again_and_goes_on_from_there(shop, owner):
    requests = [pending(shop) for _ in range(3)]
    files = {f"{i}.pdf": fakes.invoice_pdf(fakes.fields_for(r)) for i, r in enumerate(requests)}
    bulk = bulk_upload_create(shop=shop, by=owner, files=[as_upload(fakes.zip_of(files))])
    assert bulk_upload_process(bulk_upload_id=bulk.pk, budget_seconds=1e-9) == "again"
    bulk.refresh_from_db()
    assert (bulk.state, bulk.done) == ("queued", 1)
    assert bulk_upload_process(bulk_upload_id=bulk.pk) == "done"
    bulk.refresh_from_db()
    assert bulk.counts["issued"] == 3 and bulk.done == 3


def test_an_uploader_who_lost_the_writer_role_issues_nothing(shop, owner):
    r = pending(shop)
    files = {"a.pdf": fakes.invoice_pdf(fakes.fields_for(r))}
    bulk = bulk_upload_create(shop=shop, by=owner, files=[as_upload(fakes.zip_of(files))])
    ShopMembership.objects.for_system().filter(user=owner).update(role="viewer")
    assert bulk_upload_process(bulk_upload_id=bulk.pk) == "failed"
    bulk.refresh_from_db()
    assert bulk.state == "failed" and bulk.error
    assert state(r) == "pending"


# --- refused before anything is kept ----------------------------------------------------------


def refused(shop, owner, settings, upload) -> str:
    with pytest.raises(ValidationError) as e:
        bulk_upload_create(shop=shop, by=owner, files=upload)
    assert not BulkUpload.objects.for_system().exists()
    assert stored_archives(settings) == []
    return e.value.error_dict["files"][0].code


def test_not_a_zip_is_refused(shop, owner, settings):
    assert refused(shop, owner, settings, [as_upload(b"PK but not really")]) == "bulk_not_zip"
    text = SimpleUploadedFile("notes.txt", b"just some notes")
    assert refused(shop, owner, settings, [text]) == "bulk_not_zip"


def test_more_files_than_the_limit_are_refused(shop, owner, settings):
    assert settings.JDPOP_BULK_UPLOAD_MAX_FILES == 1000
    many = fakes.zip_of_many(1001, make=lambda i: b"%PDF-1.7 tiny")
    assert refused(shop, owner, settings, [as_upload(many)]) == "bulk_too_many"
    exactly = fakes.zip_of_many(1000, make=lambda i: b"%PDF-1.7 tiny")
    assert bulk_upload_create(shop=shop, by=owner, files=[as_upload(exactly)]).total == 1000


def test_a_zip_bomb_is_refused_from_its_headers(shop, owner, settings):
    assert refused(shop, owner, settings, [as_upload(fakes.zip_bomb())]) == "bulk_bomb"


def test_an_archive_unpacking_to_more_than_the_limit_is_refused(shop, owner, settings):
    settings.JDPOP_BULK_UPLOAD_MAX_UNPACKED = 5_000_000
    # each member is small and fine; together they unpack past the limit
    files = {f"{i}.pdf": b"%PDF-1.7\n" + bytes(1_500_000) for i in range(4)}
    assert refused(shop, owner, settings, [as_upload(fakes.zip_of(files))]) == "bulk_bomb"


@pytest.mark.parametrize("name", ["../../x.pdf", "a/../../../y.pdf", "/etc/z.pdf", "C:\\z.pdf"])
def test_a_path_leaving_the_folder_refuses_the_whole_archive(shop, owner, settings, name):
    content = fakes.zip_of({"ok.pdf": fakes.invoice_pdf(), name: fakes.invoice_pdf()})
    assert refused(shop, owner, settings, [as_upload(content)]) == "bulk_path"


def test_the_fakes_traversal_zip_is_refused(shop, owner, settings):
    assert refused(shop, owner, settings, [as_upload(fakes.zip_traversal())]) == "bulk_path"


def test_an_archive_over_the_size_limit_is_refused(shop, owner, settings):
    settings.JDPOP_BULK_UPLOAD_MAX_BYTES = 5_000
    big = fakes.zip_of({"a.pdf": fakes.invoice_pdf(), "b.pdf": fakes.invoice_pdf()})
    assert len(big) > 5_000
    assert refused(shop, owner, settings, [as_upload(big)]) == "bulk_too_large"


def test_an_empty_archive_is_refused(shop, owner, settings):
    assert refused(shop, owner, settings, [as_upload(fakes.zip_of({}))]) == "bulk_empty"
    only_junk = fakes.zip_of({"__MACOSX/._a.pdf": b"x", "dir/.DS_Store": b"x"})
    assert refused(shop, owner, settings, [as_upload(only_junk)]) == "bulk_empty"


def test_a_viewer_cannot_upload(shop, settings):
    viewer = merchant_of(shop, ShopMembership.Role.VIEWER)
    with pytest.raises(PermissionDenied):
        bulk_upload_create(shop=shop, by=viewer, files=[as_upload(fakes.zip_of({"a.pdf": b"x"}))])
    assert not BulkUpload.objects.for_system().exists()


def test_nested_folders_and_junk_are_fine(shop, owner):
    r = pending(shop)
    content = fakes.zip_of(
        {
            "2025/03/shop/x.pdf": fakes.invoice_pdf(fakes.fields_for(r)),
            "__MACOSX/2025/._x.pdf": b"resource fork",
            "2025/.DS_Store": b"finder",
        }
    )
    bulk = bulk_upload_create(shop=shop, by=owner, files=[as_upload(content)])
    assert bulk.total == 1
    bulk_upload_process(bulk_upload_id=bulk.pk)
    bulk.refresh_from_db()
    assert outcomes(bulk) == {"2025/03/shop/x.pdf": Outcome.ISSUED}


def test_many_files_at_once_are_packed_into_one_archive(shop, owner):
    a, b = pending(shop), pending(shop)
    files = [
        SimpleUploadedFile("a.pdf", fakes.invoice_pdf(fakes.fields_for(a))),
        SimpleUploadedFile("a.pdf", fakes.invoice_pdf(fakes.fields_for(b))),  # same name
        SimpleUploadedFile("b.ofd", fakes.invoice_ofd(fakes.fields_for(b))),  # an OFD: a zip
    ]
    bulk = bulk_upload_create(shop=shop, by=owner, files=files)
    assert bulk.total == 3
    bulk_upload_process(bulk_upload_id=bulk.pk)
    bulk.refresh_from_db()
    assert outcomes(bulk) == {
        "a.pdf": Outcome.ISSUED,
        "a (2).pdf": Outcome.ISSUED,
        "b.ofd": Outcome.ALREADY_ISSUED,
    }


def test_a_single_ofd_is_an_invoice_not_an_archive(shop, owner):
    r = pending(shop)
    single = SimpleUploadedFile("x.ofd", fakes.invoice_ofd(fakes.fields_for(r)))
    bulk = bulk_upload_create(shop=shop, by=owner, files=[single])
    assert (bulk.total, bulk.name) == (1, "x.ofd")


# --- the pages ----------------------------------------------------------------------------------


def test_the_upload_page_queues_the_task_once_committed(
    client, shop, owner, django_capture_on_commit_callbacks
):
    r = pending(shop)
    client.force_login(owner)
    content = fakes.zip_of({"a.pdf": fakes.invoice_pdf(fakes.fields_for(r))})
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("merchant-bulk"), {"shop": shop.pk, "files": as_upload(content)}
        )
    bulk = BulkUpload.objects.for_system().get()
    assert response.status_code == 302
    assert response["Location"] == reverse("merchant-bulk-detail", args=[bulk.pk])
    assert len(callbacks) == 1  # the task is sent once the upload is committed
    assert (bulk.shop, bulk.by, bulk.state, bulk.total) == (shop, owner, "queued", 1)
    assert len(bulk.digest) == 64


@pytest.mark.parametrize(
    "content",
    [b"not a zip at all", fakes.zip_traversal(), fakes.zip_of_many(1001, make=lambda i: b"x")],
    ids=["not-a-zip", "traversal", "1001-files"],
)
def test_a_refused_upload_is_a_400_on_the_page_and_changes_nothing(client, shop, owner, content):
    client.force_login(owner)
    response = client.post(reverse("merchant-bulk"), {"shop": shop.pk, "files": as_upload(content)})
    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    assert not BulkUpload.objects.for_system().exists()


def test_the_detail_page_polls_while_running_and_shows_the_report_when_done(client, shop, owner):
    r = pending(shop)
    files = {"a.pdf": fakes.invoice_pdf(fakes.fields_for(r)), "bad.pdf": fakes.corrupt_pdf()}
    bulk = bulk_upload_create(shop=shop, by=owner, files=[as_upload(fakes.zip_of(files))])
    client.force_login(owner)
    page = client.get(reverse("merchant-bulk-detail", args=[bulk.pk])).content.decode()
    assert 'hx-get="' + reverse("merchant-bulk-progress", args=[bulk.pk]) in page
    assert 'hx-trigger="every 1s"' in page and "htmx" in page

    bulk_upload_process(bulk_upload_id=bulk.pk)
    fragment = client.get(reverse("merchant-bulk-progress", args=[bulk.pk])).content.decode()
    assert "hx-get" not in fragment  # done: the polling stops
    assert 'data-state="done"' in fragment and "a.pdf" in fragment and "bad.pdf" in fragment
    only_bad = client.get(reverse("merchant-bulk-detail", args=[bulk.pk]), {"outcome": "bad_file"})
    assert "bad.pdf" in only_bad.content.decode() and "a.pdf" not in only_bad.content.decode()


def test_the_list_shows_the_shops_uploads_only(client, shop, owner):
    mine = bulk_upload_create(
        shop=shop, by=owner, files=[as_upload(fakes.zip_of({"a.pdf": b"x"}), "mine.zip")]
    )
    other_shop = ShopFactory()
    bulk_upload_create(
        shop=other_shop,
        by=merchant_of(other_shop),
        files=[as_upload(fakes.zip_of({"a.pdf": b"x"}), "theirs.zip")],
    )
    client.force_login(owner)
    page = client.get(reverse("merchant-bulk")).content.decode()
    assert "mine.zip" in page and "theirs.zip" not in page
    assert client.get(reverse("merchant-bulk-detail", args=[mine.pk + 1])).status_code == 404


def test_a_viewer_reads_the_page_without_the_form(client, shop):
    viewer = merchant_of(shop, ShopMembership.Role.VIEWER)
    client.force_login(viewer)
    page = client.get(reverse("merchant-bulk")).content.decode()
    assert 'id="bulk-upload"' not in page


def test_many_files_chosen_at_once_on_the_page_are_one_upload(client, shop, owner):
    a, b = pending(shop), pending(shop)
    client.force_login(owner)
    files = [
        SimpleUploadedFile("a.pdf", fakes.invoice_pdf(fakes.fields_for(a))),
        SimpleUploadedFile("b.xml", fakes.invoice_xml(fakes.fields_for(b))),
    ]
    response = client.post(reverse("merchant-bulk"), {"shop": shop.pk, "files": files})
    assert response.status_code == 302
    bulk = BulkUpload.objects.for_system().get()
    assert bulk.total == 2
    assert bulk_upload_process(bulk_upload_id=bulk.pk) == "done"
    bulk.refresh_from_db()
    assert outcomes(bulk) == {"a.pdf": Outcome.ISSUED, "b.xml": Outcome.ISSUED}
