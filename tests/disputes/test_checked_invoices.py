"""Spec 5 and 11: the verdict rests on the invoice itself. An urge dispute answered by an
invoice that was not read back and matched needs a person, the automatic judge never clears it,
and the arbitrator, the consumer and the merchant see what the check found."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.errors import Conflict
from core.models import HistoryEntry
from disputes import services
from disputes.models import Dispute
from disputes.services.judgment import judge_in_transaction
from invoices.models import InvoiceRequest
from invoices.services import invoice_request_issue
from penalties.models import Penalty
from tests.factories import InvoiceRequestFactory, matching_reading, merchant_of
from tests.invoices import fakes

from .factories import make_ticket, urge_request

pytestmark = pytest.mark.django_db

QUEUE = "/admin/disputes/dispute/"
IN_TIME = {"resolution": "issued", "sla": "met", "state": "answered"}
OPEN = {"state": "awaiting_reply", "sla": "", "resolution": ""}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def open_urge(request: InvoiceRequest) -> Dispute:
    return services.dispute_open(
        request=request, by=request.consumer, kind="urge", complaint="发票是假的，打不开"
    )


def judged_entries(d: Dispute) -> int:
    entries = HistoryEntry.objects.for_system()
    return entries.filter(subject="dispute", subject_id=d.pk, action="judged").count()


# --- the proposal and the automatic judge ----------------------------------------------------


@pytest.mark.parametrize(
    ("invoice_check", "proposal"),
    [
        ("verified", ("not_liable", "issued_in_time")),
        ("unreadable", ("needs_person", "unverified_invoice")),
        ("", ("needs_person", "unverified_invoice")),  # issued before invoices were checked
    ],
)
def test_an_invoice_in_time_clears_the_merchant_only_when_it_was_verified(invoice_check, proposal):
    # given a ticket answered in time by uploading an invoice the check found `invoice_check`
    r = urge_request(**IN_TIME, invoice_check=invoice_check)
    # when the consumer disputes it
    d = open_urge(r)
    # then the proposal rests on what the check found
    assert (d.state, d.proposed_verdict, d.proposed_reason_code) == ("awaiting_platform", *proposal)


@pytest.mark.parametrize("invoice_check", ["unreadable", ""])
def test_the_automatic_judge_never_clears_a_case_on_an_unverified_invoice(settings, invoice_check):
    # given automatic judgment of clear cases
    settings.JDPOP_AUTO_JUDGE_CLEAR_CASES = True
    # when a dispute is opened on a ticket answered with an invoice not machine-checked
    d = open_urge(urge_request(**IN_TIME, invoice_check=invoice_check))
    # then it waits for an arbitrator: nothing judged, no penalty
    assert (d.state, d.verdict, d.outcome) == ("awaiting_platform", "", "")
    assert judged_entries(d) == 0 and not Penalty.objects.for_system().exists()


def test_the_automatic_judge_clears_a_case_on_a_verified_invoice(settings):
    settings.JDPOP_AUTO_JUDGE_CLEAR_CASES = True
    d = open_urge(urge_request(**IN_TIME, invoice_check="verified"))
    assert (d.state, d.verdict, d.reason_code, d.judged_by) == (
        "closed",
        "not_liable",
        "issued_in_time",
        None,
    )


def a_dispute_proposed_before_the_check() -> Dispute:
    """An urge dispute proposed "not liable" on a request issued before invoices were read back
    (the proposal of its time), awaiting an arbitrator."""
    r = urge_request(**IN_TIME, invoice_check="verified")
    d = open_urge(r)
    assert d.proposed_verdict == "not_liable"
    InvoiceRequest.objects.for_system().filter(pk=r.pk).update(invoice_check="", invoice_read={})
    return Dispute.objects.for_system().select_related("request").get(pk=d.pk)


def test_the_automatic_judge_declines_a_stale_not_liable_proposal_on_an_unverified_invoice():
    d = a_dispute_proposed_before_the_check()
    # when the system is handed its stored "not liable" proposal to judge
    judge_in_transaction(
        d,
        by=None,
        verdict="not_liable",
        reason_code="issued_in_time",
        reason="",
        at=timezone.now(),
    )
    # then it judges nothing: a person must
    d = Dispute.objects.for_system().get(pk=d.pk)
    assert (d.state, d.verdict) == ("awaiting_platform", "")
    assert judged_entries(d) == 0


def test_an_arbitrator_confirming_a_stale_proposal_sees_it_change_then_judges_in_person(
    arbitrator,
):
    d = a_dispute_proposed_before_the_check()
    # when the arbitrator confirms the stored proposal, then the record changed it
    with pytest.raises(Conflict) as e:
        services.dispute_confirm_proposal(dispute=d, by=arbitrator)
    assert e.value.code == "proposal_changed"
    d = Dispute.objects.for_system().get(pk=d.pk)
    assert (d.proposed_verdict, d.proposed_reason_code) == ("needs_person", "unverified_invoice")
    entry = HistoryEntry.objects.for_system().get(
        subject="dispute", subject_id=d.pk, action="proposal_updated"
    )
    assert entry.data["after"] == ["needs_person", "unverified_invoice"]
    # and there is nothing to confirm any more
    with pytest.raises(Conflict) as e:
        services.dispute_confirm_proposal(dispute=d, by=arbitrator)
    assert e.value.code == "needs_person"
    # but the arbitrator, having looked at the invoice, may judge it with a written reason
    d = services.dispute_judge(
        dispute=d,
        by=arbitrator,
        verdict="not_liable",
        reason_code="issued_in_time",
        reason="发票抬头、税号、金额与申请一致",
    )
    assert (d.state, d.verdict, d.judged_by) == ("closed", "not_liable", arbitrator)


# --- through the real upload: the merchant answers the ticket by uploading the invoice ------


def uploaded_in_time(render, **overrides) -> tuple[InvoiceRequest, ValidationError | None]:
    """A pending request whose urge ticket opened an hour ago, and the merchant's upload of
    `render(fields)` for the fields that match it, changed by `overrides`, with the number
    typed (the upload answers the ticket as 已开发票, in time, unless it is refused)."""
    r = InvoiceRequestFactory()
    make_ticket(r, opened_at=timezone.now() - timedelta(hours=1), **OPEN)
    fields = fakes.fields_for(r, **overrides)
    refused = None
    try:
        invoice_request_issue(
            invoice_request=r,
            by=merchant_of(r.shop),
            file=SimpleUploadedFile("invoice.pdf", render(fields)),
            invoice_number=fields.number,
        )
    except ValidationError as e:
        refused = e
    return InvoiceRequest.objects.for_system().get(pk=r.pk), refused


def test_an_invoice_read_back_and_matched_clears_the_merchant():
    r, refused = uploaded_in_time(fakes.invoice_pdf)
    assert refused is None
    assert (r.state, r.invoice_check, r.urge_ticket.resolution) == ("issued", "verified", "issued")
    d = open_urge(r)
    assert (d.proposed_verdict, d.proposed_reason_code) == ("not_liable", "issued_in_time")


def test_a_scanned_invoice_is_accepted_but_its_dispute_needs_a_person(settings):
    settings.JDPOP_AUTO_JUDGE_CLEAR_CASES = True
    r, refused = uploaded_in_time(fakes.scanned_pdf)
    assert refused is None
    assert (r.state, r.invoice_check, r.urge_ticket.sla) == ("issued", "unreadable", "met")
    d = open_urge(r)
    assert (d.state, d.proposed_verdict, d.proposed_reason_code) == (
        "awaiting_platform",
        "needs_person",
        "unverified_invoice",
    )


def test_a_mismatching_invoice_answers_nothing_and_the_ticket_is_judged_unanswered():
    # given the merchant uploads an invoice for another buyer tax id: refused
    r, refused = uploaded_in_time(fakes.invoice_pdf, buyer_tax_id="91330106MA2CFY4W1X")
    assert refused is not None and "file" in refused.error_dict
    assert (r.state, r.invoice_check, r.urge_ticket.state) == ("pending", "", "awaiting_reply")
    # when the window passes with no other answer, the consumer disputes: liable, no reply
    with time_machine.travel(r.urge_ticket.reply_due_at + timedelta(seconds=1), tick=False):
        d = open_urge(r)
    assert (d.proposed_verdict, d.proposed_reason_code) == ("liable", "no_reply")


# --- the arbitrator's page -------------------------------------------------------------------


def rows_of(html: str) -> dict[str, tuple[str, str]]:
    """The side-by-side table: label -> (the row's class, the row's text)."""
    table = re.search(r'<table class="invoice-read">.*?</table>', html, re.S)
    assert table, "no side-by-side table"
    found = {}
    for cls, cells in re.findall(r'<tr class="([\w-]+)"[^>]*>(.*?)</tr>', table.group(0), re.S):
        texts = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd]>(.*?)</t[hd]>", cells)
        ]
        found[texts[0]] = (cls, " | ".join(texts[1:]))
    return found


def test_the_arbitrator_sees_the_invoice_read_beside_the_request_with_differences_marked(
    client, arbitrator
):
    # given a dispute on a verified invoice, whose shop gave its tax id only afterwards, and
    # the invoice carries another seller tax id
    r = urge_request(**IN_TIME, invoice_check="verified")
    d = open_urge(r)
    r.shop.tax_id = "91110108MA01C2XJ7Q"
    r.shop.save(update_fields=["tax_id"])
    read = {**matching_reading(r), "seller_tax_id": "91330106MA2CFY4W1X"}
    InvoiceRequest.objects.for_system().filter(pk=r.pk).update(invoice_read=read)
    client.force_login(arbitrator)
    # when the arbitrator opens the dispute
    html = client.get(f"{QUEUE}{d.pk}/change/", **EN).content.decode()
    # then the check's outcome and every field are shown, read beside expected
    assert "verified: read back and matched" in html
    rows = rows_of(html)
    assert rows["invoice number"] == (
        "match",
        f"{r.invoice_number} | {r.invoice_number} | ✓ matches",
    )
    assert rows["buyer tax id"] == ("match", f"{r.tax_id} | {r.tax_id} | ✓ matches")
    assert rows["total with tax"] == ("match", "199.00 | 199.00 | ✓ matches")
    # and the difference is marked in words and by its row's class, not by colour alone
    assert rows["seller tax id"] == (
        "mismatch",
        "91330106MA2CFY4W1X | 91110108MA01C2XJ7Q | ✗ does not match",
    )
    assert [label for label, (cls, _) in rows.items() if cls == "mismatch"] == ["seller tax id"]
    # and a field nobody asks for is shown but not compared
    assert rows["seller name"][0] == "not-compared"


def test_the_arbitrator_sees_an_unreadable_invoice_marked_not_machine_checked(client, arbitrator):
    r = urge_request(**IN_TIME, invoice_check="unreadable")
    d = open_urge(r)
    client.force_login(arbitrator)
    for url in (f"{QUEUE}{d.pk}/change/", f"{QUEUE}{d.pk}/judge/"):
        html = client.get(url, **EN).content.decode()
        assert "⚠ not machine-checked" in html, url
        assert "The file could not be read back" in html, url
        assert "verified: read back and matched" not in html, url
        assert "needs an arbitrator&#x27;s judgment" in html, url


def test_the_arbitrator_sees_what_little_was_read_from_an_unreadable_invoice(client, arbitrator):
    # given an invoice whose number alone could be read (too little to call it checked)
    r = urge_request(**IN_TIME, invoice_check="unreadable")
    InvoiceRequest.objects.for_system().filter(pk=r.pk).update(
        invoice_read={"number": r.invoice_number, "sources": ["qr"]}
    )
    d = open_urge(r)
    client.force_login(arbitrator)
    html = client.get(f"{QUEUE}{d.pk}/change/", **EN).content.decode()
    assert "⚠ not machine-checked" in html
    rows = rows_of(html)
    assert rows["invoice number"][0] == "match"
    assert rows["buyer name"] == ("not-compared", f"— | {r.title} | — not compared")


def test_an_invoice_issued_before_the_check_is_marked_so(client, arbitrator):
    d = open_urge(urge_request(**IN_TIME, invoice_check=""))
    client.force_login(arbitrator)
    html = client.get(f"{QUEUE}{d.pk}/change/", **EN).content.decode()
    assert "⚠ not machine-checked" in html and "Issued before invoices were read back" in html
    assert '<table class="invoice-read">' not in html


# --- the consumer's and the merchant's pages -------------------------------------------------


@pytest.mark.parametrize(
    ("invoice_check", "shown", "not_shown"),
    [
        ("verified", "✓ verified: read back and matched", "not machine-checked"),
        ("unreadable", "⚠ not machine-checked", "verified: read back and matched"),
        ("", "⚠ not machine-checked", "verified: read back and matched"),
    ],
)
def test_the_consumer_and_the_merchant_see_whether_the_invoice_was_checked(
    client, invoice_check, shown, not_shown
):
    r = InvoiceRequestFactory(issued=True, invoice_check=invoice_check)
    for user, url in [
        (r.consumer, f"/my/invoices/{r.pk}/"),
        (merchant_of(r.shop), f"/merchant/requests/{r.pk}/"),
    ]:
        client.force_login(user)
        html = client.get(url, **EN).content.decode()
        line = re.search(r'<dd id="invoice-check"[^>]*>(.*?)</dd>', html, re.S)
        assert line, url
        text = re.sub(r"<[^>]+>", "", line.group(1))
        assert shown in text and not_shown not in text, url


def test_a_pending_request_shows_no_check_line(client):
    r = InvoiceRequestFactory()
    client.force_login(r.consumer)
    assert 'id="invoice-check"' not in client.get(f"/my/invoices/{r.pk}/", **EN).text
