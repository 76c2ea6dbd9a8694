"""Spec 11, exchange (换开): after an invoice is issued the consumer asks for it to be exchanged,
with a reason and the corrected details; the shop issues the replacement or refuses; the
exchange has its own 10-day clock and is urged and disputed like a re-issue; the first invoice
stays in the record as replaced."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from core.errors import Conflict
from core.models import HistoryEntry, OutboxMessage
from disputes import services as disputes
from invoices import services
from invoices.exchange import exchange_problem, invoice_exchange_request
from invoices.models import InvoiceRequest, Order
from tests.concurrency import race
from tests.factories import (
    PDF_BYTES,
    VALID_USCC,
    InvoiceRequestFactory,
    ShopFactory,
    UserFactory,
    merchant_of,
)
from tickets.jobs import flag_missed_replies, open_overdue_tickets
from tickets.models import UrgeTicket

pytestmark = pytest.mark.django_db

CHINA = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=CHINA)  # the first invoice is issued
T1 = T0 + timedelta(days=3)  # the consumer asks for the exchange
S = timedelta(seconds=1)
OVERDUE = settings.JDPOP_OVERDUE_AFTER
NUMBER = "1" * 20
NEW_NUMBER = "2" * 20
OTHER_USCC = "91350211M000100Y46"  # a second valid unified social credit code

CORRECTED = {
    "title_type": "organisation",
    "title": "上海云帆信息科技有限公司",
    "tax_id": VALID_USCC,
    "invoice_kind": "e_ordinary",
    "email": "finance@example.com",
}


def pdf(name: str = "invoice.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def fresh(r: InvoiceRequest) -> InvoiceRequest:
    return InvoiceRequest.objects.for_system().get(pk=r.pk)


def issued_invoice(**kwargs) -> InvoiceRequest:
    """An invoice issued at T0 by the shop's owner, in a shop on the new flow."""
    kwargs.setdefault("order__shop", ShopFactory(new_flow_since=T0 - timedelta(days=365)))
    kwargs.setdefault("order__completed_at", T0 - timedelta(days=3))
    r = InvoiceRequestFactory(requested_at=T0 - timedelta(days=2), **kwargs)
    with time_machine.travel(T0, tick=False):
        services.invoice_request_issue(
            invoice_request=r, by=merchant_of(r.shop), file=pdf(), invoice_number=NUMBER
        )
    return fresh(r)


def ask(invoice: InvoiceRequest, at: datetime = T1, **data) -> InvoiceRequest:
    data = {**CORRECTED, "exchange_reason": "wrong_title", **data}
    with time_machine.travel(at, tick=False):
        return invoice_exchange_request(consumer=invoice.consumer, invoice=invoice, data=data)


def issue(r: InvoiceRequest, at: datetime, number: str = NEW_NUMBER) -> InvoiceRequest:
    with time_machine.travel(at, tick=False):
        return services.invoice_request_issue(
            invoice_request=fresh(r),
            by=merchant_of(r.shop),
            file=pdf(),
            invoice_number=number,
        )


def actions(r: InvoiceRequest) -> list[str]:
    return list(
        HistoryEntry.objects.for_system().filter(request_id=r.pk).values_list("action", flat=True)
    )


@pytest.fixture
def invoice() -> InvoiceRequest:
    return issued_invoice(title_type="person", title="北京示例科技", tax_id="")


# --- asking ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "note"),
    [
        ("wrong_title", ""),
        ("wrong_tax_id", ""),
        ("wrong_amount", "实付 189 元"),
        ("other", "发票备注缺少订单号"),
    ],
)
def test_the_consumer_asks_an_exchange_with_each_reason(invoice, reason, note):
    # when the consumer asks, with the corrected details
    e = ask(invoice, exchange_reason=reason, exchange_note=note)
    # then a new pending request of kind exchange carries them, with its own clock
    assert (e.kind, e.state, e.reissue_of_id, e.order_id) == (
        "exchange",
        "pending",
        invoice.pk,
        invoice.order_id,
    )
    assert (e.exchange_reason, e.exchange_note) == (reason, note)
    assert (e.title, e.tax_id, e.title_type) == (CORRECTED["title"], VALID_USCC, "organisation")
    assert e.requested_at == T1 and e.overdue_at == T1 + OVERDUE
    # the first invoice stays issued and valid until the replacement comes
    original = fresh(invoice)
    assert (original.state, original.replaced_at, original.invoice_number) == (
        "issued",
        None,
        NUMBER,
    )
    # the history: on the exchange, and on the invoice it would replace
    [asked] = HistoryEntry.objects.for_system().filter(request_id=e.pk)
    assert (asked.action, asked.state_to, asked.actor) == (
        "exchange_requested",
        "pending",
        invoice.consumer,
    )
    assert asked.data["reason"] == reason and asked.data["replaces"] == invoice.pk
    assert actions(invoice) == ["issued", "exchange_requested"]
    # and the shop hears of it, once
    assert OutboxMessage.objects.filter(
        key=f"request:{e.pk}:exchange-requested", kind="exchange_requested"
    ).exists()


def test_other_needs_a_note(invoice):
    with pytest.raises(ValidationError) as refused:
        ask(invoice, exchange_reason="other", exchange_note=" \u200b ")
    assert list(refused.value.error_dict) == ["exchange_note"]
    assert not InvoiceRequest.objects.for_system().filter(kind="exchange").exists()


@pytest.mark.parametrize("reason", ["", "wrong_colour"])
def test_a_reason_is_required_and_must_be_one_of_the_four(invoice, reason):
    with pytest.raises(ValidationError) as refused:
        ask(invoice, exchange_reason=reason)
    assert "exchange_reason" in refused.value.error_dict


def test_the_corrected_details_are_checked_like_a_new_request(invoice):
    with pytest.raises(ValidationError) as refused:
        ask(invoice, tax_id="91620105L015101281", email="")  # a wrong check character
    assert set(refused.value.error_dict) == {"tax_id", "email"}
    assert actions(invoice) == ["issued"]


def test_only_the_consumer_of_the_order_asks(invoice):
    with pytest.raises(PermissionDenied):
        invoice_exchange_request(
            consumer=UserFactory(),
            invoice=invoice,
            data={**CORRECTED, "exchange_reason": "wrong_title"},
        )


def test_an_invoice_not_issued_cannot_be_exchanged():
    pending = InvoiceRequestFactory()
    with pytest.raises(Conflict) as refused:
        ask(pending)
    assert refused.value.code == "not_issued"


def test_one_pending_exchange_per_order(invoice):
    ask(invoice)
    with pytest.raises(Conflict) as refused:
        ask(invoice, at=T1 + S)
    assert refused.value.code == "exchange_pending"
    assert InvoiceRequest.objects.for_system().filter(kind="exchange").count() == 1


def test_a_pending_exchange_cannot_itself_be_exchanged(invoice):
    e = ask(invoice)
    with pytest.raises(Conflict) as refused:
        ask(e, at=T1 + S)
    assert refused.value.code == "not_issued"


def test_an_invoice_of_a_cancelled_order_cannot_be_exchanged(invoice):
    Order.objects.for_system().filter(pk=invoice.order_id).update(
        state=Order.State.CANCELLED, completed_at=None
    )
    assert exchange_problem(fresh(invoice)).code == "order_closed"


# --- the shop issues the replacement --------------------------------------------------------


def test_issuing_the_replacement_replaces_the_first_invoice(invoice):
    e = ask(invoice)
    at = T1 + timedelta(days=1)
    issue(e, at)
    e, original = fresh(e), fresh(invoice)
    assert (e.state, e.invoice_number, e.issued_at) == ("issued", NEW_NUMBER, at)
    # the first invoice stays in the record, issued, now marked replaced
    assert (original.state, original.invoice_number, original.replaced_at) == (
        "issued",
        NUMBER,
        at,
    )
    assert actions(original) == ["issued", "exchange_requested", "replaced"]
    replaced = HistoryEntry.objects.for_system().get(request_id=original.pk, action="replaced")
    assert replaced.at == at and replaced.data["by_request"] == e.pk
    assert replaced.data["invoice_number"] == NEW_NUMBER
    # it cannot be exchanged again; the new invoice can
    assert exchange_problem(original).code == "already_replaced"
    assert exchange_problem(e) is None
    second = ask(e, at=at + S)
    assert second.reissue_of_id == e.pk


def test_a_replaced_invoice_cannot_be_exchanged(invoice):
    issue(ask(invoice), T1 + S)
    with pytest.raises(Conflict) as refused:
        ask(fresh(invoice), at=T1 + 2 * S)
    assert refused.value.code == "already_replaced"


def test_an_ordinary_issue_replaces_nothing(invoice):
    other = InvoiceRequestFactory(order__shop=invoice.shop)
    issue(other, T1)
    assert fresh(invoice).replaced_at is None
    assert actions(invoice) == ["issued"]


def test_the_replacement_failing_leaves_the_first_invoice_valid(invoice):
    e = ask(invoice)
    with pytest.raises(ValidationError):
        with time_machine.travel(T1 + S, tick=False):
            services.invoice_request_issue(
                invoice_request=fresh(e),
                by=merchant_of(e.shop),
                file=SimpleUploadedFile("x.pdf", b"%PDF-1.4 not really"),
                invoice_number=NEW_NUMBER,
            )
    assert fresh(invoice).replaced_at is None and fresh(e).state == "pending"


# --- the shop refuses -----------------------------------------------------------------------


def test_the_shop_refuses_an_exchange_with_a_reason(invoice):
    e = ask(invoice)
    with time_machine.travel(T1 + S, tick=False):
        services.invoice_request_refuse(
            invoice_request=fresh(e), by=merchant_of(e.shop), reason="抬头与下单信息一致"
        )
    e = fresh(e)
    assert (e.state, e.refuse_reason) == ("refused", "抬头与下单信息一致")
    original = fresh(invoice)
    assert (original.state, original.replaced_at) == ("issued", None)
    assert OutboxMessage.objects.filter(
        key=f"request:{e.pk}:exchange-refused", kind="exchange_refused"
    ).exists()
    # the consumer may ask again (no exchange is pending any more), not re-issue the refused one
    assert exchange_problem(original) is None
    assert ask(original, at=T1 + 2 * S).reissue_of_id == invoice.pk


def test_refusing_an_ordinary_request_is_no_exchange_event():
    r = InvoiceRequestFactory()
    services.invoice_request_refuse(invoice_request=r, by=merchant_of(r.shop), reason="无法开具")
    assert not OutboxMessage.objects.filter(kind="exchange_refused").exists()


# --- its own 10-day clock, urge and dispute like a re-issue ---------------------------------


def test_exactly_ten_days_after_the_ask_is_not_yet_overdue(invoice):
    ask(invoice)
    assert open_overdue_tickets(now=T1 + OVERDUE)["opened"] == 0
    assert not UrgeTicket.objects.for_system().exists()


def test_one_second_past_ten_days_the_job_opens_the_exchanges_ticket(invoice):
    e = ask(invoice)
    assert open_overdue_tickets(now=T1 + OVERDUE + S)["opened"] == 1
    ticket = UrgeTicket.objects.for_system().get()
    assert ticket.request_id == e.pk and ticket.opened_at == T1 + OVERDUE + S


def test_the_consumer_urges_an_overdue_exchange_from_its_page(client, invoice):
    e = ask(invoice)
    client.force_login(invoice.consumer)
    with time_machine.travel(T1 + OVERDUE, tick=False):
        page = client.get(f"/my/invoices/{e.pk}/", HTTP_ACCEPT_LANGUAGE="en")
        client.post(f"/my/invoices/{e.pk}/urge")
    assert f"/my/invoices/{e.pk}/urge" not in page.text  # not overdue yet: no button
    assert not UrgeTicket.objects.for_system().exists()
    with time_machine.travel(T1 + OVERDUE + S, tick=False):
        page = client.get(f"/my/invoices/{e.pk}/", HTTP_ACCEPT_LANGUAGE="en")
        assert f"/my/invoices/{e.pk}/urge" in page.text
        client.post(f"/my/invoices/{e.pk}/urge")
    ticket = UrgeTicket.objects.for_system().get()
    assert (ticket.request_id, ticket.opened_via, ticket.urge_count) == (e.pk, "consumer", 1)


def test_uploading_the_replacement_answers_the_exchanges_ticket(invoice):
    e = ask(invoice)
    open_overdue_tickets(now=T1 + OVERDUE + S)
    issue(e, T1 + OVERDUE + 2 * S)
    ticket = UrgeTicket.objects.for_system().get(request_id=e.pk)
    assert (ticket.state, ticket.resolution, ticket.sla) == ("answered", "issued", "met")
    assert fresh(invoice).replaced_at == T1 + OVERDUE + 2 * S


def test_an_unanswered_exchange_ticket_is_disputed_like_a_re_issue(invoice):
    e = ask(invoice)
    opened = T1 + OVERDUE + S
    open_overdue_tickets(now=opened)
    flag_missed_replies(now=opened + settings.JDPOP_REPLY_WINDOW + S)
    with time_machine.travel(opened + settings.JDPOP_REPLY_WINDOW + 2 * S, tick=False):
        d = disputes.dispute_open(
            request=fresh(e), by=e.consumer, kind="urge", complaint="换开一直没处理"
        )
    assert (d.request_id, d.state, d.proposed_verdict, d.proposed_reason_code) == (
        e.pk,
        "awaiting_platform",
        "liable",
        "no_reply",
    )


def test_a_refused_exchange_is_disputed_and_settled_by_a_later_exchange(invoice):
    # given a refused exchange and its refused-invoice dispute
    e = ask(invoice)
    owner = merchant_of(e.shop)
    services.invoice_request_refuse(invoice_request=fresh(e), by=owner, reason="信息无误")
    d = disputes.dispute_open(request=fresh(e), by=e.consumer, kind="refused", complaint="抬头错了")
    assert d.state == "awaiting_merchant"
    # "invoice issued" needs the invoice actually issued: not yet
    with pytest.raises(ValidationError):
        disputes.dispute_answer(dispute=d, by=owner, plan="issued", note="已换开")
    # when the consumer asks again and the shop issues that exchange
    again = ask(fresh(invoice), at=T1 + timedelta(hours=1))
    issue(again, T1 + timedelta(hours=2))
    # then the shop may answer the dispute "invoice issued"
    answered = disputes.dispute_answer(dispute=d, by=owner, plan="issued", note="已换开")
    assert answered.plan == "issued"


# --- the pages --------------------------------------------------------------------------------


def test_the_consumer_asks_from_the_invoice_page(client, invoice):
    client.force_login(invoice.consumer)
    page = client.get(f"/my/invoices/{invoice.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert f"/my/invoices/{invoice.pk}/exchange" in page.text
    form = client.get(f"/my/invoices/{invoice.pk}/exchange", HTTP_ACCEPT_LANGUAGE="en")
    assert form.status_code == 200 and "北京示例科技" in form.text  # filled in from the invoice
    response = client.post(
        f"/my/invoices/{invoice.pk}/exchange",
        {**CORRECTED, "exchange_reason": "wrong_title", "exchange_note": ""},
    )
    e = InvoiceRequest.objects.for_system().get(kind="exchange")
    assert response.status_code == 302 and response["Location"] == f"/my/invoices/{e.pk}/"
    # the invoice page now says an exchange is waiting, and offers no second one
    page = client.get(f"/my/invoices/{invoice.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert f"/my/invoices/{e.pk}/" in page.text
    assert f"/my/invoices/{invoice.pk}/exchange" not in page.text


def test_the_page_says_what_is_wrong_and_changes_nothing(client, invoice):
    client.force_login(invoice.consumer)
    response = client.post(
        f"/my/invoices/{invoice.pk}/exchange",
        {**CORRECTED, "exchange_reason": "other", "exchange_note": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400 and "Say what is wrong" in response.text
    ask(invoice)
    response = client.post(
        f"/my/invoices/{invoice.pk}/exchange",
        {**CORRECTED, "exchange_reason": "wrong_title"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 409 and "already waiting" in response.text
    assert InvoiceRequest.objects.for_system().filter(kind="exchange").count() == 1


def test_another_consumers_invoice_is_a_404(client, invoice):
    client.force_login(UserFactory())
    assert client.get(f"/my/invoices/{invoice.pk}/exchange").status_code == 404
    response = client.post(
        f"/my/invoices/{invoice.pk}/exchange", {**CORRECTED, "exchange_reason": "wrong_title"}
    )
    assert response.status_code == 404
    assert not InvoiceRequest.objects.for_system().filter(kind="exchange").exists()


def test_both_invoices_stay_on_record_replaced_by_and_exchange_of(client, invoice):
    e = ask(invoice)
    issue(e, T1 + S)
    client.force_login(invoice.consumer)
    first = client.get(f"/my/invoices/{invoice.pk}/", HTTP_ACCEPT_LANGUAGE="en").text
    assert "Replaced by" in first and f"/my/invoices/{e.pk}/" in first and NEW_NUMBER in first
    assert f"/invoices/{invoice.pk}/file" in first  # still downloadable
    assert client.get(f"/invoices/{invoice.pk}/file").status_code == 200
    second = client.get(f"/my/invoices/{e.pk}/", HTTP_ACCEPT_LANGUAGE="en").text
    assert "exchange of" in second and f"/my/invoices/{invoice.pk}/" in second
    assert f"/invoices/{e.pk}/file" in second


def test_the_shop_sees_the_exchange_marked_with_its_reason_and_the_invoice_it_replaces(
    client, invoice
):
    e = ask(invoice, exchange_reason="other", exchange_note="备注写错了")
    client.force_login(merchant_of(invoice.shop))
    listing = client.get("/merchant/requests/", HTTP_ACCEPT_LANGUAGE="en").text
    assert "exchange (换开)" in listing and "备注写错了" in listing
    assert f"/merchant/requests/{invoice.pk}/" in listing
    detail = client.get(f"/merchant/requests/{e.pk}/", HTTP_ACCEPT_LANGUAGE="en").text
    assert "备注写错了" in detail and f"/merchant/requests/{invoice.pk}/" in detail
    assert f"/merchant/requests/{e.pk}/issue" in detail  # the normal upload
    assert f"/merchant/requests/{e.pk}/refuse" in detail  # the normal refusal


def test_a_refused_exchange_offers_no_re_issue(client, invoice):
    e = ask(invoice)
    services.invoice_request_refuse(invoice_request=fresh(e), by=merchant_of(e.shop), reason="无")
    client.force_login(invoice.consumer)
    page = client.get(f"/my/invoices/{e.pk}/").text
    assert f"/my/orders/{invoice.order_id}/request" not in page
    form = client.get(f"/my/orders/{invoice.order_id}/request", HTTP_ACCEPT_LANGUAGE="en")
    assert "already requested" in form.text  # the issued invoice is the order's request


# --- the API -----------------------------------------------------------------------------------


def api_ask(client, invoice: InvoiceRequest, **data):
    body = {**CORRECTED, "exchange_reason": "wrong_tax_id", **data}
    return client.post(
        f"/api/v1/consumer/invoice-requests/{invoice.pk}/exchange/",
        body,
        content_type="application/json",
    )


def test_the_api_asks_an_exchange(client, invoice):
    client.force_login(invoice.consumer)
    response = api_ask(client, invoice, tax_id=OTHER_USCC)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["state"], body["reissue_of"], body["exchange_reason"]) == (
        "exchange",
        "pending",
        invoice.pk,
        "wrong_tax_id",
    )
    assert body["tax_id"] == OTHER_USCC and body["overdue_at"] is not None
    # a second one is a clear 409
    again = api_ask(client, invoice)
    assert again.status_code == 409 and again.json()["code"] == "exchange_pending"


def test_the_api_refuses_bad_input_with_a_400_and_others_invoices_with_a_404(client, invoice):
    client.force_login(invoice.consumer)
    no_note = api_ask(client, invoice, exchange_reason="other")
    assert no_note.status_code == 400 and "exchange_note" in no_note.json()["fields"]
    bad_reason = api_ask(client, invoice, exchange_reason="nope")
    assert bad_reason.status_code == 400 and "exchange_reason" in bad_reason.json()["fields"]
    pending = InvoiceRequestFactory(order__consumer=invoice.consumer)
    not_issued = api_ask(client, pending)
    assert not_issued.status_code == 409 and not_issued.json()["code"] == "not_issued"
    client.force_login(UserFactory())
    assert api_ask(client, invoice).status_code == 404
    assert not InvoiceRequest.objects.for_system().filter(kind="exchange").exists()


# --- races (PostgreSQL) -----------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_asks_at_once_the_database_keeps_one():
    invoice = issued_invoice()
    data = {**CORRECTED, "exchange_reason": "wrong_title"}
    results = race(
        *[
            lambda: invoice_exchange_request(
                consumer=invoice.consumer, invoice=fresh(invoice), data=data
            )
        ]
        * 2
    )
    assert sorted(type(x).__name__ for x in results) == ["Conflict", "InvoiceRequest"], results
    [lost] = [x for x in results if isinstance(x, Conflict)]
    assert lost.code == "exchange_pending"
    assert InvoiceRequest.objects.for_system().filter(kind="exchange").count() == 1
    assert actions(invoice).count("exchange_requested") == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_ask_racing_the_replacement_does_not_ask_for_a_replaced_invoice():
    invoice = issued_invoice()
    e = ask(invoice)
    owner = merchant_of(invoice.shop)
    data = {**CORRECTED, "exchange_reason": "wrong_title"}
    results = race(
        lambda: services.invoice_request_issue(
            invoice_request=fresh(e), by=owner, file=pdf(), invoice_number=NEW_NUMBER
        ),
        lambda: invoice_exchange_request(
            consumer=invoice.consumer, invoice=fresh(invoice), data=data
        ),
    )
    assert isinstance(results[0], InvoiceRequest), results
    assert isinstance(results[1], Conflict), results
    assert fresh(invoice).replaced_at is not None
    assert InvoiceRequest.objects.for_system().filter(kind="exchange").count() == 1
