"""API tokens (issue 12, item 3): a user name and password for a token, sent as a bearer token;
only its hash is stored; revoked, it no longer logs in; django-axes locks out as on the login
page; getting tokens is throttled; an arbitrator makes a service account in the admin."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group

from core.models import ApiToken
from core.roles import ARBITRATOR_GROUP, PLATFORM_SERVICE_GROUP
from core.tokens import token_create
from tests.factories import InvoiceRequestFactory, UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/auth/token/"
RIGHT, WRONG = "the-right-one", "a-guess"
MINE = "/api/v1/consumer/invoice-requests/"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


@pytest.fixture
def consumer():
    user = UserFactory(username="buyer")
    user.set_password(RIGHT)
    user.save()
    return user


def get_token(client, username="buyer", password=RIGHT, **extra):
    body = {"username": username, "password": password, "name": "ERP"}
    return client.post(URL, body, content_type="application/json", **extra)


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_a_token_for_a_password_works_until_revoked(client, consumer):
    request = InvoiceRequestFactory(order__consumer=consumer)
    response = get_token(client)
    assert response.status_code == 201, response.json()
    body = response.json()
    token = body["token"]
    assert token.startswith("jdp_") and body["prefix"] == token[:12] and body["name"] == "ERP"
    # only the hash is stored
    row = ApiToken.objects.for_system().get(pk=body["id"])
    assert row.key_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(ApiToken.objects.for_system().values_list())
    # it logs in (no session), and says when it was used
    listed = client.get(MINE, **bearer(token))
    assert listed.status_code == 200 and [r["id"] for r in listed.json()["results"]] == [request.pk]
    assert client.get(MINE, HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    row.refresh_from_db()
    assert row.last_used_at is not None
    # the owner lists it (never the token itself) and revokes it
    tokens = client.get(URL, **bearer(token)).json()["results"]
    assert [t["prefix"] for t in tokens] == [body["prefix"]] and "token" not in tokens[0]
    assert client.delete(f"{URL}{body['id']}/", **bearer(token)).status_code == 204
    refused = client.get(MINE, **bearer(token))
    assert refused.status_code == 401
    assert refused.json()["code"] == "authentication_failed"
    assert refused.json()["fields"] == {}
    assert refused["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_or_unknown_token_is_a_401_and_no_token_is_the_usual_401(client, consumer):
    assert client.get(MINE, **bearer("jdp_nope")).status_code == 401
    assert client.get(MINE, **bearer("not-even-ours")).status_code == 401
    assert client.get(MINE, HTTP_AUTHORIZATION="Bearer").status_code == 401
    anonymous = client.get(MINE)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "not_authenticated"


def test_someone_elses_token_cannot_be_revoked_or_seen(client, consumer):
    theirs, _raw = token_create(user=UserFactory(), name="theirs")
    _mine, raw = token_create(user=consumer, name="mine")
    assert client.delete(f"{URL}{theirs.pk}/", **bearer(raw)).status_code == 404
    assert [t["name"] for t in client.get(URL, **bearer(raw)).json()["results"]] == ["mine"]
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_a_wrong_password_is_a_401_and_an_inactive_user_gets_no_token(client, consumer):
    response = get_token(client, password=WRONG, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    assert response.json() == {
        "code": "invalid_credentials",
        "message": "Invalid username/password.",
        "fields": {},
    }
    consumer.is_active = False
    consumer.save()
    assert get_token(client).status_code == 401
    missing = client.post(URL, {}, content_type="application/json")
    assert missing.status_code == 400 and set(missing.json()["fields"]) == {"username", "password"}


def test_repeated_wrong_passwords_lock_the_account_out(client, consumer):
    for _n in range(5):
        assert get_token(client, password=WRONG).status_code in (401, 429)
    locked = get_token(client)
    assert locked.status_code == 429 and locked.json()["code"] == "locked_out"
    assert not ApiToken.objects.for_system().exists()


def test_getting_tokens_is_throttled(client, consumer, settings):
    settings.JDPOP_THROTTLE_RATES = {**settings.JDPOP_THROTTLE_RATES, "token": "2/min"}
    assert get_token(client).status_code == 201
    assert get_token(client).status_code == 201
    throttled = get_token(client)
    assert throttled.status_code == 429 and throttled.json()["code"] == "throttled"
    assert "Retry-After" in throttled


def test_the_settings_page_lists_the_tokens_and_revokes_one(client, consumer):
    token, _raw = token_create(user=consumer, name="记账软件")
    other, _raw = token_create(user=UserFactory(), name="not mine")
    client.force_login(consumer)
    page = client.get("/inbox/settings/").content.decode()
    assert "记账软件" in page and token.prefix in page and "not mine" not in page
    assert client.post(f"/account/tokens/{other.pk}/revoke").status_code == 404
    assert client.post(f"/account/tokens/{token.pk}/revoke").status_code == 302
    token.refresh_from_db()
    other.refresh_from_db()
    assert token.revoked_at is not None and other.revoked_at is None


def test_an_arbitrator_makes_a_service_account_and_sees_its_token_once(client):
    arbitrator = UserFactory(username="judge", is_staff=True)
    arbitrator.groups.add(Group.objects.get(name=ARBITRATOR_GROUP))
    client.force_login(arbitrator)
    url = "/admin/core/apitoken/service-account/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"username": "jd-order-feed", "name": "order feed"})
    assert response.status_code == 200
    token = response.context["token"]
    assert token.startswith("jdp_") and token in response.content.decode()
    service = ApiToken.objects.for_system().get().user
    assert service.username == "jd-order-feed" and not service.has_usable_password()
    assert service.groups.filter(name=PLATFORM_SERVICE_GROUP).exists()
    # the token logs the service account in; the token list never shows it again
    client.logout()
    assert client.get("/api/v1/auth/token/", **bearer(token)).status_code == 200
    client.force_login(arbitrator)
    assert token not in client.get("/admin/core/apitoken/").content.decode()
    # the same login twice is refused on the form
    again = client.post(url, {"username": "jd-order-feed", "name": "x"})
    assert again.context["token"] is None and again.context["form"].errors


def test_only_arbitrators_make_service_accounts(client):
    client.force_login(UserFactory(is_staff=True))
    response = client.post(
        "/admin/core/apitoken/service-account/", {"username": "sneaky", "name": "x"}
    )
    assert response.status_code == 302
    assert not ApiToken.objects.for_system().exists()
