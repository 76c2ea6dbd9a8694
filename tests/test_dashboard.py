"""Spec 4.6, 8: the merchant's dashboard at /merchant/. What needs an answer now (tickets awaiting
a reply, disputes awaiting the shop) with live countdowns, the requests at risk of becoming
overdue, this China month's figures and the last twelve months, for one shop or all of the
user's shops, never another shop's."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Shop, ShopMembership
from disputes.models import Dispute
from invoices.models import InvoiceRequest
from penalties.models import Penalty
from penalties.scorecard import scorecard
from tests.disputes.factories import DisputeFactory, dispute_in
from tests.factories import InvoiceRequestFactory, ShopFactory, UserFactory, merchant_of
from tickets.models import UrgeTicket

pytestmark = pytest.mark.django_db

CN = ZoneInfo("Asia/Shanghai")
# Ten minutes into December in China; still 30 November (16:10) in UTC.
NOW = datetime(2026, 12, 1, 0, 10, tzinfo=CN)
DECEMBER, NOVEMBER = date(2026, 12, 1), date(2026, 11, 1)
MIDNIGHT = datetime(2026, 12, 1, 0, 0, tzinfo=CN)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def shop() -> Shop:
    return ShopFactory(name="甲店")


@pytest.fixture
def owner(shop):
    return merchant_of(shop)


def ticket(shop: Shop, *, at: datetime, sla: str = "met", due: datetime | None = None):
    """A ticket opened at `at`, in the state its SLA implies."""
    state = {"": "awaiting_reply", "missed": "breached"}.get(sla, "answered")
    return UrgeTicket.objects.create(
        request=InvoiceRequestFactory(order__shop=shop, requested_at=at - timedelta(days=11)),
        shop=shop,
        opened_at=at,
        opened_via="job",
        reply_due_at=due or at + settings.JDPOP_REPLY_WINDOW,
        state=state,
        sla=sla,
        answered_at=at + timedelta(hours=1) if state == "answered" else None,
    )


def penalty(shop: Shop, *, at: datetime, state: str = "proposed") -> Penalty:
    return Penalty.objects.create(shop=shop, kind="no_reply", state=state, at=at)


def lost(shop: Shop, *, closed_at: datetime) -> Dispute:
    """A dispute judged against the shop at `closed_at`."""
    return dispute_in(
        "closed",
        request__order__shop=shop,
        outcome="judged",
        verdict="liable",
        reason_code="no_reply",
        reason="没有按时回复",
        judged_at=closed_at,
        closed_at=closed_at,
    )


def pending(shop: Shop, *, overdue_at: datetime) -> InvoiceRequest:
    """A pending request of `shop` (on the new flow) that becomes overdue at `overdue_at`."""
    return InvoiceRequestFactory(
        order__shop=shop, requested_at=overdue_at - settings.JDPOP_OVERDUE_AFTER
    )


def figure(page: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}">(?:<a [^>]*>)?([^<]*)<', page)
    assert match, name
    return match.group(1)


def dashboard(client, user, **params):
    client.force_login(user)
    return client.get("/merchant/", params, HTTP_ACCEPT_LANGUAGE="en")


# --- this month's figures, China months ------------------------------------------------------


def test_this_month_is_the_china_month_across_midnight(client, shop, owner):
    # A second before midnight China time is November; midnight itself is December, though
    # both are 30 November in UTC.
    before = MIDNIGHT - timedelta(seconds=1)
    ticket(shop, at=before)
    ticket(shop, at=MIDNIGHT, sla="late")
    penalty(shop, at=before)
    penalty(shop, at=MIDNIGHT)
    penalty(shop, at=MIDNIGHT, state="waived")  # a waived penalty does not count
    lost(shop, closed_at=before)
    lost(shop, closed_at=MIDNIGHT + timedelta(minutes=5))

    response = dashboard(client, owner)
    this_month = response.context["this_month"]
    assert this_month.month == DECEMBER
    assert (this_month.tickets_decided, this_month.tickets_on_time) == (1, 0)
    assert (this_month.disputes_lost, this_month.penalties) == (1, 1)
    november = response.context["months"][-2]
    assert november.month == NOVEMBER
    assert (november.tickets_on_time, november.disputes_lost, november.penalties) == (1, 1, 1)
    page = response.text
    assert "This month (2026-12)" in page
    assert figure(page, "on_time") == "0.0%"
    assert figure(page, "disputes_lost") == "1" and figure(page, "penalties") == "1"


def test_a_second_before_midnight_it_is_still_the_old_month(client, shop, owner):
    ticket(shop, at=MIDNIGHT - timedelta(hours=1))
    with time_machine.travel(MIDNIGHT - timedelta(seconds=1), tick=False):
        this_month = dashboard(client, owner).context["this_month"]
    assert this_month.month == NOVEMBER and this_month.tickets_on_time == 1


def test_the_on_time_share_counts_tickets_whose_sla_is_known(client, shop, owner):
    for sla in ("met", "met", "met", "late", ""):  # the one awaiting its reply is not counted
        ticket(shop, at=MIDNIGHT + timedelta(minutes=1), sla=sla)
    page = dashboard(client, owner).text
    assert figure(page, "on_time") == "75.0%"
    assert "3 of 4 tickets" in page


def test_no_decided_ticket_shows_no_share(client, shop, owner):
    assert figure(dashboard(client, owner).text, "on_time") == "—"


def test_open_tickets_are_those_awaiting_a_reply_or_past_the_window(client, shop, owner):
    ticket(shop, at=NOW - timedelta(hours=1), sla="")
    ticket(shop, at=NOW - timedelta(days=3), sla="missed")
    ticket(shop, at=NOW - timedelta(days=3), sla="met")
    page = dashboard(client, owner).text
    assert figure(page, "open_tickets") == "2"
    assert "1 still in their reply window" in page


def test_the_figures_agree_with_the_scorecard(client, shop, owner):
    for sla in ("met", "late", "missed"):
        ticket(shop, at=MIDNIGHT + timedelta(minutes=2), sla=sla)
    penalty(shop, at=MIDNIGHT + timedelta(minutes=3), state="confirmed")
    lost(shop, closed_at=MIDNIGHT + timedelta(minutes=4))
    [card] = scorecard(month=DECEMBER, shop_ids=[shop.pk])
    this_month = dashboard(client, owner).context["this_month"]
    assert this_month.on_time_percent == card.on_time_percent
    assert (this_month.tickets_opened, this_month.disputes_lost, this_month.penalties) == (
        card.tickets_opened,
        card.disputes_lost,
        card.penalties,
    )


def test_the_chart_shows_the_last_12_china_months(client, shop, owner):
    ticket(shop, at=datetime(2026, 1, 1, 0, 0, tzinfo=CN))  # the oldest month shown
    ticket(shop, at=datetime(2025, 12, 31, 23, 59, tzinfo=CN))  # thirteen months ago
    response = dashboard(client, owner)
    months = response.context["months"]
    assert [m.month for m in (months[0], months[-1])] == [date(2026, 1, 1), DECEMBER]
    assert len(months) == 12 and sum(m.tickets_opened for m in months) == 1
    page = response.text
    assert '<svg class="chart"' in page and 'role="img"' in page
    assert "<script" not in page.split('<svg class="chart"')[1].split("</svg>")[0]
    # the same figures as a table, for screen readers and anyone else
    table = page.split('<table class="list months">')[1].split("</table>")[0]
    assert '<th scope="row">2026-01</th><td>1</td><td>1</td><td>100.0%</td>' in table
    assert table.count('<th scope="row">') == 12


# --- needs an answer now ---------------------------------------------------------------------


def test_tickets_and_disputes_awaiting_the_shop_soonest_first_with_countdowns(client, shop, owner):
    later = ticket(shop, at=NOW - timedelta(hours=1), sla="")  # due in 23 h
    soon = DisputeFactory(request__order__shop=shop, opened_at=NOW - timedelta(hours=20))
    sooner = ticket(shop, at=NOW - timedelta(hours=23), sla="")  # due in 1 h
    ticket(shop, at=NOW - timedelta(hours=2), sla="met")  # answered: not listed
    dispute_in("awaiting_consumer", request__order__shop=shop)  # the consumer's move

    response = dashboard(client, owner)
    rows = response.context["needs_answer"]
    assert [(r.kind, r.pk) for r in rows] == [
        ("ticket", sooner.pk),
        ("dispute", soon.pk),
        ("ticket", later.pk),
    ]
    page = response.text
    countdowns = re.findall(
        r'<time class="countdown[^"]*" datetime="([^"]+)" data-deadline="([^"]+)"', page
    )
    assert [datetime.fromisoformat(d) for d, _ in countdowns] == [r.due_at for r in rows]
    assert all(d == deadline for d, deadline in countdowns)
    # the row's colour as of the page's loading: 1 h left is urgent, 23 h is not yet
    assert (
        'class="due-urgent"' in page.split(f"/merchant/tickets/{sooner.pk}/")[0].rsplit("<tr", 1)[1]
    )
    assert 'class=""' in page.split(f"/merchant/tickets/{later.pk}/")[0].rsplit("<tr", 1)[1]
    assert f'href="/merchant/disputes/{soon.pk}/"' in page
    assert f'href="/merchant/tickets/{later.pk}/"' in page


# --- at risk ---------------------------------------------------------------------------------


def test_at_risk_are_pending_requests_overdue_within_48_hours_inclusive(client, shop, owner):
    window = timedelta(hours=48)
    edge = pending(shop, overdue_at=NOW + window)  # exactly 48 h: at risk
    first = pending(shop, overdue_at=NOW + timedelta(hours=3))
    beyond = pending(shop, overdue_at=NOW + window + timedelta(seconds=1))
    already = pending(shop, overdue_at=NOW - timedelta(seconds=1))  # overdue: a ticket's matter
    done = InvoiceRequestFactory(
        issued=True, order__shop=shop, requested_at=NOW + timedelta(hours=5) - timedelta(days=10)
    )
    old_flow = InvoiceRequestFactory(order__shop=ShopFactory(new_flow_since=None))
    merchant_of(old_flow.shop, user=owner)

    response = dashboard(client, owner)
    assert [r.pk for r in response.context["at_risk"]] == [first.pk, edge.pk]
    page = response.text
    assert f'href="/merchant/requests/{first.pk}/#issue"' in page and "Issue now" in page
    for absent in (beyond, already, done, old_flow):
        assert f"/merchant/requests/{absent.pk}/#issue" not in page


def test_the_at_risk_window_is_a_setting(client, shop, owner, settings):
    settings.JDPOP_AT_RISK = timedelta(hours=24)
    inside = pending(shop, overdue_at=NOW + timedelta(hours=24))
    pending(shop, overdue_at=NOW + timedelta(hours=25))
    response = dashboard(client, owner)
    assert [r.pk for r in response.context["at_risk"]] == [inside.pk]
    assert "within 24 hours" in response.text


# --- whose data ------------------------------------------------------------------------------


def everything_of(shop: Shop) -> list[str]:
    """One of each thing the dashboard lists, for `shop`: the order numbers it would show."""
    waiting = ticket(shop, at=NOW - timedelta(hours=1), sla="")
    dispute = DisputeFactory(request__order__shop=shop)
    risky = pending(shop, overdue_at=NOW + timedelta(hours=5))
    ticket(shop, at=NOW - timedelta(minutes=5), sla="met")
    penalty(shop, at=NOW - timedelta(minutes=5))
    return [waiting.request.order.number, dispute.request.order.number, risky.order.number]


def test_another_shops_data_never_shows(client, shop, owner):
    mine = everything_of(shop)
    theirs = everything_of(ShopFactory(name="乙店"))
    page = dashboard(client, owner).text
    assert all(number in page for number in mine)
    assert not any(number in page for number in theirs) and "乙店" not in page
    assert figure(page, "penalties") == "1" and figure(page, "open_tickets") == "1"
    assert 'name="shop"' not in page  # one shop: no switcher


def test_a_viewer_sees_the_dashboard(client, shop):
    mine = everything_of(shop)
    page = dashboard(client, merchant_of(shop, ShopMembership.Role.VIEWER)).text
    assert all(number in page for number in mine)


def test_staff_of_several_shops_switch_between_them(client, shop, owner):
    second = ShopFactory(name="乙店")
    merchant_of(second, ShopMembership.Role.OPERATOR, user=owner)
    outsider = ShopFactory(name="丙店")
    mine, other = everything_of(shop), everything_of(second)
    everything_of(outsider)

    page = dashboard(client, owner).text  # all my shops together
    assert all(number in page for number in mine + other)
    assert f'<option value="{second.pk}">乙店</option>' in page and "丙店" not in page
    assert figure(page, "penalties") == "2"

    page = dashboard(client, owner, shop=second.pk).text
    assert all(number in page for number in other) and not any(n in page for n in mine)
    assert f'<option value="{second.pk}" selected>乙店</option>' in page
    assert figure(page, "penalties") == "1"


@pytest.mark.parametrize("asked", ["outsider", "missing", "abc", "1 OR 1=1"])
def test_another_shops_id_in_the_switcher_is_a_404(client, shop, owner, asked):
    outsider = ShopFactory()
    value = {"outsider": outsider.pk, "missing": 999999}.get(asked, asked)
    assert dashboard(client, owner, shop=value).status_code == 404


def test_someone_who_works_for_no_shop_sees_no_shop(client, shop):
    everything_of(shop)
    response = dashboard(client, UserFactory())
    assert response.status_code == 200
    assert "You do not work for any shop" in response.text


def test_anonymous_users_are_sent_to_log_in(client):
    assert client.get("/merchant/")["Location"].startswith("/accounts/login/")


# --- the page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_page_renders_in_each_language(client, shop, owner, language):
    everything_of(shop)
    client.force_login(owner)
    response = client.get("/merchant/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert f'<html lang="{language}">' in response.text
    assert "<svg" in response.text and 'class="countdown' in response.text


def test_the_home_page_and_the_nav_lead_merchants_to_the_dashboard(client, owner):
    client.force_login(owner)
    assert client.get("/")["Location"] == "/merchant/"
    page = client.get("/merchant/requests/").text
    assert 'href="/merchant/"' in page and 'href="/merchant/requests/"' in page


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/merchant/").status_code == 200
    return len(queries.captured_queries)


def test_the_query_count_does_not_grow_with_rows(client, shop, owner):
    client.force_login(owner)
    second = ShopFactory()
    merchant_of(second, user=owner)

    def rows(n: int) -> None:
        for i in range(n):
            for s in (shop, second):
                ticket(s, at=NOW - timedelta(hours=1, minutes=i), sla="")
                ticket(s, at=NOW - timedelta(days=30 * (i % 12)), sla="met")
                DisputeFactory(request__order__shop=s)
                pending(s, overdue_at=NOW + timedelta(hours=1 + i))
                penalty(s, at=NOW - timedelta(days=30 * (i % 12)))
                lost(s, closed_at=NOW - timedelta(days=30 * (i % 12)))

    rows(3)
    few = _queries(client)
    rows(27)
    assert _queries(client) == few <= 14, few
