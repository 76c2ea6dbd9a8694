"""factory_boy factories for the domain (valid by default, like the spec's happy path)."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from core.models import Shop, ShopMembership
from invoices.models import InvoiceRequest, Order
from invoices.overdue import overdue_at_for

VALID_USCC = "91620105L015101280"


def _blank_pdf() -> bytes:
    from pypdf import PdfWriter

    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=595, height=420)
    writer.write(out)
    return out.getvalue()


def _image(kind: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, kind)
    return out.getvalue()


# Small files that pass the content checks: they are what they say, all the way through.
PDF_BYTES = _blank_pdf()
PNG_BYTES = _image("PNG")
JPEG_BYTES = _image("JPEG")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw")


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    jd_shop_id = factory.Sequence(lambda n: f"{10000000 + n}")
    name = factory.Sequence(lambda n: f"测试旗舰店{n}")
    new_flow_since = factory.LazyFunction(lambda: timezone.now() - timezone.timedelta(days=365))


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShopMembership

    shop = factory.SubFactory(ShopFactory)
    user = factory.SubFactory(UserFactory)
    role = ShopMembership.Role.OWNER


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    shop = factory.SubFactory(ShopFactory)
    consumer = factory.SubFactory(UserFactory)
    number = factory.Sequence(lambda n: f"{300000000000 + n}")
    amount = Decimal("199.00")
    state = Order.State.COMPLETED
    completed_at = factory.LazyFunction(timezone.now)


class InvoiceRequestFactory(factory.django.DjangoModelFactory):
    """A pending request, as if made through the service (history aside)."""

    class Meta:
        model = InvoiceRequest

    # An order completed an hour before the request (so the request's own time decides when it
    # is overdue); pass order__state and order__completed_at for an order not yet completed.
    order = factory.SubFactory(
        OrderFactory,
        completed_at=factory.LazyAttribute(
            lambda o: o.factory_parent.requested_at - timedelta(hours=1)
        ),
    )
    shop = factory.SelfAttribute("order.shop")
    consumer = factory.SelfAttribute("order.consumer")
    title_type = InvoiceRequest.TitleType.ORGANISATION
    title = "北京示例科技有限公司"
    tax_id = VALID_USCC
    invoice_kind = InvoiceRequest.InvoiceKind.E_ORDINARY
    email = "finance@example.com"
    requested_at = factory.LazyFunction(timezone.now)
    overdue_at = factory.LazyAttribute(
        lambda o: overdue_at_for(
            requested_at=o.requested_at,
            flow_since=o.order.shop.new_flow_since,
            completed_at=o.order.completed_at,
        )
    )

    class Params:
        # `InvoiceRequestFactory(issued=True)`: issued, its invoice read back and matched
        # (verified, with the reading stored); pass invoice_check="unreadable" (and perhaps an
        # invoice_read) or "" (issued before invoices were checked) for the other outcomes.
        issued = factory.Trait(
            state=InvoiceRequest.State.ISSUED,
            issued_at=factory.LazyFunction(timezone.now),
            invoice_number=factory.Sequence(lambda n: f"{26110000000000000000 + n}"),
            invoice_file="invoices/2026/11/invoice.pdf",
            invoice_content_type="application/pdf",
            invoice_check=InvoiceRequest.Check.VERIFIED,
            invoice_read=factory.LazyAttribute(
                lambda o: matching_reading(o) if o.invoice_check == "verified" else {}
            ),
        )


def matching_reading(r) -> dict:
    """The stored reading (`InvoiceRequest.invoice_read`) of an invoice that says what the
    request `r` asks: its number, title and tax id, the shop's tax id, the order amount, today."""
    return {
        "number": r.invoice_number,
        "code": "",
        "issued_on": timezone.localdate().isoformat(),
        "buyer_name": r.title,
        "buyer_tax_id": r.tax_id,
        "seller_name": r.order.shop.name,
        "seller_tax_id": r.order.shop.tax_id,
        "total": str(r.order.amount),
        "remarks": f"订单号：{r.order.number}",
        "sources": ["text", "qr"],
    }


def merchant_of(shop: Shop, role: str = ShopMembership.Role.OWNER, **kwargs):
    """A user working for `shop` with `role`."""
    return MembershipFactory(shop=shop, role=role, **kwargs).user
