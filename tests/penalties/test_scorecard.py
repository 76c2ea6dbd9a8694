"""Spec 8: the shop scorecard, per shop and China month: a compliance grade (needs attention /
fair / good / not rated, never the category tiers' 重点 / A / B / 普通), penalties by kind, the
shops to watch first."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Shop
from core.roles import ARBITRATOR_GROUP
from disputes.models import Dispute
from invoices.models import InvoiceRequest
from penalties.models import Penalty
from penalties.scorecard import Grade, penalty_kinds, scorecard
from tests.factories import InvoiceRequestFactory, ShopFactory, UserFactory, merchant_of
from tickets.models import UrgeTicket

pytestmark = pytest.mark.django_db

CN = ZoneInfo("Asia/Shanghai")
NOVEMBER = date(2026, 11, 1)
MID_NOVEMBER = datetime(2026, 11, 15, 10, 0, tzinfo=CN)


def ticket(shop: Shop, sla: str = "met", *, at: datetime = MID_NOVEMBER) -> UrgeTicket:
    """A ticket opened at `at`, in the state its SLA implies."""
    state = {"": "awaiting_reply", "missed": "breached"}.get(sla, "answered")
    return UrgeTicket.objects.create(
        request=InvoiceRequestFactory(order__shop=shop, requested_at=at - timedelta(days=11)),
        shop=shop,
        opened_at=at,
        opened_via="job",
        reply_due_at=at + timedelta(hours=24),
        state=state,
        sla=sla,
        answered_at=at + timedelta(hours=1) if state == "answered" else None,
    )


def issued(shop: Shop, *, requested_at: datetime, hours: float) -> InvoiceRequest:
    """A request answered with an invoice `hours` after it was made."""
    return InvoiceRequestFactory(
        order__shop=shop,
        requested_at=requested_at,
        state="issued",
        issued_at=requested_at + timedelta(hours=hours),
        invoice_number="24110000000000000001",
        invoice_file="invoices/2026/11/invoice.pdf",
    )


def penalty(
    shop: Shop, state: str = "confirmed", *, at: datetime = MID_NOVEMBER, kind: str = "no_reply"
) -> Penalty:
    return Penalty.objects.create(shop=shop, kind=kind, state=state, at=at)


def dispute(shop: Shop, *, opened_at: datetime = MID_NOVEMBER, verdict: str = "") -> Dispute:
    """A dispute opened at `opened_at`; judged a day later when given a verdict."""
    request = InvoiceRequestFactory(order__shop=shop, requested_at=opened_at - timedelta(days=3))
    fields: dict = {"state": "awaiting_platform", "platform_since": opened_at}
    if verdict:
        judged_at = opened_at + timedelta(days=1)
        fields = {
            "state": "closed",
            "outcome": "judged",
            "verdict": verdict,
            "reason_code": "no_reply",
            "reason": "没有按时回复",
            "judged_at": judged_at,
            "closed_at": judged_at,
        }
    return Dispute.objects.create(
        request=request,
        shop=shop,
        consumer=request.consumer,
        kind="urge",
        complaint="商家一直不开发票",
        opened_at=opened_at,
        **fields,
    )


def row_of(shop: Shop, month: date = NOVEMBER):
    rows = scorecard(month=month, shop_ids=[shop.pk])
    assert len(rows) == 1, rows
    return rows[0]


def test_on_time_share_counts_tickets_whose_sla_is_known():
    # given a shop with 3 tickets answered in time, 1 late, 1 missed and 1 still open
    shop = ShopFactory()
    for sla in ["met", "met", "met", "late", "missed", ""]:
        ticket(shop, sla)

    # then 3 of the 5 decided tickets were on time; the open one is not yet counted
    row = row_of(shop)
    assert (row.tickets_opened, row.tickets_decided, row.tickets_on_time) == (6, 5, 3)
    assert row.on_time_share == pytest.approx(0.6)
    assert row.on_time_percent == 60.0


def test_a_shop_without_decided_tickets_has_no_share():
    shop = ShopFactory()
    ticket(shop, "")
    row = row_of(shop)
    assert row.on_time_share is None
    assert row.grade == Grade.UNRATED


@pytest.mark.parametrize(
    ("hours", "median"),
    [
        ([5, 1, 30], 5),  # odd: the middle one
        ([1, 30, 5, 8], 6.5),  # even: the mean of the two middle ones
        ([48], 48),
        ([0.5, 2], 1.25),
    ],
)
def test_median_hours_from_request_to_invoice(hours, median):
    shop = ShopFactory()
    for h in hours:
        issued(shop, requested_at=datetime(2026, 11, 10, 9, 0, tzinfo=CN), hours=h)

    row = row_of(shop)
    assert row.requests_issued == len(hours)
    assert row.median_hours_to_invoice == pytest.approx(median)


def test_the_median_is_per_shop_and_ignores_requests_not_issued():
    # given two shops, and a pending request that must not count
    fast, slow = ShopFactory(), ShopFactory()
    issued(fast, requested_at=MID_NOVEMBER, hours=2)
    issued(fast, requested_at=MID_NOVEMBER, hours=4)
    issued(slow, requested_at=MID_NOVEMBER, hours=100)
    InvoiceRequestFactory(order__shop=fast, requested_at=MID_NOVEMBER)

    rows = {row.shop_id: row for row in scorecard(month=NOVEMBER)}
    assert rows[fast.pk].median_hours_to_invoice == 3
    assert rows[fast.pk].requests_issued == 2
    assert rows[slow.pk].median_hours_to_invoice == 100


def test_months_are_china_months():
    # given activity just before and just after midnight China time at the month's edges
    shop = ShopFactory()
    ticket(shop, "met", at=datetime(2026, 10, 31, 23, 59, 59, tzinfo=CN))  # October
    ticket(shop, "met", at=datetime(2026, 11, 1, 0, 0, tzinfo=CN))  # November (Oct 31 UTC)
    ticket(shop, "late", at=datetime(2026, 11, 30, 23, 30, tzinfo=CN))  # November (15:30 UTC)
    ticket(shop, "missed", at=datetime(2026, 12, 1, 0, 0, tzinfo=CN))  # December
    # an invoice issued at 23:30 on 30 November China time belongs to November
    issued(shop, requested_at=datetime(2026, 11, 30, 20, 30, tzinfo=CN), hours=3)
    issued(shop, requested_at=datetime(2026, 11, 30, 23, 30, tzinfo=CN), hours=1)  # December
    penalty(shop, at=datetime(2026, 12, 1, 0, 0, 1, tzinfo=CN))  # December

    november = row_of(shop, NOVEMBER)
    assert (november.tickets_opened, november.tickets_on_time) == (2, 1)
    assert (november.requests_issued, november.median_hours_to_invoice) == (1, 3)
    assert november.penalties == 0

    december = row_of(shop, date(2026, 12, 1))
    assert (december.tickets_opened, december.tickets_on_time) == (1, 0)
    assert (december.requests_issued, december.penalties) == (1, 1)

    october = row_of(shop, date(2026, 10, 31))  # any day names its month
    assert october.tickets_opened == 1


def test_penalties_count_unless_waived():
    shop = ShopFactory()
    penalty(shop, "proposed")
    penalty(shop, "confirmed")
    penalty(shop, "waived")
    assert row_of(shop).penalties == 2


def test_only_a_waived_penalty_is_no_activity():
    shop = ShopFactory()
    penalty(shop, "waived")
    assert scorecard(month=NOVEMBER, shop_ids=[shop.pk]) == []


def test_disputes_opened_in_the_month_and_lost_when_judged_liable():
    # given disputes: open, judged not liable, judged liable in November, and one opened in
    # October but lost in November
    shop = ShopFactory()
    dispute(shop)
    dispute(shop, verdict="not_liable")
    dispute(shop, verdict="liable")
    dispute(shop, opened_at=datetime(2026, 10, 31, 12, 0, tzinfo=CN), verdict="liable")

    row = row_of(shop)
    assert row.disputes_opened == 3
    assert row.disputes_lost == 2
    assert row.grade == Grade.ATTENTION
    assert row_of(shop, date(2026, 10, 1)).disputes_lost == 0


@pytest.mark.parametrize(
    ("on_time", "late", "penalties", "lost", "grade"),
    [
        (1, 0, 0, 0, Grade.GOOD),
        (49, 1, 0, 0, Grade.GOOD),  # 98 %
        (48, 1, 0, 0, Grade.FAIR),  # 97.96 %: just under 98 %
        (1, 0, 1, 0, Grade.FAIR),  # perfect, but penalised
        (9, 1, 0, 0, Grade.FAIR),  # 90 %
        (4, 1, 2, 0, Grade.FAIR),  # 80 % is not under 80 %
        (15, 4, 0, 0, Grade.ATTENTION),  # 78.9 %
        (3, 1, 0, 0, Grade.ATTENTION),  # 75 %
        (1, 0, 2, 0, Grade.FAIR),  # 2 penalties
        (1, 0, 3, 0, Grade.ATTENTION),  # 3 penalties
        (1, 0, 0, 1, Grade.ATTENTION),  # a dispute lost
        (0, 0, 1, 0, Grade.FAIR),  # no ticket, but a penalty: not good, not unrated
        (0, 0, 3, 0, Grade.ATTENTION),
    ],
)
def test_grades(on_time, late, penalties, lost, grade):
    shop = ShopFactory()
    for sla in ["met"] * on_time + ["late"] * late:
        ticket(shop, sla)
    for _ in range(penalties):
        penalty(shop)
    for _ in range(lost):
        dispute(shop, verdict="liable")

    assert row_of(shop).grade == grade


def test_nothing_to_grade_is_not_rated():
    # given a shop whose month has only invoices and a dispute still open
    shop = ShopFactory()
    issued(shop, requested_at=MID_NOVEMBER, hours=2)
    dispute(shop)
    assert row_of(shop).grade == Grade.UNRATED


def test_the_grade_never_uses_the_category_tiers_words():
    # 重点 / A / B / 普通 are the category tiers by sales (spec 13): 重点 are the top sellers
    assert not {"key", "a", "b", "normal"} & set(Grade.values)
    for label in map(str, Grade.labels):
        assert "重点" not in label and "普通" not in label and "key" not in label


def test_the_shops_to_watch_come_first():
    # given shops of every grade; within a grade the riskiest first: disputes lost, then
    # penalties (most first), then the on-time share (worst first); not rated last
    names = ["lost", "late", "p3", "fair85", "fair90", "fair_pen", "good98", "good100", "unrated"]
    shops = {name: ShopFactory(name=name) for name in names}
    for name, slas in {
        "lost": ["met"],
        "late": ["late"],
        "p3": ["met"],
        "fair85": ["met"] * 17 + ["late"] * 3,
        "fair90": ["met"] * 9 + ["late"],
        "fair_pen": ["met"],
        "good98": ["met"] * 49 + ["late"],
        "good100": ["met"],
        "unrated": [""],
    }.items():
        for sla in slas:
            ticket(shops[name], sla)
    dispute(shops["lost"], verdict="liable")
    for _ in range(3):
        penalty(shops["p3"])
    penalty(shops["fair_pen"])

    assert [row.shop_name for row in scorecard(month=NOVEMBER)] == [
        "lost",
        "p3",
        "late",
        "fair_pen",
        "fair85",
        "fair90",
        "good98",
        "good100",
        "unrated",
    ]


def test_penalties_by_kind_in_the_same_row():
    # given penalties of three kinds, one of them waived, and one of another month
    shop = ShopFactory()
    penalty(shop, kind="no_reply")
    penalty(shop, "proposed", kind="no_reply")
    penalty(shop, kind="false_reply")
    penalty(shop, "waived", kind="false_reply")
    penalty(shop, kind="broken_promise")
    penalty(shop, kind="dispute_liable", at=datetime(2026, 10, 31, 23, 59, 59, tzinfo=CN))

    row = row_of(shop)
    by_kind = row.penalties_by_kind
    assert by_kind["no_reply"] == 2
    assert by_kind["false_reply"] == 1  # 乱填, the waived one not counted
    assert by_kind["broken_promise"] == 1
    assert by_kind["dispute_liable"] == 0  # October's
    assert sum(by_kind.values()) == row.penalties == 4
    assert [(kind.value, n) for kind, n in row.penalty_counts] == [
        ("no_reply", 2),
        ("broken_promise", 1),
        ("false_reply", 1),
    ]
    assert row_of(shop, date(2026, 10, 1)).penalties_by_kind["dispute_liable"] == 1


def test_every_penalty_kind_has_its_column_in_the_models_order():
    # the columns come from Penalty.Kind when the query runs: a new kind gets its own
    shop = ShopFactory()
    for kind in Penalty.Kind:
        penalty(shop, kind=kind)
    row = row_of(shop)
    assert list(row.penalties_by_kind) == list(Penalty.Kind.values)
    assert list(row.penalties_by_kind.values()) == [1] * len(Penalty.Kind)
    assert penalty_kinds() == list(Penalty.Kind)
    # a shop without penalties has every kind at 0
    quiet = ShopFactory()
    ticket(quiet)
    assert set(row_of(quiet).penalties_by_kind.values()) == {0}


def test_shop_ids_limit_the_card():
    one, other = ShopFactory(), ShopFactory()
    ticket(one)
    ticket(other)
    assert [row.shop_id for row in scorecard(month=NOVEMBER, shop_ids=[other.pk])] == [other.pk]
    assert scorecard(month=NOVEMBER, shop_ids=[]) == []
    assert len(scorecard(month=NOVEMBER)) == 2


def test_one_query_whatever_the_number_of_shops(django_assert_num_queries):
    for _ in range(5):
        shop = ShopFactory()
        ticket(shop)
        issued(shop, requested_at=MID_NOVEMBER, hours=2)
        penalty(shop)
        dispute(shop, verdict="liable")
    with django_assert_num_queries(1):
        assert len(scorecard(month=NOVEMBER)) == 5


# The admin page.


def arbitrator():
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=ARBITRATOR_GROUP))
    return user


def test_the_admin_page_shows_the_month_for_an_arbitrator(client):
    shop = ShopFactory(name="准时旗舰店")
    ticket(shop, "met")
    client.force_login(arbitrator())

    response = client.get("/admin/scorecard/", {"month": "2026-11"})

    assert response.status_code == 200
    assert response.context["month"] == NOVEMBER
    assert [row.shop_id for row in response.context["page"].object_list] == [shop.pk]
    assert "准时旗舰店" in response.content.decode()


def test_the_admin_page_shows_the_grade_and_penalties_by_kind(client):
    # given a shop that lost a dispute and was penalised for 乱填 twice and 不填 once
    shop = ShopFactory(name="乱填旗舰店")
    ticket(shop, "met")
    dispute(shop, verdict="liable")
    penalty(shop, kind="false_reply")
    penalty(shop, kind="false_reply", at=MID_NOVEMBER + timedelta(hours=1))
    penalty(shop, kind="no_reply")
    client.force_login(arbitrator())

    response = client.get("/admin/scorecard/", {"month": "2026-11"})

    page = response.content.decode()
    assert 'data-grade="attention"' in page
    # one column per kind, headed and filled in Penalty.Kind's order
    for kind in Penalty.Kind:
        assert f'<th scope="col" data-kind="{kind.value}">' in page
    assert '<td data-kind="false_reply">2</td>' in page
    assert '<td data-kind="no_reply">1</td>' in page
    assert '<td data-kind="broken_promise">0</td>' in page
    assert dict((kind.value, n) for kind, n in response.context["kinds"])["false_reply"] == 2
    # the category tiers' words are not the scorecard's
    assert "key watch" not in page and "重点 key" not in page


def test_the_admin_index_links_to_the_scorecard(client):
    client.force_login(arbitrator())
    assert 'href="/admin/scorecard/"' in client.get("/admin/").content.decode()


def test_a_bad_month_is_a_400_that_shows_the_current_one(client):
    client.force_login(arbitrator())
    with time_machine.travel(datetime(2026, 11, 30, 23, 30, tzinfo=CN), tick=False):
        response = client.get("/admin/scorecard/", {"month": "November"})
    assert response.status_code == 400 and "November" in response.text
    assert response.context["month"] == NOVEMBER


@pytest.mark.parametrize(
    "make_user",
    [lambda: UserFactory(is_staff=True), lambda: merchant_of(ShopFactory()), UserFactory],
)
def test_the_admin_page_is_for_arbitrators_only(client, make_user):
    client.force_login(make_user())
    response = client.get("/admin/scorecard/", {"month": "2026-11"})
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get("/admin/scorecard/")
    assert response.status_code == 302


def _page_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/admin/scorecard/", {"month": "2026-11"}).status_code == 200
    return len(queries)


def test_the_admin_page_costs_the_same_queries_for_1_or_60_shops(
    client, django_assert_max_num_queries
):
    client.force_login(arbitrator())
    ticket(ShopFactory(), "met")
    one_shop = _page_queries(client)
    for _ in range(59):
        ticket(ShopFactory(), "late")

    with django_assert_max_num_queries(one_shop):
        response = client.get("/admin/scorecard/", {"month": "2026-11", "page": "2"})
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 60
    assert len(response.context["page"].object_list) == 10
