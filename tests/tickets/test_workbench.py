"""The live complaint workbench (spec 4.6, issue 11 item 2): tickets that can still be answered
first, by deadline, then those past their window; a countdown with the row's colour at 12 h and
2 h; the list fetched again in place (django-htmx); and everything still works without
JavaScript: the list, the pages, the filters, the reply."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils.translation import pgettext

from core.templatetags.countdown import deadline_class_at, time_left_text
from tests.factories import InvoiceRequestFactory, ShopFactory
from tickets.jobs import flag_missed_replies, open_overdue_tickets
from tickets.models import UrgeTicket
from tickets.services.replies import ticket_reply

from .conftest import DAY, SECOND, T0

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
NOW = T0 + 20 * DAY  # when the merchant looks at the workbench
HX = {"HTTP_HX_REQUEST": "true"}


def ticket_due(shop, due: datetime) -> UrgeTicket:
    """A ticket the job opened as its request became overdue, with its reply deadline at `due`."""
    opened = due - settings.JDPOP_REPLY_WINDOW
    r = InvoiceRequestFactory(
        order__shop=shop, requested_at=opened - settings.JDPOP_OVERDUE_AFTER - SECOND
    )
    open_overdue_tickets(now=opened)
    return UrgeTicket.objects.for_system().get(request=r)


def order_numbers(response) -> list[str]:
    return [t.request.order.number for t in response.context["page"]]


def numbers(*tickets: UrgeTicket) -> list[str]:
    return [t.request.order.number for t in tickets]


def row_of(html: str, ticket: UrgeTicket) -> str:
    """The <tr ...> opening tag and first cell of `ticket`'s row."""
    match = re.search(rf'<tr class="[^"]*" data-ticket="{ticket.pk}">.*?</td>', html, re.S)
    assert match, f"no row for ticket {ticket.pk}"
    return match.group(0)


@pytest.fixture
def board(shop, merchant):
    """Tickets in every position: three still answerable, one past its window not yet flagged,
    one breached by the job, one answered, and another shop's."""
    t = {
        "in_20h": ticket_due(shop, NOW + 20 * HOUR),
        "in_90min": ticket_due(shop, NOW + 90 * MINUTE),
        "in_11h": ticket_due(shop, NOW + 11 * HOUR),
        "missed_1h_ago": ticket_due(shop, NOW - HOUR),
        "breached_5h_ago": ticket_due(shop, NOW - 5 * HOUR),
        "answered": ticket_due(shop, NOW + 2 * HOUR),
        "other_shop": ticket_due(ShopFactory(new_flow_since=T0 - 30 * DAY), NOW + HOUR),
    }
    flag_missed_replies(now=NOW - 3 * HOUR)  # the job flagged the one 5 h past its window
    with time_machine.travel(NOW - HOUR, tick=False):
        ticket_reply(ticket=t["answered"], by=merchant, resolution="cannot_issue", note="已协商")
    for ticket in t.values():
        ticket.refresh_from_db()
    assert t["breached_5h_ago"].state == "breached" and t["missed_1h_ago"].state == "awaiting_reply"
    return t


def get(client, url: str = "/merchant/tickets/", **extra):
    with time_machine.travel(NOW, tick=False):
        return client.get(url, **extra)


# --- the order -----------------------------------------------------------------------------


def test_answerable_tickets_come_first_by_deadline_then_those_past_their_window(
    client, merchant, board
):
    client.force_login(merchant)
    response = get(client)
    # The ones that can still be saved, soonest first; then the missed ones, most recent first;
    # the answered one is not open, another shop's is not ours
    assert order_numbers(response) == numbers(
        board["in_90min"],
        board["in_11h"],
        board["in_20h"],
        board["missed_1h_ago"],
        board["breached_5h_ago"],
    )
    # A heading separates the two groups
    text = response.text
    heading = '<tr class="group">'
    assert text.index(board["in_20h"].request.order.number) < text.index(heading)
    assert text.index(heading) < text.index(board["missed_1h_ago"].request.order.number)


def test_closed_tickets_come_last_when_asking_for_all(client, merchant, board):
    client.force_login(merchant)
    rows = order_numbers(get(client, "/merchant/tickets/?state=all"))
    assert rows[:3] == numbers(board["in_90min"], board["in_11h"], board["in_20h"])
    assert rows[-1] == board["answered"].request.order.number
    assert board["other_shop"].request.order.number not in rows


def test_a_ticket_exactly_at_its_deadline_can_still_be_answered(client, shop, merchant):
    at_deadline = ticket_due(shop, NOW)
    later = ticket_due(shop, NOW + HOUR)
    missed = ticket_due(shop, NOW - SECOND)
    client.force_login(merchant)
    assert order_numbers(get(client)) == numbers(at_deadline, later, missed)


# --- the countdown ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "left, cls",
    [
        (13 * HOUR, ""),
        (12 * HOUR + SECOND, ""),
        (12 * HOUR, "due-soon"),
        (2 * HOUR + SECOND, "due-soon"),
        (2 * HOUR, "due-urgent"),
        (timedelta(0), "due-urgent"),  # the deadline itself is still in time (spec 4.3)
        (-SECOND, "overdue"),
    ],
)
def test_the_row_changes_colour_at_12_hours_and_2_hours(left, cls):
    assert deadline_class_at(NOW + left, NOW) == cls


def units(lang: str) -> tuple[str, ...]:
    from django.utils import translation

    with translation.override(lang):
        return tuple(pgettext("countdown", w) for w in ("hours", "minutes", "seconds"))


def test_the_countdown_says_hours_and_minutes_then_minutes_and_seconds_in_the_page_language():
    from django.utils import translation

    # "23 小时 59 分钟" once translated; the units are the page language's
    h, m, s = units("zh-hans")
    with translation.override("zh-hans"):
        assert time_left_text(NOW + 23 * HOUR + 59 * MINUTE + 59 * SECOND, NOW) == f"23 {h} 59 {m}"
        assert time_left_text(NOW + 59 * MINUTE + 7 * SECOND, NOW) == f"59 {m} 7 {s}"
        assert time_left_text(NOW, NOW) == f"0 {m} 0 {s}"
    with translation.override("en"):
        assert time_left_text(NOW + 2 * HOUR + 5 * MINUTE, NOW) == "2 hours 5 minutes"
        assert time_left_text(NOW - SECOND, NOW) == "time is up"


def test_each_answerable_row_carries_a_ticking_countdown_and_its_colour(client, merchant, board):
    client.force_login(merchant)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = get(client).text
    soon = row_of(html, board["in_11h"])
    assert 'class="ticket answerable due-soon"' in soon
    deadline = board["in_11h"].reply_due_at.isoformat(timespec="milliseconds")
    assert f'datetime="{deadline}" data-deadline="{deadline}"' in soon
    assert 'data-h="hours" data-m="minutes" data-s="seconds" data-past="time is up"' in soon
    assert ">11 hours 0 minutes</time>" in soon
    assert 'class="ticket answerable due-urgent"' in row_of(html, board["in_90min"])
    assert ">1 hours 30 minutes</time>" in row_of(html, board["in_90min"])
    assert 'class="ticket answerable "' in row_of(html, board["in_20h"])
    for past in ("missed_1h_ago", "breached_5h_ago"):
        row = row_of(html, board[past])
        assert 'class="ticket breached overdue"' in row and "window passed" in row
        assert "countdown" not in row
    # The page loads the script that makes it tick (from base.html: every page has it)
    assert "/static/js/countdown.js" in html


# --- new tickets without a reload ------------------------------------------------------------


def test_the_page_polls_its_own_url_with_filters_and_page_for_the_list(client, merchant, board):
    client.force_login(merchant)
    html = get(client, "/merchant/tickets/?state=open&order_number=&page=1").text
    assert 'hx-get="/merchant/tickets/?state=open&amp;order_number=&amp;page=1"' in html
    assert 'hx-trigger="every 20s"' in html  # JDPOP_WORKBENCH_POLL_SECONDS
    assert "/static/django_htmx/htmx" in html  # the htmx django-htmx serves


def test_the_polled_list_is_the_fragment_only_and_shows_a_new_ticket(client, shop, merchant, board):
    client.force_login(merchant)
    before = get(client, **HX)
    assert "<html" not in before.text and "<table" in before.text
    assert "HX-Request" in before["Vary"]
    new = ticket_due(shop, NOW + 30 * MINUTE)
    after = get(client, **HX)
    assert order_numbers(after)[0] == new.request.order.number
    assert new.request.order.number in after.text
    h, m, s = units("zh-hans")
    assert f">30 {m} 0 {s}</time>" in row_of(after.text, new)


def test_the_polled_list_keeps_the_filter_and_bad_input_is_no_error(client, merchant, board):
    client.force_login(merchant)
    number = board["in_20h"].request.order.number
    assert order_numbers(get(client, f"/merchant/tickets/?order_number={number}", **HX)) == [number]
    bad = get(client, "/merchant/tickets/?shop=abc&state=nonsense", **HX)
    assert bad.status_code == 200 and order_numbers(bad) == []


# --- without JavaScript ----------------------------------------------------------------------


def test_without_javascript_the_list_pages_and_keeps_its_filter_in_the_url(client, shop, merchant):
    tickets = [ticket_due(shop, NOW + (i + 1) * MINUTE) for i in range(27)]
    client.force_login(merchant)
    first = get(client, "/merchant/tickets/?state=open")
    assert order_numbers(first) == numbers(*tickets[:25])
    assert 'href="?state=open&amp;page=2"' in first.text
    second = get(client, "/merchant/tickets/?state=open&page=2")
    assert order_numbers(second) == numbers(*tickets[25:])
    assert 'href="?state=open&amp;page=1"' in second.text


def test_without_javascript_the_reply_goes_through_from_the_row_link(client, merchant, board):
    client.force_login(merchant)
    ticket = board["in_90min"]
    html = get(client).text
    assert f'href="/merchant/tickets/{ticket.pk}/"' in html
    with time_machine.travel(NOW, tick=False):
        form = client.get(f"/merchant/tickets/{ticket.pk}/")
        assert f'action="/merchant/tickets/{ticket.pk}/reply"' in form.text
        sent = client.post(
            f"/merchant/tickets/{ticket.pk}/reply",
            {"resolution": "cannot_issue", "note": "已与顾客沟通", "confirm": "on"},
        )
    assert sent.status_code == 302
    ticket.refresh_from_db()
    assert ticket.state == "answered"
    assert ticket.request.order.number not in order_numbers(get(client))


# --- queries ---------------------------------------------------------------------------------


@pytest.mark.parametrize("extra", [{}, HX], ids=["page", "polled list"])
def test_the_query_count_does_not_grow_with_rows(
    client, shop, merchant, board, extra, django_assert_max_num_queries
):
    client.force_login(merchant)
    with django_assert_max_num_queries(10) as few:
        assert len(get(client, **extra).context["page"]) == 5
    for i in range(20):
        ticket_due(shop, NOW + (i + 1) * MINUTE)
    flag_missed_replies(now=NOW - 3 * HOUR)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(get(client, **extra).context["page"]) == 25


def test_a_poll_after_the_session_ended_takes_the_whole_page_to_the_login(client):
    response = client.get(
        "/merchant/tickets/?state=open",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/merchant/tickets/?state=open&page=2",
    )
    assert response.status_code == 204 and response.content == b""
    assert (
        response["HX-Redirect"]
        == "/accounts/login/?next=%2Fmerchant%2Ftickets%2F%3Fstate%3Dopen%26page%3D2"
    )
    # Without htmx, the ordinary redirect to the login page.
    plain = client.get("/merchant/tickets/")
    assert plain.status_code == 302 and plain["Location"].startswith("/accounts/login/")
