"""Issue 8, items 1 and 3: no input makes a 500, and free text and promised dates are bounded.

Each case is the attack as it was reported, and what the site answers now: a 4xx with a clear
message in the page's language, and nothing changed.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from core.roles import ARBITRATOR_GROUP
from core.text import visible
from invoices.models import InvoiceRequest
from tests.disputes.factories import DisputeFactory
from tests.factories import InvoiceRequestFactory, OrderFactory, UserFactory, merchant_of
from tickets.services import ticket_urge

pytestmark = pytest.mark.django_db
NINE_MB = "x" * (9 * 1024 * 1024)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# --- 1. a NUL byte, deep JSON, dates past the calendar -----------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/merchant/invoice-requests/", "/api/schema/"])
def test_a_nul_byte_in_basic_auth_is_a_401_not_a_500(client, path):
    for header in ("Basic YQBiOnB3", basic("a\x00b", "pw"), basic("ab", "p\x00w")):  # "a\0b:pw"
        assert client.get(path, HTTP_AUTHORIZATION=header).status_code in (401, 403)


@pytest.mark.parametrize(
    "url",
    [
        "/merchant/requests/?q=%00",
        "/api/schema/?lang=%00",
        "/my/?page=%00",
        "/api/v1/consumer/tickets/?state=%00",
    ],
)
def test_a_nul_byte_in_the_query_is_a_400_in_the_pages_language(client, url):
    client.force_login(UserFactory())
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_a_nul_byte_in_a_form_or_json_body_is_a_400_and_changes_nothing(client):
    r = InvoiceRequestFactory()
    client.force_login(merchant_of(r.shop))
    response = client.post(f"/merchant/requests/{r.pk}/refuse", {"reason": "无法\x00开票"})
    assert response.status_code == 400
    response = client.post(
        f"/api/v1/merchant/invoice-requests/{r.pk}/refuse/",
        json.dumps({"reason": "无法\u0000开票"}),
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json()["code"] == "nul_character"
    r.refresh_from_db()
    assert r.state == "pending"


def test_json_nested_too_deeply_is_a_400(client):
    client.force_login(UserFactory())
    deep = "[" * 100_000 + "]" * 100_000
    response = client.post(
        "/api/v1/consumer/disputes/",
        deep,
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400 and "nested" in response.json()["message"]
    chinese = client.post("/api/v1/consumer/disputes/", deep, content_type="application/json")
    assert "嵌套" in chinese.json()["message"]  # in the page's language


def test_a_promise_on_the_last_day_of_the_calendar_is_a_400_not_an_overflow(client):
    r = InvoiceRequestFactory(requested_at=timezone.now() - timedelta(days=11))
    ticket = ticket_urge(invoice_request=r, by=r.consumer)
    client.force_login(merchant_of(r.shop))
    response = client.post(
        f"/api/v1/merchant/tickets/{ticket.pk}/reply/",
        {"resolution": "date_agreed", "note": "约定", "promised_date": "9999-12-31"},
        content_type="application/json",
    )
    assert response.status_code == 400 and "promised_date" in response.json()["fields"]


def test_a_scorecard_month_past_the_calendar_is_a_400_with_this_month_shown(client):
    arbitrator = UserFactory(is_staff=True)
    arbitrator.groups.add(Group.objects.get(name=ARBITRATOR_GROUP))
    client.force_login(arbitrator)
    for month in ("9999-12", "0000-01", "2026-13", "abc"):
        response = client.get(f"/admin/scorecard/?month={month}")
        assert response.status_code == 400, month
    assert client.get("/admin/scorecard/?month=2026-11").status_code == 200


# --- 3. text and dates without bounds ----------------------------------------------------------


def test_a_promise_is_at_most_30_days_ahead_in_tickets_and_dispute_plans(client, settings):
    settings.JDPOP_PROMISE_MAX_DAYS = 30
    r = InvoiceRequestFactory(requested_at=timezone.now() - timedelta(days=11))
    ticket = ticket_urge(invoice_request=r, by=r.consumer)
    dispute = DisputeFactory(request__order__shop=r.shop)
    client.force_login(merchant_of(r.shop))
    today = timezone.localdate()
    for days, ok in ((30, True), (31, False), (365 * 974, False)):
        date = (today + timedelta(days=days)).isoformat()
        reply = client.post(
            f"/api/v1/merchant/tickets/{ticket.pk}/reply/",
            {"resolution": "date_agreed", "note": "约定", "promised_date": date},
            content_type="application/json",
        )
        assert (reply.status_code == 201) is ok, (days, reply.content)
        if not ok:
            plan = client.post(
                f"/api/v1/merchant/disputes/{dispute.pk}/answer/",
                {"plan": "another_date", "plan_date": date},
                content_type="application/json",
            )
            assert plan.status_code == 400 and "30" in plan.json()["fields"]["plan_date"][0]


def test_free_text_is_bounded_everywhere(client):
    r = InvoiceRequestFactory()
    client.force_login(merchant_of(r.shop))
    response = client.post(
        f"/api/v1/merchant/invoice-requests/{r.pk}/refuse/",
        {"reason": NINE_MB},
        content_type="application/json",
    )
    assert response.status_code in (400, 413)
    r.refresh_from_db()
    assert r.state == "pending"
    response = client.post(
        f"/api/v1/merchant/invoice-requests/{r.pk}/refuse/",
        {"reason": "x" * 2001},
        content_type="application/json",
    )
    assert response.status_code == 400 and "2000" in response.json()["fields"]["reason"][0]


def test_a_title_of_zero_width_spaces_is_no_title(client):
    order = OrderFactory()
    client.force_login(order.consumer)
    response = client.post(
        "/api/v1/consumer/invoice-requests/",
        {
            "order": order.pk,
            "title_type": "person",
            "title": "\u200b\u200b\u200c\ufeff",
            "invoice_kind": "e_ordinary",
            "email": "x@example.com",
        },
        content_type="application/json",
    )
    assert response.status_code == 400 and "title" in response.json()["fields"]
    assert not InvoiceRequest.objects.for_system().filter(order=order).exists()


def test_invisible_characters_are_taken_out_and_line_breaks_kept():
    assert visible("\u200b张三\u200d\u202e ", multiline=False) == "张三"
    assert visible("第一行\r\n第二行\t!", multiline=True) == "第一行\n第二行\t!"


# --- 9. demo logins in production ----------------------------------------------------------------


def test_seed_demo_refuses_to_run_outside_development(settings):
    from django.core.management import CommandError, call_command

    settings.JDPOP_DEVELOPMENT = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG"):
        call_command("seed_demo", "--shops", "1", "--requests", "5", verbosity=0)
    assert not UserFactory._meta.model.objects.filter(username="arbitrator").exists()


def test_told_explicitly_it_prints_a_password_of_its_own_for_each_login(settings):
    from io import StringIO

    from django.contrib.auth import authenticate
    from django.core.management import call_command
    from django.test import RequestFactory

    settings.JDPOP_DEVELOPMENT = False
    out = StringIO()
    call_command("seed_demo", "--shops", "1", "--requests", "5", "--not-development", stdout=out)
    printed = dict(
        line.strip().split(": ", 1) for line in out.getvalue().splitlines() if line.startswith("  ")
    )
    assert set(printed) == {"merchant", "merchant-op", "merchant-viewer", "consumer", "arbitrator"}
    assert len(set(printed.values())) == 5 and "jdpop-demo" not in out.getvalue()
    request = RequestFactory().post("/accounts/login/")
    assert authenticate(request, username="arbitrator", password=printed["arbitrator"])
    assert not authenticate(request, username="arbitrator", password="jdpop-demo")
