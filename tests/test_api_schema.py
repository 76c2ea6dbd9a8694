"""Schemathesis against the live API schema, for every role (spec 9, issue 8): whatever it
sends, the API answers without a server error, with a status the schema documents, in the
content type and the shape the schema says. PostgreSQL only (CI's second pass): the 500s it
hunts (a NUL byte, an unscoped lookup) are PostgreSQL's.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as examples

from core.roles import platform_service_group
from core.tokens import token_create
from tests.factories import UserFactory
from tests.test_routes import ANON, ARBITRATOR, OWNER, STAFF_B, VIEWER, X, Y, build_world

SERVICE = "platform service account"
ROLES = [OWNER, VIEWER, STAFF_B, X, Y, ARBITRATOR, ANON, SERVICE]
# The service account's tokens open the platform's routes alone; elsewhere it is a user with
# no shop and no order, which the other roles already cover.
SERVICE_PATHS = ("/api/v1/platform/", "/api/v1/auth/")
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
PASSWORD = "schemathesis-pw"

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def wsgi_app() -> Iterator:
    """The site as a WSGI app in this test's transaction (as Django's own test client does it:
    the connection is not closed at the end of each request)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def credentials() -> dict[str, dict[str, str]]:
    """Every role's Basic auth header, on a world of shop A and consumer X's objects."""
    world = build_world()
    headers = {}
    for role, user in world.users.items():
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        token = base64.b64encode(f"{user.username}:{PASSWORD}".encode()).decode()
        headers[role] = {"Authorization": f"Basic {token}"}
    headers[ANON] = {}
    service = UserFactory(username="feed-bot")
    service.groups.add(platform_service_group())
    headers[SERVICE] = {
        "Authorization": f"Bearer {token_create(user=service, name='schemathesis')[1]}"
    }
    return headers


@pytest.mark.parametrize("role", ROLES)
def test_the_api_keeps_its_schema(role, credentials, wsgi_app, settings):
    # Throttling has its own tests; here every example should reach the API itself.
    settings.JDPOP_THROTTLE_RATES = {scope: "100000/min" for scope in settings.JDPOP_THROTTLE_RATES}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if role == SERVICE and not operation.path.startswith(SERVICE_PATHS):
            continue

        @given(case=operation.as_strategy())
        @examples(
            max_examples=12,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def probe(case) -> None:
            case.call_and_validate(headers=credentials[role], checks=CHECKS)

        try:
            probe()
        except (Exception, BaseExceptionGroup) as e:  # report every operation's failures
            failures.append(f"{operation.label}: {e}"[:1500])
    assert not failures, "\n\n".join(failures)
