"""The ticket pages (spec 4, 6): the consumer's urge button and ticket section, the merchant's
complaint workbench and reply form. Every page is scoped: other people's tickets are a 404."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from core.models import ShopMembership
from invoices.models import InvoiceRequest
from tests.factories import PDF_BYTES, InvoiceRequestFactory, ShopFactory, merchant_of
from tickets.jobs import flag_missed_replies, open_overdue_tickets
from tickets.models import TicketReply, UrgeTicket

from .conftest import DAY, DUE, OPENED, SECOND, T0

pytestmark = pytest.mark.django_db
OVERDUE = T0 + settings.JDPOP_OVERDUE_AFTER  # the last instant the request is not yet overdue


def urge_url(r: InvoiceRequest) -> str:
    return f"/my/invoices/{r.pk}/urge"


def reply_post(**overrides) -> dict:
    data = {
        "resolution": "date_agreed",
        "note": "已与顾客电话沟通，约定开票日期",
        "promised_date": (OPENED + 3 * DAY).date().isoformat(),
        "confirm": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- the consumer's invoice detail page --------------------------------------------------------


def test_the_urge_button_appears_only_once_the_request_is_overdue(client, request_at_t0):
    # Given a request made at T0 (its shop has been on the new flow for a month)
    client.force_login(request_at_t0.consumer)
    page = f"/my/invoices/{request_at_t0.pk}/"
    # When exactly 10 days have passed, it is not overdue yet: no button
    with time_machine.travel(OVERDUE, tick=False):
        assert urge_url(request_at_t0) not in client.get(page).text
    # One second later it is: the button is there
    with time_machine.travel(OPENED, tick=False):
        assert urge_url(request_at_t0) in client.get(page).text


def test_urging_from_the_page_opens_the_ticket_with_a_24_hour_deadline(client, request_at_t0):
    client.force_login(request_at_t0.consumer)
    with time_machine.travel(OPENED, tick=False):
        response = client.post(urge_url(request_at_t0), follow=True)
    assert response.redirect_chain == [(f"/my/invoices/{request_at_t0.pk}/", 302)]
    ticket = UrgeTicket.objects.for_system().get(request=request_at_t0)
    assert (ticket.opened_via, ticket.urge_count, ticket.reply_due_at) == ("consumer", 1, DUE)
    # The page says so, and shows the ticket with its deadline in China time
    assert "2026-11-12 09:30" in response.text  # DUE = 2026-11-12 09:30:01 in Asia/Shanghai
    assert f"/my/tickets/{ticket.pk}/" in response.text


def test_urging_again_is_recorded_and_the_deadline_does_not_move(client, ticket):
    client.force_login(ticket.request.consumer)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with time_machine.travel(OPENED + 5 * 3600 * SECOND, tick=False):
        response = client.post(urge_url(ticket.request), follow=True)
    assert "deadline is unchanged: 2026-11-12 09:30" in response.text
    ticket.refresh_from_db()
    assert (ticket.urge_count, ticket.reply_due_at, ticket.opened_via) == (1, DUE, "job")
    with time_machine.travel(OPENED + 6 * 3600 * SECOND, tick=False):
        client.post(urge_url(ticket.request))
    ticket.refresh_from_db()
    assert (ticket.urge_count, ticket.reply_due_at) == (2, DUE)


def test_urging_before_the_request_is_overdue_is_refused_and_opens_nothing(client, request_at_t0):
    client.force_login(request_at_t0.consumer)
    with time_machine.travel(OVERDUE, tick=False):
        response = client.post(urge_url(request_at_t0), follow=True)
    assert response.status_code == 200
    assert [m.tags for m in response.context["messages"]] == ["error"]
    assert not UrgeTicket.objects.for_system().exists()


def test_a_consumer_cannot_urge_or_see_another_consumers_ticket(client, ticket):
    stranger = InvoiceRequestFactory().consumer
    client.force_login(stranger)
    with time_machine.travel(OPENED, tick=False):
        assert client.post(urge_url(ticket.request)).status_code == 404
        assert client.get(f"/my/tickets/{ticket.pk}/").status_code == 404
        assert client.get(f"/my/invoices/{ticket.request_id}/").status_code == 404
    ticket.refresh_from_db()
    assert ticket.urge_count == 0


def test_the_consumer_reads_the_shops_reply_on_the_detail_and_ticket_pages(
    client, ticket, merchant
):
    with time_machine.travel(OPENED + SECOND, tick=False):
        client.force_login(merchant)
        client.post(f"/merchant/tickets/{ticket.pk}/reply", reply_post())
        client.force_login(ticket.request.consumer)
        detail = client.get(f"/my/invoices/{ticket.request_id}/").text
        own = client.get(f"/my/tickets/{ticket.pk}/")
    assert "已与顾客电话沟通，约定开票日期" in detail
    assert own.status_code == 200 and "已与顾客电话沟通，约定开票日期" in own.text


# --- the merchant's workbench ------------------------------------------------------------------


def test_the_workbench_lists_open_tickets_most_urgent_first_and_flags_breached_ones(
    client, shop, merchant
):
    # Given requests made six hours apart, whose tickets the job opened as each became overdue,
    # one of them answered, and another shop's ticket
    hours = timedelta(hours=1)
    first, answered = (InvoiceRequestFactory(order__shop=shop, requested_at=T0) for _ in "ab")
    other = InvoiceRequestFactory(
        order__shop=ShopFactory(new_flow_since=T0 - 30 * DAY), requested_at=T0
    )
    second = InvoiceRequestFactory(order__shop=shop, requested_at=T0 + 6 * hours)
    third = InvoiceRequestFactory(order__shop=shop, requested_at=T0 + 12 * hours)
    for made in (T0, T0 + 6 * hours, T0 + 12 * hours):
        open_overdue_tickets(now=made + settings.JDPOP_OVERDUE_AFTER + SECOND)
    client.force_login(merchant)
    with time_machine.travel(OPENED + SECOND, tick=False):
        client.post(
            f"/merchant/tickets/{answered.urge_ticket.pk}/reply",
            reply_post(resolution="cannot_issue", promised_date=None),
        )
    # When the first ticket's window has passed and the job flagged it
    now = DUE + SECOND
    flag_missed_replies(now=now)
    with time_machine.travel(now, tick=False):
        response = client.get("/merchant/tickets/")
    # Then the open ones that can still be answered come first, by deadline, then the breached
    # one, flagged (the order itself: tests/tickets/test_workbench.py)
    rows = list(response.context["page"])
    assert [t.request_id for t in rows] == [second.pk, third.pk, first.pk]
    assert [t.state for t in rows] == ["awaiting_reply", "awaiting_reply", "breached"]
    assert response.text.count('class="ticket breached overdue"') == 1
    assert other.order.number not in response.text
    # The answered ticket is there when asking for all of them, or for the answered ones
    with time_machine.travel(now, tick=False):
        everything = client.get("/merchant/tickets/?state=all").context["page"]
        only_answered = client.get("/merchant/tickets/?state=answered").context["page"]
    assert len(everything) == 4
    assert [t.request_id for t in only_answered] == [answered.pk]


def test_the_workbench_query_count_does_not_grow_with_tickets(
    client, shop, merchant, django_assert_max_num_queries
):
    InvoiceRequestFactory.create_batch(5, order__shop=shop, requested_at=T0)
    open_overdue_tickets(now=OPENED)
    client.force_login(merchant)
    with django_assert_max_num_queries(10) as few:
        assert len(client.get("/merchant/tickets/").context["page"]) == 5
    InvoiceRequestFactory.create_batch(25, order__shop=shop, requested_at=T0)
    open_overdue_tickets(now=OPENED)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get("/merchant/tickets/").context["page"]) == 25


def test_the_nav_links_merchants_to_the_workbench(client, merchant, request_at_t0):
    client.force_login(merchant)
    assert 'href="/merchant/tickets/"' in client.get("/merchant/").text
    client.force_login(request_at_t0.consumer)
    assert 'href="/merchant/tickets/"' not in client.get("/my/").text


# --- the merchant's ticket page and reply form ---------------------------------------------------


def test_the_reply_form_shows_what_each_resolution_requires_before_sending(
    client, ticket, merchant
):
    client.force_login(merchant)
    with time_machine.travel(OPENED + SECOND, tick=False):
        response = client.get(f"/merchant/tickets/{ticket.pk}/")
    assert response.status_code == 200
    rows = {row["value"]: row for row in response.context["requirements"]}
    assert set(rows) == set(UrgeTicket.Resolution.values)
    assert rows["date_agreed"]["date"] and rows["date_agreed"]["note"]
    assert rows["issued"]["uploaded_invoice"] and not rows["issued"]["date"]
    assert response.text.count('name="resolution"') == 4
    assert f'href="/merchant/requests/{ticket.request_id}/#issue"' in response.text
    assert 'name="confirm"' in response.text


def test_merchant_replies_through_the_page(client, ticket, merchant):
    client.force_login(merchant)
    with time_machine.travel(OPENED + SECOND, tick=False):
        response = client.post(f"/merchant/tickets/{ticket.pk}/reply", reply_post())
    assert response.status_code == 302 and response["Location"] == f"/merchant/tickets/{ticket.pk}/"
    ticket.refresh_from_db()
    assert (ticket.state, ticket.resolution, ticket.promise_state) == (
        "answered",
        "date_agreed",
        "pending",
    )
    assert ticket.promised_date == (OPENED + 3 * DAY).date()


def test_reply_errors_are_shown_and_nothing_is_sent(client, ticket, merchant):
    client.force_login(merchant)
    url = f"/merchant/tickets/{ticket.pk}/reply"
    with time_machine.travel(OPENED + SECOND, tick=False):
        no_date = client.post(url, reply_post(promised_date=None))
        past_date = client.post(url, reply_post(promised_date=OPENED.date().isoformat()))
        no_note = client.post(url, reply_post(resolution="no_invoice_needed", note=""))
        not_uploaded = client.post(url, reply_post(resolution="issued"))
        unconfirmed = client.post(url, reply_post(confirm=None))
    assert no_date.status_code == 400 and "promised_date" in no_date.context["form"].errors
    assert "promised_date" in past_date.context["form"].errors
    assert "note" in no_note.context["form"].errors
    assert "resolution" in not_uploaded.context["form"].errors
    assert "confirm" in unconfirmed.context["form"].errors
    # the error is on the page, next to the field, and the merchant's note is kept
    assert 'class="errorlist' in no_date.text and "约定开票日期" in no_date.text
    assert not TicketReply.objects.for_system().exists()
    ticket.refresh_from_db()
    assert ticket.state == "awaiting_reply"


def test_errors_are_shown_in_the_pages_language(client, ticket, merchant):
    client.force_login(merchant)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    with time_machine.travel(OPENED + SECOND, tick=False):
        response = client.post(
            f"/merchant/tickets/{ticket.pk}/reply", reply_post(promised_date=None)
        )
    assert "Give the agreed issue date." in response.text


def test_a_reply_with_an_attachment_can_be_downloaded_by_both_sides_only(client, ticket, merchant):
    client.force_login(merchant)
    with time_machine.travel(OPENED + SECOND, tick=False):
        client.post(
            f"/merchant/tickets/{ticket.pk}/reply",
            reply_post(attachment=SimpleUploadedFile("chat.pdf", PDF_BYTES)),
        )
    reply = TicketReply.objects.for_system().get()
    url = f"/tickets/replies/{reply.pk}/attachment"
    for user, status in [
        (merchant, 200),
        (ticket.request.consumer, 200),
        (merchant_of(ShopFactory()), 404),
        (InvoiceRequestFactory().consumer, 404),
    ]:
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == status, user
        if status == 200:
            assert b"".join(response.streaming_content) == PDF_BYTES


def test_a_merchant_of_another_shop_gets_404_on_the_ticket_and_its_reply(client, ticket):
    client.force_login(merchant_of(ShopFactory()))
    with time_machine.travel(OPENED + SECOND, tick=False):
        assert client.get(f"/merchant/tickets/{ticket.pk}/").status_code == 404
        assert client.post(f"/merchant/tickets/{ticket.pk}/reply", reply_post()).status_code == 404
        assert ticket.request.order.number not in client.get("/merchant/tickets/").text
    assert not TicketReply.objects.for_system().exists()


def test_a_viewer_sees_the_ticket_but_cannot_reply(client, ticket, shop):
    viewer = merchant_of(shop, role=ShopMembership.Role.VIEWER)
    client.force_login(viewer)
    with time_machine.travel(OPENED + SECOND, tick=False):
        page = client.get(f"/merchant/tickets/{ticket.pk}/")
        assert page.status_code == 200 and 'name="confirm"' not in page.text
        assert client.post(f"/merchant/tickets/{ticket.pk}/reply", reply_post()).status_code == 403
    assert not TicketReply.objects.for_system().exists()


def test_a_correction_is_a_new_dated_reply(client, ticket, merchant):
    client.force_login(merchant)
    url = f"/merchant/tickets/{ticket.pk}/reply"
    with time_machine.travel(OPENED + SECOND, tick=False):
        client.post(url, reply_post())
    with time_machine.travel(OPENED + timedelta(hours=2), tick=False):
        client.post(
            url, reply_post(resolution="cannot_issue", note="顾客同意不开", promised_date=None)
        )
        page = client.get(f"/merchant/tickets/{ticket.pk}/")
    assert [r.resolution for r in TicketReply.objects.for_system().all()] == [
        "date_agreed",
        "cannot_issue",
    ]
    assert "约定开票日期" in page.text and "顾客同意不开" in page.text


def test_the_merchant_request_page_links_to_its_ticket(client, ticket, merchant):
    client.force_login(merchant)
    with time_machine.travel(OPENED + SECOND, tick=False):
        page = client.get(f"/merchant/requests/{ticket.request_id}/")
    assert f'href="/merchant/tickets/{ticket.pk}/"' in page.text
