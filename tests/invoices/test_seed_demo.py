"""`manage.py seed_demo`: demo logins, realistic and deterministic data that keeps every rule."""

from __future__ import annotations

import io
import random
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.utils import timezone

from core.models import HistoryEntry, Shop, ShopMembership
from core.roles import ARBITRATOR_GROUP
from core.uploads import detect_upload
from demo import cases, people, words
from demo import seed as demo_seed
from invoices.models import InvoiceRequest, Order
from invoices.overdue import overdue_at_for
from invoices.validators import validate_invoice_number, validate_tax_id

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 14, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
User = get_user_model()


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--shops", "2", "--requests", "40", *args, stdout=out, verbosity=0)
    return out.getvalue()


def generated(seed: int = 1, requests: int = 40, shops: int = 2) -> list[dict]:
    shop_plan = people.shop_rows(seed=seed, shops=shops, now=NOW)
    return list(
        cases.iter_cases(
            seed=seed, shops=shop_plan, consumers=requests // 5, requests=requests, now=NOW
        )
    )


def test_the_demo_logins_exist_with_their_roles():
    out = seed()
    assert "40 invoice requests" in out
    for username in words.DEMO_LOGINS:
        login = RequestFactory().post("/accounts/login/")  # the lockout needs a request
        assert authenticate(login, username=username, password="jdpop-demo"), username
    merchant = User.objects.get(username="merchant")
    shop = ShopMembership.objects.for_system().get(user=merchant, role="owner").shop
    roles = dict(shop.memberships.values_list("user__username", "role"))
    assert roles == {"merchant": "owner", "merchant-op": "operator", "merchant-viewer": "viewer"}
    arbitrator = User.objects.get(username="arbitrator")
    assert arbitrator.is_staff and not arbitrator.is_superuser
    assert arbitrator.groups.filter(name=ARBITRATOR_GROUP).exists()
    assert not User.objects.filter(is_superuser=True).exists()
    # Only the demo logins can log in; the bulk consumers cannot.
    assert not User.objects.get(username="c000001").has_usable_password()


def test_the_data_keeps_every_rule():
    seed()
    requests = InvoiceRequest.objects.for_system().select_related("shop", "order")
    assert requests.count() == 40
    assert set(requests.values_list("state", flat=True)) == set(InvoiceRequest.State.values)
    shops = list(Shop.objects.for_system().all())
    assert len(shops) == 2 and sum(s.new_flow_since is None for s in shops) == 1
    assert all(len(s.jd_shop_id) == 8 and s.jd_shop_id.isdigit() for s in shops)
    for r in requests:
        assert r.order.is_completed and r.order.completed_at < r.requested_at
        assert r.overdue_at == overdue_at_for(
            requested_at=r.requested_at,
            flow_since=r.shop.new_flow_since,
            completed_at=r.order.completed_at,
        )
        if r.title_type == "organisation":
            assert validate_tax_id(r.tax_id).kind == "uscc"
        if r.invoice_kind in InvoiceRequest.ELECTRONIC_KINDS:
            assert r.email
        if r.invoice_kind == "vat_special":
            assert r.title_type == "organisation" and r.registered_address and r.bank_account
        if r.state == "issued":
            validate_invoice_number(r.invoice_code, r.invoice_number)
            assert r.invoice_content_type == "application/pdf"
            with default_storage.open(r.invoice_file.name) as f:
                assert detect_upload(ContentFile(f.read())).extension == "pdf"
        if r.kind == "reissue":
            assert r.reissue_of.order_id == r.order_id and r.reissue_of.state == "refused"
        history = list(r.history.filter(subject="request"))  # tickets have their own
        assert history[0].action in ("requested", "reissue_requested")
        assert history[0].at == r.requested_at and history[0].actor_id == r.consumer_id
        if r.state == "pending":
            assert len(history) == 1
        else:
            assert len(history) == 2 and history[1].action == r.state
            assert (history[1].state_from, history[1].state_to) == ("pending", r.state)
            assert history[1].at == getattr(r, f"{r.state}_at")
    assert set(HistoryEntry.objects.for_system().values_list("subject", flat=True)) == {
        "request",
        "ticket",
        "dispute",
    }
    assert Order.objects.for_system().exclude(state="completed").exists()
    # One issued file, shared.
    files = set(requests.filter(state="issued").values_list("invoice_file", flat=True))
    assert len(files) == 1


def test_the_demo_consumer_has_overdue_requests_and_orders_to_request_on():
    seed()
    consumer = User.objects.get(username="consumer")
    mine = InvoiceRequest.objects.for_consumer(consumer)
    assert mine.overdue(timezone.now()).count() >= 3
    assert set(mine.values_list("state", flat=True)) == set(InvoiceRequest.State.values)
    assert mine.filter(kind="reissue").exists()
    requestable = Order.objects.for_system().filter(
        consumer=consumer, state="completed", invoice_requests__isnull=True
    )
    assert requestable.count() >= 2


def test_if_empty_does_nothing_the_second_time():
    seed("--if-empty")
    counts = [m._base_manager.count() for m in (User, Shop, Order, InvoiceRequest, HistoryEntry)]
    assert "nothing to do" in seed("--if-empty")
    assert [
        m._base_manager.count() for m in (User, Shop, Order, InvoiceRequest, HistoryEntry)
    ] == counts
    with pytest.raises(CommandError, match="already exist"):
        seed()


def test_generation_is_deterministic_per_seed():
    first, again, other = generated(1), generated(1), generated(2)
    assert first == again
    assert first != other
    assert people.shop_rows(seed=1, shops=5, now=NOW) == people.shop_rows(seed=1, shops=5, now=NOW)
    assert people.shop_rows(seed=1, shops=5, now=NOW) != people.shop_rows(seed=2, shops=5, now=NOW)


def test_the_loaded_rows_are_the_generated_ones_whatever_the_batch_size():
    demo_seed.seed_demo(seed=3, shops=2, requests=40, batch_size=7, now=NOW, progress=False)
    cases = generated(seed=3)
    assert sorted(Order.objects.for_system().values_list("number", flat=True)) == sorted(
        c["order"]["number"] for c in cases
    )
    assert sorted(
        InvoiceRequest.objects.for_system().values_list("title", "state", "tax_id")
    ) == sorted((r["title"], r["state"], r["tax_id"]) for c in cases for r in c["requests"])
    # Ids were chosen by the loader: the database's own sequences carry on after them.
    user = User.objects.create(username="after-the-seed")
    assert user.pk > User.objects.exclude(pk=user.pk).order_by("-pk")[0].pk


def test_generated_tax_ids_and_names_look_real():
    cases = generated(requests=2000, shops=5)
    requests = [r for c in cases for r in c["requests"]]
    assert sum(len(c["requests"]) for c in cases) == 2000
    orgs = [r for r in requests if r["title_type"] == "organisation"]
    assert len(orgs) > 500
    for r in orgs:
        assert len(r["tax_id"]) == 18
        assert validate_tax_id(r["tax_id"]).kind == "uscc"
        assert r["title"].endswith(("公司", "医院", "中学", "图书馆", "中心", "学院", "合作社"))
    numbers = [c["order"]["number"] for c in cases]
    assert len(set(numbers)) == len(numbers) and all(len(n) == 12 for n in numbers)
    states = Counter(r["state"] for r in requests)
    assert set(states) == set(InvoiceRequest.State.values)
    assert 0.45 < states["pending"] / 2000 < 0.65 and 0.2 < states["issued"] / 2000 < 0.4
    names = {s["name"] for s in people.shop_rows(seed=1, shops=50, now=NOW)}
    assert len(names) == 50
    assert all(n.endswith(("官方旗舰店", "专营店", "自营店")) for n in names)


def test_uscc_codes_are_valid_for_every_authority():
    rng = random.Random(7)
    for authority in ("91", "12", "93", "N2", "Y1"):
        for _ in range(50):
            code = people.uscc(rng, authority=authority, division="620105")
            assert validate_tax_id(code).kind == "uscc", code
            assert code.startswith(authority + "620105")
