"""Every route × every role × whose object (spec 9): the table below has an entry for each route
of the URLconf and each operation of the API schema, and a route without one fails the build.

The roles: the owner, an operator and a viewer of shop A; the owner of shop B; consumer X (whose
objects these are) and consumer Y; a platform arbitrator; anonymous. For each entry the test
asks as each role and checks: whoever may see the object gets it; another shop's staff or
another consumer gets a 404, exactly like a missing object; a viewer's write is a 403; anonymous
is sent to log in; and a refused write changes nothing at all.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin import site as admin_site
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, path, resolve, reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from categories.models import Category, CategoryOperator, CategoryShop, MonthPlan
from core.models import ApiToken, HistoryEntry, ShopMembership
from core.roles import ARBITRATOR_GROUP
from core.tokens import token_create
from disputes import services as disputes
from disputes.models import Dispute, Evidence
from invoices import services as invoices
from invoices.models import BulkUpload, InvoiceRequest
from notifications.delivery import drain_outbox
from notifications.models import Notification, WebhookDelivery, WebhookEndpoint
from notifications.webhooks import new_secret
from penalties.models import Penalty
from tests.disputes.factories import DisputeFactory, dispute_in
from tests.factories import (
    PDF_BYTES,
    InvoiceRequestFactory,
    OrderFactory,
    ShopFactory,
    UserFactory,
    merchant_of,
)
from tickets.models import TicketReply, UrgeTicket
from tickets.services import ticket_reply, ticket_urge

OWNER, OPERATOR, VIEWER = "owner_a", "operator_a", "viewer_a"
STAFF_B, X, Y, ARBITRATOR, ANON = "owner_b", "consumer_x", "consumer_y", "arbitrator", "anonymous"
CATEGORY_OP = "category_op"  # operates the category of shop A (类目运营), no shop role
ROLES = [OWNER, OPERATOR, VIEWER, STAFF_B, X, Y, ARBITRATOR, CATEGORY_OP, ANON]
SHOP_A = {OWNER, OPERATOR, VIEWER}
WRITERS_A = {OWNER, OPERATOR}


# --- the world ------------------------------------------------------------------------------


def pdf(name: str = "file.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def bulk_zip() -> SimpleUploadedFile:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("300000000001.pdf", PDF_BYTES)
    return SimpleUploadedFile("invoices.zip", out.getvalue(), content_type="application/zip")


@dataclass
class World:
    users: dict[str, Any]
    objects: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.objects[name]
        except KeyError:
            raise AttributeError(name) from None


def build_world() -> World:
    """Shop A's objects, all of consumer X; shop B and consumer Y have their own."""
    now = timezone.now()
    shop_a = ShopFactory(new_flow_since=now - timedelta(days=365))
    shop_b = ShopFactory(new_flow_since=now - timedelta(days=365))
    arbitrator = UserFactory(username="arbitrator", is_staff=True)
    arbitrator.groups.add(Group.objects.get(name=ARBITRATOR_GROUP))
    users = {
        OWNER: merchant_of(shop_a, user__username="owner_a"),
        OPERATOR: merchant_of(shop_a, ShopMembership.Role.OPERATOR, user__username="operator_a"),
        VIEWER: merchant_of(shop_a, ShopMembership.Role.VIEWER, user__username="viewer_a"),
        STAFF_B: merchant_of(shop_b, user__username="owner_b"),
        X: UserFactory(username="consumer_x"),
        Y: UserFactory(username="consumer_y"),
        ARBITRATOR: arbitrator,
        CATEGORY_OP: UserFactory(username="category_op"),
    }
    x, owner = users[X], users[OWNER]
    w = World(users)
    w.objects["shop"] = shop_a
    # shop A's category, run by the category operator
    category = Category.objects.create(code="T1", name="测试类目")
    CategoryShop.objects.create(category=category, shop=shop_a)
    CategoryOperator.objects.create(category=category, user=users[CATEGORY_OP])
    w.objects["category"] = category
    # two overdue requests with urge tickets: one awaiting the reply, one answered with an
    # attachment
    overdue, answered = (
        InvoiceRequestFactory(
            order__shop=shop_a, order__consumer=x, requested_at=now - timedelta(days=11)
        )
        for _ in range(2)
    )
    w.objects.update(pending=overdue, ticket=ticket_urge(invoice_request=overdue, by=x))
    w.objects["reply"] = ticket_reply(
        ticket=ticket_urge(invoice_request=answered, by=x),
        by=owner,
        resolution="cannot_issue",
        note="赠品",
        attachment=pdf(),
    )
    # an issued request (its invoice downloads), and a completed order without a request
    issued = InvoiceRequestFactory(order__shop=shop_a, order__consumer=x)
    invoices.invoice_request_issue(
        invoice_request=issued, by=owner, file=pdf(), invoice_number="1" * 20
    )
    w.objects["issued"] = issued
    w.objects["order"] = OrderFactory(shop=shop_a, consumer=x)
    # a bulk upload of shop A (its report lists the files; the archive is not read by pages)
    w.objects["bulk"] = BulkUpload.objects.create(
        shop=shop_a, by=owner, archive="bulk/a.zip", name="fapiao-pici.zip", total=1
    )
    # a refused request with a dispute awaiting the merchant, each side with a draft
    dispute = DisputeFactory(request__order__shop=shop_a, request__order__consumer=x)
    w.objects.update(
        dispute=dispute,
        refused=dispute.request,
        merchant_draft=disputes.dispute_evidence_add(dispute=dispute, by=owner, text="聊天"),
        consumer_draft=disputes.dispute_evidence_add(dispute=dispute, by=x, text="截图"),
    )
    # a dispute awaiting the consumer, and one whose merchant evidence (a file) is submitted
    w.objects["settling"] = dispute_in(
        "awaiting_consumer", request__order__shop=shop_a, request__order__consumer=x
    )
    # a settled dispute whose agreed issue date passed without an invoice (reopenable)
    w.objects["broken"] = dispute_in(
        "closed",
        outcome="settled",
        plan="another_date",
        plan_date=(now - timedelta(days=2)).date(),
        promise_due_at=now - timedelta(days=1),
        promise_state="broken",
        promise_broken_at=now - timedelta(hours=23),
        request__order__shop=shop_a,
        request__order__consumer=x,
    )
    judged = DisputeFactory(request__order__shop=shop_a, request__order__consumer=x)
    w.objects["evidence_file"] = disputes.dispute_evidence_add(
        dispute=judged, by=owner, text="发票截图", file=pdf()
    )
    disputes.dispute_evidence_submit(dispute=judged, by=owner)
    # consumer X's API token (its prefix shows in X's list of tokens)
    w.objects["token"] = token_create(user=x, name="cli")[0]
    # shop B's and consumer Y's own request, so no list is empty for them
    InvoiceRequestFactory(order__shop=shop_b, order__consumer=users[Y])
    # shop A's webhook endpoint; the events so far delivered: inbox rows and deliveries
    endpoint = WebhookEndpoint.objects.create(
        shop=shop_a, url="https://hooks.example.com/jdpop", secret=new_secret()
    )
    drain_outbox(now=now)
    delivery = WebhookDelivery.objects.for_system().filter(endpoint=endpoint).first()
    WebhookDelivery.objects.for_system().filter(pk=delivery.pk).update(state="delivered")
    w.objects.update(
        endpoint=endpoint,
        delivery=delivery,
        owner_note=Notification.objects.for_system().filter(user=owner).first(),
    )
    return w


def snapshot() -> tuple:
    """Everything a refused write could have changed."""
    tables = [
        (InvoiceRequest, ("state", "invoice_number", "refuse_reason")),
        (BulkUpload, ("state", "done")),
        (UrgeTicket, ("state", "urge_count", "resolution", "promise_state")),
        (TicketReply, ("resolution", "note")),
        (Dispute, ("state", "plan", "consumer_note")),
        (Evidence, ("text", "submitted_at")),
        (ShopMembership, ("user_id", "role")),
        (HistoryEntry, ("action",)),
        (Penalty, ("state",)),
        (Notification, ("read_at",)),
        (WebhookEndpoint, ("enabled", "secret", "url")),
        (WebhookDelivery, ("state", "next_attempt_at")),
        (ApiToken, ("revoked_at",)),
        (MonthPlan, ("growth",)),
    ]
    return tuple(
        tuple(model._base_manager.order_by("pk").values_list("pk", *fields))
        for model, fields in tables
    )


# --- the table ------------------------------------------------------------------------------

Kwargs = Callable[[World], dict]
NONE: Kwargs = lambda w: {}  # noqa: E731


@dataclass(frozen=True)
class Route:
    """One route: how to call it, and who may.

    `kind`: "read" (GET an object: `allowed` get 200, other users 404), "write" (POST to an
    object: `allowed` succeed, `readers` get 403, other users 404, and nothing changes for them),
    "list" (GET a list: every user 200, `allowed` see the object `shows`), "auth" (any user
    who logged in), "open" (anyone), "service" (the platform's service accounts alone: every
    role here gets a 403 and changes nothing; `tests/invoices/test_feed.py` calls it as one).
    """

    name: str
    kind: str
    allowed: frozenset[str]
    kwargs: Kwargs = NONE
    data: Callable[[World], dict] = lambda w: {}
    readers: frozenset[str] = frozenset()
    shows: Callable[[World], str] | None = None
    api: bool = False
    method: str = "get"


def read(name, allowed, kwargs, *, api=False):
    return Route(name, "read", frozenset(allowed), kwargs, api=api)


def write(name, allowed, kwargs, *, data=lambda w: {}, readers=(), api=False, method="post"):
    return Route(
        name, "write", frozenset(allowed), kwargs, data, frozenset(readers), api=api, method=method
    )


def listing(name, allowed, shows, *, api=False):
    return Route(name, "list", frozenset(allowed), shows=shows, api=api)


def pk(obj: str) -> Kwargs:
    return lambda w: {"pk": w.objects[obj].pk}


ORDER_NUMBER = lambda w: w.pending.order.number  # noqa: E731
DISPUTE_ORDER = lambda w: w.dispute.request.order.number  # noqa: E731
X_AND_A = SHOP_A | {X}
ENDPOINT = lambda w: {"pk": w.shop.pk, "endpoint_pk": w.endpoint.pk}  # noqa: E731
# an exchange (换开) of the issued invoice: why, and the corrected details
EXCHANGE = {
    "exchange_reason": "wrong_title",
    "title_type": "person",
    "title": "李四",
    "invoice_kind": "e_ordinary",
    "email": "x@example.com",
}

PAGES = [
    Route("home", "auth", frozenset()),
    # the dashboard shows shop A's ticket awaiting its reply (the switcher: tests/test_dashboard.py)
    listing("merchant-dashboard", SHOP_A, ORDER_NUMBER),
    listing("merchant-requests", SHOP_A, ORDER_NUMBER),
    read("merchant-request", SHOP_A, pk("pending")),
    write(
        "merchant-issue",
        WRITERS_A,
        pk("pending"),
        data=lambda w: {"invoice_number": "2" * 20, "file": pdf()},
        readers={VIEWER},
    ),
    write(
        "merchant-refuse",
        WRITERS_A,
        pk("pending"),
        data=lambda w: {"reason": "无法开具"},
        readers={VIEWER},
    ),
    read("invoice-download", X_AND_A, pk("issued")),
    listing("merchant-bulk", SHOP_A, lambda w: w.bulk.name),
    write(
        "merchant-bulk",
        WRITERS_A,
        NONE,
        data=lambda w: {"shop": w.shop.pk, "files": bulk_zip()},
        readers={VIEWER},
    ),
    read("merchant-bulk-detail", SHOP_A, pk("bulk")),
    read("merchant-bulk-progress", SHOP_A, pk("bulk")),
    listing("my-invoices", {X}, ORDER_NUMBER),
    read("my-request-new", {X}, lambda w: {"order_pk": w.order.pk}),
    read("my-invoice", {X}, pk("pending")),
    write("my-invoice-cancel", {X}, pk("pending")),
    read("my-invoice-exchange", {X}, pk("issued")),
    write("my-invoice-exchange", {X}, pk("issued"), data=lambda w: EXCHANGE),
    write("my-invoice-urge", {X}, pk("pending")),
    read("my-ticket", {X}, pk("ticket")),
    listing("ticket-workbench", SHOP_A, ORDER_NUMBER),
    read("merchant-ticket", SHOP_A, pk("ticket")),
    write(
        "merchant-ticket-reply",
        WRITERS_A,
        pk("ticket"),
        data=lambda w: {"resolution": "cannot_issue", "note": "已协商", "confirm": "on"},
        readers={VIEWER},
    ),
    read("ticket-reply-attachment", X_AND_A, pk("reply")),
    listing("my-disputes", {X}, DISPUTE_ORDER),
    read("my-dispute", {X}, pk("dispute")),
    read("my-dispute-open", {X}, pk("refused")),
    write("my-dispute-accept", {X}, pk("settling")),
    write("my-dispute-reject", {X}, pk("settling"), data=lambda w: {"note": "不同意"}),
    write("my-dispute-withdraw", {X}, pk("dispute")),
    write("my-dispute-reopen", {X}, pk("broken")),
    write("my-evidence-add", {X}, pk("dispute"), data=lambda w: {"text": "补充"}),
    write(
        "my-evidence-remove",
        {X},
        lambda w: {"pk": w.dispute.pk, "evidence_pk": w.consumer_draft.pk},
    ),
    write("my-evidence-submit", {X}, pk("dispute")),
    listing("merchant-disputes", SHOP_A, DISPUTE_ORDER),
    read("merchant-dispute", SHOP_A, pk("dispute")),
    write(
        "merchant-dispute-answer",
        WRITERS_A,
        pk("dispute"),
        data=lambda w: {"plan": "cannot_issue", "note": "无法开票", "confirm": "on"},
        readers={VIEWER},
    ),
    write(
        "merchant-evidence-add",
        WRITERS_A,
        pk("dispute"),
        data=lambda w: {"text": "补充"},
        readers={VIEWER},
    ),
    write(
        "merchant-evidence-remove",
        WRITERS_A,
        lambda w: {"pk": w.dispute.pk, "evidence_pk": w.merchant_draft.pk},
        readers={VIEWER},
    ),
    write("merchant-evidence-submit", WRITERS_A, pk("dispute"), readers={VIEWER}),
    read("dispute-evidence-file", X_AND_A, pk("evidence_file")),
    listing("my-shops", SHOP_A, lambda w: w.shop.jd_shop_id),
    read("shop-staff", SHOP_A, pk("shop")),
    write(
        "shop-staff",
        {OWNER},
        pk("shop"),
        data=lambda w: {"username": "consumer_y", "role": "viewer"},
        readers={OPERATOR, VIEWER},
    ),
    write(
        "shop-staff-remove",
        {OWNER},
        lambda w: {"pk": w.shop.pk, "user_pk": w.users[VIEWER].pk},
        readers={OPERATOR, VIEWER},
    ),
    # the inbox: each person's own; a shop's webhooks: its owners only (a 404 for the rest)
    listing("inbox", X_AND_A, ORDER_NUMBER),
    write("inbox-open", {OWNER}, pk("owner_note")),
    Route("inbox-read-all", "auth", frozenset(), method="post"),
    Route("notification-settings", "auth", frozenset()),
    Route(
        "notification-settings",
        "auth",
        frozenset(),
        data=lambda w: {"language": "en", "email_kinds": []},
        method="post",
    ),
    read("webhooks", {OWNER}, pk("shop")),
    write(
        "webhooks",
        {OWNER},
        pk("shop"),
        data=lambda w: {"url": "https://hooks.example.com/second", "description": "ERP"},
    ),
    write("api-token-revoke", {X}, pk("token")),
    read("webhook-detail", {OWNER}, ENDPOINT),
    write("webhook-rotate", {OWNER}, ENDPOINT),
    write("webhook-disable", {OWNER}, ENDPOINT),
    write("webhook-enable", {OWNER}, ENDPOINT),
    write("webhook-delete", {OWNER}, ENDPOINT),
    write("webhook-resend", {OWNER}, lambda w: {**ENDPOINT(w), "delivery_pk": w.delivery.pk}),
    # category operations: the category's operator only (another category: tests/categories/)
    listing("category-list", {CATEGORY_OP}, lambda w: w.category.name),
    read("category-detail", {CATEGORY_OP}, pk("category")),
    write("category-plan", {CATEGORY_OP}, pk("category"), data=lambda w: {"growth_percent": "5"}),
    read("category-export", {CATEGORY_OP}, lambda w: {"pk": w.category.pk, "fmt": "csv"}),
    read("category-shop", {CATEGORY_OP}, lambda w: {"pk": w.category.pk, "shop_pk": w.shop.pk}),
]

API = [
    Route("api-root", "auth", frozenset(), api=True),
    listing("merchant-invoice-request-list", SHOP_A, ORDER_NUMBER, api=True),
    read("merchant-invoice-request-detail", SHOP_A, pk("pending"), api=True),
    read("merchant-invoice-request-history", SHOP_A, pk("pending"), api=True),
    write(
        "merchant-invoice-request-issue",
        WRITERS_A,
        pk("pending"),
        data=lambda w: {"invoice_number": "2" * 20, "file": pdf()},
        readers={VIEWER},
        api=True,
    ),
    write(
        "merchant-invoice-request-refuse",
        WRITERS_A,
        pk("pending"),
        data=lambda w: {"reason": "无法开具"},
        readers={VIEWER},
        api=True,
    ),
    listing("consumer-invoice-request-list", {X}, ORDER_NUMBER, api=True),
    write(
        "consumer-invoice-request-list",
        {X},
        NONE,
        data=lambda w: {
            "order": w.order.pk,
            "title_type": "person",
            "title": "张三",
            "invoice_kind": "e_ordinary",
            "email": "x@example.com",
        },
        api=True,
    ),
    read("consumer-invoice-request-detail", {X}, pk("pending"), api=True),
    read("consumer-invoice-request-history", {X}, pk("pending"), api=True),
    write("consumer-invoice-request-cancel", {X}, pk("pending"), api=True),
    write(
        "consumer-invoice-request-exchange", {X}, pk("issued"), data=lambda w: EXCHANGE, api=True
    ),
    write("consumer-urge-urge", {X}, pk("pending"), api=True),
    listing("merchant-urge-ticket-list", SHOP_A, ORDER_NUMBER, api=True),
    read("merchant-urge-ticket-detail", SHOP_A, pk("ticket"), api=True),
    write(
        "merchant-urge-ticket-reply",
        WRITERS_A,
        pk("ticket"),
        data=lambda w: {"resolution": "cannot_issue", "note": "已协商"},
        readers={VIEWER},
        api=True,
    ),
    Route("merchant-urge-ticket-requirements", "auth", frozenset(), api=True),
    listing("consumer-urge-ticket-list", {X}, ORDER_NUMBER, api=True),
    read("consumer-urge-ticket-detail", {X}, pk("ticket"), api=True),
    listing("api-consumer-dispute-list", {X}, DISPUTE_ORDER, api=True),
    write(
        "api-consumer-dispute-list",
        {X},
        NONE,
        data=lambda w: {"request": w.refused.pk, "kind": "urge", "complaint": "没有回复"},
        api=True,
    ),
    read("api-consumer-dispute-detail", {X}, pk("dispute"), api=True),
    write("api-consumer-dispute-accept", {X}, pk("settling"), api=True),
    write("api-consumer-dispute-reopen", {X}, pk("broken"), api=True),
    write(
        "api-consumer-dispute-reject",
        {X},
        pk("settling"),
        data=lambda w: {"note": "不同意"},
        api=True,
    ),  # fmt: skip
    listing("api-merchant-dispute-list", SHOP_A, DISPUTE_ORDER, api=True),
    read("api-merchant-dispute-detail", SHOP_A, pk("dispute"), api=True),
    write(
        "api-merchant-dispute-answer",
        WRITERS_A,
        pk("dispute"),
        data=lambda w: {"plan": "cannot_issue", "note": "无法开票"},
        readers={VIEWER},
        api=True,
    ),
    Route("api-merchant-dispute-plans", "auth", frozenset(), api=True),
    # dispute evidence (drafts, remove, submit) on both sides, and the consumer's withdrawal
    read("api-consumer-dispute-evidence", {X}, pk("dispute"), api=True),
    write(
        "api-consumer-dispute-evidence",
        {X},
        pk("dispute"),
        data=lambda w: {"text": "补充"},
        api=True,
    ),
    write(
        "api-consumer-dispute-evidence-remove",
        {X},
        lambda w: {"pk": w.dispute.pk, "evidence_pk": w.consumer_draft.pk},
        api=True,
        method="delete",
    ),
    write("api-consumer-dispute-submit-evidence", {X}, pk("dispute"), api=True),
    write("api-consumer-dispute-withdraw", {X}, pk("dispute"), api=True),
    read("api-merchant-dispute-evidence", SHOP_A, pk("dispute"), api=True),
    write(
        "api-merchant-dispute-evidence",
        WRITERS_A,
        pk("dispute"),
        data=lambda w: {"text": "补充"},
        readers={VIEWER},
        api=True,
    ),
    write(
        "api-merchant-dispute-evidence-remove",
        WRITERS_A,
        lambda w: {"pk": w.dispute.pk, "evidence_pk": w.merchant_draft.pk},
        readers={VIEWER},
        api=True,
        method="delete",
    ),
    write(
        "api-merchant-dispute-submit-evidence", WRITERS_A, pk("dispute"), readers={VIEWER}, api=True
    ),
    # a shop's scorecard: its staff and arbitrators
    read("api-shop-scorecard", SHOP_A | {ARBITRATOR}, pk("shop"), api=True),
    # API tokens: each person's own (getting one, POST auth/token/, is open: see OPEN)
    listing("api-token-list", {X}, lambda w: w.token.prefix, api=True),
    write("api-token-detail", {X}, pk("token"), api=True, method="delete"),
    listing("notification-list", X_AND_A, ORDER_NUMBER, api=True),
    read("notification-detail", {OWNER}, pk("owner_note"), api=True),
    write("notification-read", {OWNER}, pk("owner_note"), api=True),
    Route("notification-read-all", "auth", frozenset(), api=True, method="post"),
    Route("notification-unread-count", "auth", frozenset(), api=True),
    # the platform's order feed: its service accounts only
    Route("platform-order-list", "service", frozenset(), api=True, method="post"),
]

# Routes anyone may call (what they answer does not depend on whose object it is).
OPEN = {
    "healthz": "get",
    "login": "get",
    "logout": "post",
    "set_language": "post",
    "api-schema": "get",
    "api-docs": "get",
    "api-token-list": "post",  # a user name and password for a token (tests/api/test_tokens.py)
}
TABLE = PAGES + API
CASES = [(route, role) for route in TABLE for role in ROLES]


def login_url(path: str) -> str:
    return f"{reverse('login')}?next={path}"


# --- the URLconf and the schema have no route without an entry -------------------------------


def _walk(patterns, prefix="") -> list[tuple[str, str | None]]:
    found = []
    for p in patterns:
        if isinstance(p, URLResolver):
            found += _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            found.append((prefix + str(p.pattern), p.name))
    return found


def routes_without_an_entry(urlconf: str | None = None) -> list[str]:
    covered = {r.name for r in TABLE} | set(OPEN)
    return sorted(
        {
            f"{pattern} ({name})"
            for pattern, name in _walk(get_resolver(urlconf).url_patterns)
            if not pattern.startswith("admin/") and name not in covered
        }
    )


def test_every_route_of_the_urlconf_has_an_entry():
    missing = routes_without_an_entry()
    assert not missing, f"routes without an entry in tests/test_routes.py: {missing}"


# A URLconf with one route more than the site's, for the test below.
urlpatterns = [
    *get_resolver().url_patterns,
    path("merchant/secret/<int:pk>/", lambda request, pk: None, name="merchant-secret"),
]


def test_a_route_added_without_an_entry_is_caught():
    assert routes_without_an_entry(__name__) == ["merchant/secret/<int:pk>/ (merchant-secret)"]


def test_every_operation_of_the_api_schema_has_an_entry():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    covered = {(r.name, r.method) for r in API}
    missing = []
    for api_path, operations in schema["paths"].items():
        name = resolve(re.sub(r"\{[a-z_]+\}", "1", api_path)).url_name
        for method in operations:
            if (name, method) not in covered and name not in OPEN:
                missing.append(f"{method.upper()} {api_path} ({name})")
    assert not missing, f"API operations without an entry: {missing}"


# --- each entry, for each role -----------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("route", "role"), CASES, ids=[f"{r.name}-{r.method}-{x}" for r, x in CASES]
)
def test_route_for_role(client, route: Route, role: str):
    w = build_world()
    if role != ANON:
        client.force_login(w.users[role])
    url = reverse(route.name, kwargs=route.kwargs(w))
    before = snapshot()
    if route.method == "post":
        data = route.data(w)
        as_json = route.api and not any(hasattr(v, "read") for v in data.values())
        response = client.post(
            url, data, **({"content_type": "application/json"} if as_json else {})
        )
    elif route.method == "delete":
        response = client.delete(url)
    else:
        response = client.get(url)
    code = response.status_code
    assert code < 500, response.content[:500]

    if role == ANON and route.kind != "open":
        if route.api:
            assert code in (401, 403)
        else:
            assert code == 302 and response["Location"] == login_url(url)
    elif route.kind in ("open", "auth"):
        assert code in (200, 302)
        if route.method == "post":
            return  # a person's action on their own things (their inbox, their settings)
    elif route.kind == "list":
        assert code == 200
        assert (route.shows(w) in response.content.decode()) == (role in route.allowed)
    elif role in route.allowed:
        assert code not in (403, 404), f"{role} was refused: {code}"
        if route.kind == "read":
            assert code == 200
        return  # an allowed write may change things
    elif route.kind == "write" and role in route.readers:
        assert code == 403
    elif route.kind == "service":
        assert code == 403
    else:
        assert code == 404
    assert snapshot() == before, f"{role}'s refused {route.method.upper()} changed something"


# --- the admin: arbitrators only -------------------------------------------------------------


def admin_urls(w: World) -> list[str]:
    """Every list, change and history page of every model in the admin, and its own pages."""
    urls = [reverse("admin:index"), reverse("admin:scorecard")]
    samples = {
        "shop": w.shop,
        "invoicerequest": w.pending,
        "order": w.order,
        "urgeticket": w.ticket,
        "dispute": w.dispute,
    }
    for model in admin_site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        urls.append(reverse("admin:{}_{}_changelist".format(*info)))
        obj = samples.get(model._meta.model_name) or model._base_manager.order_by("pk").first()
        if obj is not None:
            urls.append(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
            urls.append(reverse("admin:{}_{}_history".format(*info), args=[obj.pk]))
    urls.append(reverse("admin:disputes_dispute_judge", args=[w.dispute.pk]))
    urls.append(reverse("admin:invoices_shop_rollout"))
    return urls


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_the_admin_is_the_arbitrators_alone(client, role):
    w = build_world()
    if role != ANON:
        client.force_login(w.users[role])
    for url in admin_urls(w):
        response = client.get(url)
        if role == ARBITRATOR:
            assert response.status_code in (200, 403), (url, response.status_code)
        else:
            assert response.status_code == 302, url
            assert response["Location"].startswith(reverse("admin:login")), url
