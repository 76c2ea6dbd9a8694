"""Issue 8, item 2: no password is guessed. Sixty wrong passwords, then the right one: it no
longer gets in, on the login page, the admin and HTTP Basic alike; failures count per account
and per address. The consumer's urge and the uploads are throttled too."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from core.roles import ARBITRATOR_GROUP
from tests.factories import PDF_BYTES, InvoiceRequestFactory, UserFactory, merchant_of
from tickets.models import UrgeTicket

pytestmark = pytest.mark.django_db
RIGHT, WRONG = "the-right-one", "a-guess"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = 10
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def user(username: str = "merchant", **extra):
    u = UserFactory(username=username, **extra)
    u.set_password(RIGHT)
    u.save()
    return u


def login_page(client, username, password, ip="203.0.113.7"):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def basic(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_sixty_wrong_passwords_then_the_right_one_does_not_get_in_on_the_login_page(client):
    user()
    for _n in range(60):
        assert login_page(client, "merchant", WRONG).status_code in (200, 429)
    response = login_page(client, "merchant", RIGHT)
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    assert "Too many failed logins" in response.text or "登录失败次数过多" in response.text


def test_the_admin_login_is_locked_the_same_way(client):
    arbitrator = user("judge", is_staff=True)
    arbitrator.groups.add(Group.objects.get(name=ARBITRATOR_GROUP))
    for _n in range(60):
        client.post("/admin/login/", {"username": "judge", "password": WRONG})
    response = client.post("/admin/login/", {"username": "judge", "password": RIGHT})
    assert response.status_code == 429 and "_auth_user_id" not in client.session


def test_http_basic_is_locked_the_same_way(client):
    user()
    url = "/api/v1/merchant/invoice-requests/"
    for _n in range(60):
        client.get(url, HTTP_AUTHORIZATION=basic("merchant", WRONG))
    response = client.get(url, HTTP_AUTHORIZATION=basic("merchant", RIGHT))
    assert response.status_code == 429 and response.json()["code"] == "locked_out"


def test_failures_count_per_address_whatever_the_account(client):
    user("victim")
    for n in range(10):
        login_page(client, f"guess{n}", WRONG, ip="198.51.100.1")
    assert login_page(client, "victim", RIGHT, ip="198.51.100.1").status_code == 429
    # another address is not locked out
    assert login_page(client, "victim", RIGHT, ip="198.51.100.2").status_code == 302


def test_failures_count_per_account_whatever_the_address(client):
    user("victim")
    for n in range(10):
        login_page(client, "victim", WRONG, ip=f"198.51.100.{n + 10}")
    assert login_page(client, "victim", RIGHT, ip="198.51.100.99").status_code == 429


def test_the_lockout_ends_after_the_cool_off(client, settings):
    user()
    for _n in range(10):
        login_page(client, "merchant", WRONG)
    assert login_page(client, "merchant", RIGHT).status_code == 429
    import time_machine

    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert login_page(client, "merchant", RIGHT).status_code == 302


def test_the_consumers_urge_is_throttled_on_the_page_and_the_api(client, settings):
    settings.JDPOP_THROTTLE_RATES = {**settings.JDPOP_THROTTLE_RATES, "urge": "3/hour"}
    r = InvoiceRequestFactory(requested_at=timezone.now() - timedelta(days=11))
    client.force_login(r.consumer)
    for _n in range(3):
        assert client.post(f"/my/invoices/{r.pk}/urge").status_code == 302
    page = client.post(f"/my/invoices/{r.pk}/urge")
    api = client.post(f"/api/v1/consumer/invoice-requests/{r.pk}/urge/")
    assert page.status_code == 429 and api.status_code == 429
    assert UrgeTicket.objects.for_system().get().urge_count == 3


def test_uploads_are_throttled(client, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.JDPOP_THROTTLE_RATES = {**settings.JDPOP_THROTTLE_RATES, "upload": "2/hour"}
    shop_request = InvoiceRequestFactory()
    client.force_login(merchant_of(shop_request.shop))
    url = f"/merchant/requests/{shop_request.pk}/issue"
    for _n in range(2):
        client.post(url, {"invoice_number": "x"})  # refused, but counted
    pdf = SimpleUploadedFile("i.pdf", PDF_BYTES, content_type="application/pdf")
    response = client.post(url, {"invoice_number": "1" * 20, "file": pdf})
    assert response.status_code == 429 and response["Retry-After"]
    shop_request.refresh_from_db()
    assert shop_request.state == "pending"


def test_anonymous_api_callers_are_throttled(client, settings):
    settings.JDPOP_THROTTLE_RATES = {**settings.JDPOP_THROTTLE_RATES, "anon": "5/min"}
    codes = [client.get("/api/schema/").status_code for _n in range(6)]
    assert codes[-1] == 429 and 429 not in codes[:5]
