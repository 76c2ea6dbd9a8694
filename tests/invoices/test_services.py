"""Spec 3: invoice request transitions, each one transaction with its history entry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.errors import Conflict, DomainError
from core.models import HistoryEntry, ShopMembership
from invoices import services
from invoices.models import InvoiceRequest, Order
from tests.factories import (
    PDF_BYTES,
    VALID_USCC,
    InvoiceRequestFactory,
    OrderFactory,
    ShopFactory,
    merchant_of,
)

pytestmark = pytest.mark.django_db

ORG = {
    "title_type": "organisation",
    "title": "上海云帆信息科技有限公司",
    "tax_id": VALID_USCC,
    "invoice_kind": "e_ordinary",
    "email": "finance@example.com",
}


def pdf(name: str = "invoice.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF_BYTES, content_type="application/pdf")


def states(*requests: InvoiceRequest) -> list[str]:
    return [InvoiceRequest.objects.for_system().get(pk=r.pk).state for r in requests]


# --- request ---------------------------------------------------------------------------------


def test_consumer_requests_an_invoice_on_a_completed_order():
    order = OrderFactory()
    r = services.invoice_request_create(consumer=order.consumer, order=order, data=ORG)
    assert r.state == "pending" and r.kind == "original" and r.shop_id == order.shop_id
    [h] = HistoryEntry.objects.for_system().filter(request_id=r.pk)
    assert (h.action, h.state_from, h.state_to, h.actor) == (
        "requested",
        "",
        "pending",
        order.consumer,
    )


def test_lowercase_tax_id_is_normalised():
    order = OrderFactory()
    r = services.invoice_request_create(
        consumer=order.consumer, order=order, data={**ORG, "tax_id": VALID_USCC.lower()}
    )
    assert r.tax_id == VALID_USCC


@pytest.mark.parametrize("state", [Order.State.PLACED, Order.State.PAID, Order.State.SHIPPED])
def test_an_invoice_can_be_requested_before_completion_and_waits_for_it(state):
    order = OrderFactory(state=state, completed_at=None, shop__new_flow_since=timezone.now())
    r = services.invoice_request_create(consumer=order.consumer, order=order, data=ORG)
    assert r.state == InvoiceRequest.State.PENDING
    assert r.overdue_at is None  # not overdue until the order completes (invoices.feed)


@pytest.mark.parametrize(
    ("state", "completed"), [(Order.State.CANCELLED, False), (Order.State.RETURNED, True)]
)
def test_a_cancelled_or_returned_order_is_refused_and_nothing_is_written(state, completed):
    order = OrderFactory(state=state, completed_at=timezone.now() if completed else None)
    with pytest.raises(DomainError) as e:
        services.invoice_request_create(consumer=order.consumer, order=order, data=ORG)
    assert e.value.code == "order_closed"
    assert (
        not InvoiceRequest.objects.for_system().exists()
        and not HistoryEntry.objects.for_system().exists()
    )


def test_someone_elses_order_is_refused():
    order, stranger = OrderFactory(), OrderFactory().consumer
    with pytest.raises(PermissionDenied):
        services.invoice_request_create(consumer=stranger, order=order, data=ORG)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**ORG, "tax_id": ""}, "tax_id"),
        ({**ORG, "tax_id": "91620105L015101281"}, "tax_id"),
        ({**ORG, "email": ""}, "email"),
        ({**ORG, "email": "not-an-address"}, "email"),
        ({**ORG, "title": "  "}, "title"),
        ({**ORG, "title_type": "robot"}, "title_type"),
        ({**ORG, "invoice_kind": "vat_special"}, "registered_address"),
        (
            {**ORG, "title_type": "person", "tax_id": "", "invoice_kind": "vat_special"},
            "invoice_kind",
        ),
    ],
)
def test_bad_details_are_refused_per_field_and_change_nothing(data, field):
    order = OrderFactory()
    with pytest.raises(ValidationError) as e:
        services.invoice_request_create(consumer=order.consumer, order=order, data=data)
    assert field in e.value.error_dict
    assert not InvoiceRequest.objects.for_system().exists()


def test_vat_special_invoice_with_full_details_is_accepted():
    order = OrderFactory()
    data = {
        **ORG,
        "invoice_kind": "vat_special",
        "email": "",
        "registered_address": "上海市浦东新区",
        "registered_phone": "021-12345678",
        "bank_name": "招商银行上海分行",
        "bank_account": "6225880212345678",
    }
    r = services.invoice_request_create(consumer=order.consumer, order=order, data=data)
    assert r.invoice_kind == "vat_special"


def test_a_person_title_needs_no_tax_id():
    order = OrderFactory()
    r = services.invoice_request_create(
        consumer=order.consumer,
        order=order,
        data={"title_type": "person", "title": "张三", "invoice_kind": "paper_ordinary"},
    )
    assert r.tax_id == ""


def test_legacy_tax_id_is_accepted_with_a_warning():
    order = OrderFactory()
    r = services.invoice_request_create(
        consumer=order.consumer, order=order, data={**ORG, "tax_id": "110108123456789"}
    )
    assert r.tax_id_warning


def test_a_second_request_for_the_same_order_is_a_conflict():
    order = OrderFactory()
    services.invoice_request_create(consumer=order.consumer, order=order, data=ORG)
    with pytest.raises(Conflict):
        services.invoice_request_create(consumer=order.consumer, order=order, data=ORG)
    assert InvoiceRequest.objects.for_system().count() == 1


def test_overdue_clock_starts_at_request_or_when_the_shop_joined_the_new_flow():
    now = timezone.now()
    on_flow = OrderFactory(shop=ShopFactory(new_flow_since=now - timedelta(days=30)))
    joined_later = OrderFactory(shop=ShopFactory(new_flow_since=now + timedelta(days=2)))
    old_flow = OrderFactory(shop=ShopFactory(new_flow_since=None))
    r1, r2, r3 = (
        services.invoice_request_create(consumer=o.consumer, order=o, data=ORG)
        for o in (on_flow, joined_later, old_flow)
    )
    assert r1.overdue_at == r1.requested_at + timedelta(days=10)
    assert r2.overdue_at == now + timedelta(days=12)
    assert r3.overdue_at is None


# --- re-issue --------------------------------------------------------------------------------


def test_reissue_after_a_refusal_has_its_own_clock(settings):
    first = InvoiceRequestFactory(requested_at=timezone.now() - timedelta(days=20))
    owner = merchant_of(first.shop)
    services.invoice_request_refuse(invoice_request=first, by=owner, reason="缺少订单信息")
    first.refresh_from_db()
    again = services.invoice_request_create(
        consumer=first.consumer, order=first.order, data=ORG, reissue_of=first
    )
    assert again.kind == "reissue" and again.reissue_of == first
    assert again.overdue_at == again.requested_at + settings.JDPOP_OVERDUE_AFTER
    assert (
        HistoryEntry.objects.for_system()
        .filter(request_id=again.pk, action="reissue_requested")
        .exists()
    )


def test_a_pending_request_cannot_be_reissued():
    first = InvoiceRequestFactory()
    with pytest.raises(Conflict):
        services.invoice_request_create(
            consumer=first.consumer, order=first.order, data=ORG, reissue_of=first
        )


# --- issue -----------------------------------------------------------------------------------


def test_merchant_issues_with_an_upload():
    r = InvoiceRequestFactory()
    owner = merchant_of(r.shop)
    services.invoice_request_issue(
        invoice_request=r, by=owner, file=pdf(), invoice_number="12345678901234567890"
    )
    r.refresh_from_db()
    assert r.state == "issued" and r.invoice_code == "" and r.issued_at
    assert r.invoice_content_type == "application/pdf"
    assert default_storage.open(r.invoice_file.name).read() == PDF_BYTES
    h = HistoryEntry.objects.for_system().get(request_id=r.pk, action="issued")
    assert (h.state_from, h.state_to, h.actor) == ("pending", "issued", owner)


def test_an_operator_may_issue_but_a_viewer_may_not():
    r = InvoiceRequestFactory()

    def issue(by):
        return services.invoice_request_issue(
            invoice_request=r,
            by=by,
            file=pdf(),
            invoice_code="1100123456",
            invoice_number="12345678",
        )

    with pytest.raises(PermissionDenied):
        issue(merchant_of(r.shop, role=ShopMembership.Role.VIEWER))
    issue(merchant_of(r.shop, role=ShopMembership.Role.OPERATOR))
    assert states(r) == ["issued"]


def test_staff_of_another_shop_may_not_issue():
    r = InvoiceRequestFactory()
    other = merchant_of(ShopFactory())
    with pytest.raises(PermissionDenied):
        services.invoice_request_refuse(invoice_request=r, by=other, reason="x")


@pytest.mark.parametrize(
    ("code", "number", "upload"),
    [
        ("", "1234567890123456789", pdf()),  # 19 digits
        ("123456789", "12345678", pdf()),  # code too short
        ("", "12345678901234567890", SimpleUploadedFile("invoice.pdf", b"MZ\x90\x00 not a pdf")),
    ],
)
def test_bad_upload_is_refused_and_changes_nothing(code, number, upload):
    r = InvoiceRequestFactory()
    with pytest.raises(ValidationError):
        services.invoice_request_issue(
            invoice_request=r,
            by=merchant_of(r.shop),
            file=upload,
            invoice_code=code,
            invoice_number=number,
        )
    assert states(r) == ["pending"]
    assert not HistoryEntry.objects.for_system().filter(request_id=r.pk).exists()
    assert not default_storage.exists(f"invoices/{r.shop_id}/{r.pk}")


def test_issuing_a_refused_request_is_a_conflict_and_keeps_no_file():
    r = InvoiceRequestFactory()
    owner = merchant_of(r.shop)
    services.invoice_request_refuse(invoice_request=r, by=owner, reason="信息不全")
    stale = InvoiceRequest.objects.for_system().get(pk=r.pk)
    stale.state = "pending"  # a page loaded before the refusal
    with pytest.raises(Conflict) as e:
        services.invoice_request_issue(
            invoice_request=stale, by=owner, file=pdf(), invoice_number="12345678901234567890"
        )
    assert e.value.code == "not_pending"
    assert states(r) == ["refused"]
    folder = f"invoices/{r.shop_id}/{r.pk}"
    assert not default_storage.exists(folder) or default_storage.listdir(folder)[1] == []


# --- refuse and cancel -----------------------------------------------------------------------


def test_refusal_needs_a_reason():
    r = InvoiceRequestFactory()
    with pytest.raises(ValidationError):
        services.invoice_request_refuse(invoice_request=r, by=merchant_of(r.shop), reason="  ")
    assert states(r) == ["pending"]


def test_refusal_is_recorded():
    r = InvoiceRequestFactory()
    services.invoice_request_refuse(invoice_request=r, by=merchant_of(r.shop), reason="非本店订单")
    r.refresh_from_db()
    assert (r.state, r.refuse_reason) == ("refused", "非本店订单")
    assert HistoryEntry.objects.for_system().get(request_id=r.pk).data == {"reason": "非本店订单"}


def test_consumer_withdraws_a_pending_request_but_not_twice():
    r = InvoiceRequestFactory()
    services.invoice_request_cancel(invoice_request=r, by=r.consumer)
    with pytest.raises(Conflict):
        services.invoice_request_cancel(invoice_request=r, by=r.consumer)
    assert (
        HistoryEntry.objects.for_system().filter(request_id=r.pk, action="cancelled").count() == 1
    )


def test_only_its_consumer_may_withdraw():
    r = InvoiceRequestFactory()
    with pytest.raises(PermissionDenied):
        services.invoice_request_cancel(invoice_request=r, by=merchant_of(r.shop))
