"""factory_boy factories for disputes (valid by default: a refused request's fresh dispute)."""

from __future__ import annotations

import factory
from django.conf import settings
from django.utils import timezone

from disputes.models import Dispute, Evidence
from invoices.models import InvoiceRequest
from tests.factories import InvoiceRequestFactory


class RefusedRequestFactory(InvoiceRequestFactory):
    """A request the merchant refused, with its reason."""

    state = InvoiceRequest.State.REFUSED
    refused_at = factory.LazyFunction(timezone.now)
    refuse_reason = "订单金额已退款"


class DisputeFactory(factory.django.DjangoModelFactory):
    """A refused-invoice dispute awaiting the merchant's plan, as if just opened."""

    class Meta:
        model = Dispute

    request = factory.SubFactory(RefusedRequestFactory)
    shop = factory.SelfAttribute("request.shop")
    consumer = factory.SelfAttribute("request.consumer")
    kind = Dispute.Kind.REFUSED
    state = Dispute.State.AWAITING_MERCHANT
    complaint = "商家拒绝开票，理由不成立"
    opened_at = factory.LazyFunction(timezone.now)
    merchant_due_at = factory.LazyAttribute(
        lambda o: o.opened_at + settings.JDPOP_DISPUTE_MERCHANT_WINDOW
    )


class EvidenceFactory(factory.django.DjangoModelFactory):
    """A draft text note from the merchant's side."""

    class Meta:
        model = Evidence

    dispute = factory.SubFactory(DisputeFactory)
    party = Evidence.Party.MERCHANT
    author = factory.SubFactory("tests.factories.UserFactory")
    text = "与消费者的聊天记录：消费者同意不开票"


def dispute_in(state: str, **kwargs) -> Dispute:
    """A refused-invoice dispute already in `state`, with the columns that state requires."""
    now = timezone.now()
    fields: dict = {"state": state}
    if state == Dispute.State.AWAITING_CONSUMER:
        fields.update(
            plan="cannot_issue",
            plan_note="税控设备故障，无法开票",
            answered_at=now,
            consumer_due_at=now + settings.JDPOP_DISPUTE_CONSUMER_WINDOW,
        )
    elif state == Dispute.State.AWAITING_PLATFORM:
        fields.update(
            platform_since=now, proposed_verdict="needs_person", proposed_reason_code="contested"
        )
    elif state == Dispute.State.CLOSED:
        fields.update(outcome=Dispute.Outcome.WITHDRAWN, closed_at=now)
    fields.update(kwargs)
    return DisputeFactory(**fields)


def make_ticket(request: InvoiceRequest, **fields):
    """An urge ticket on `request` with the given record (default: answered 已开发票 in time).

    The columns the ticket's constraints tie to its record (answered_at, the promised date and
    its end) are filled in from it unless given."""
    from tickets.models import UrgeTicket

    opened = fields.pop("opened_at", timezone.now() - timezone.timedelta(days=2))
    values = {
        "request": request,
        "shop": request.shop,
        "opened_at": opened,
        "opened_via": UrgeTicket.OpenedVia.JOB,
        "reply_due_at": opened + settings.JDPOP_REPLY_WINDOW,
        "state": UrgeTicket.State.ANSWERED,
        "sla": UrgeTicket.Sla.MET,
        "resolution": UrgeTicket.Resolution.ISSUED,
        "promise_state": UrgeTicket.PromiseState.NONE,
    }
    values.update(fields)
    if values["state"] == UrgeTicket.State.ANSWERED:
        late = values["sla"] == UrgeTicket.Sla.LATE
        values.setdefault("answered_at", opened + timezone.timedelta(hours=30 if late else 2))
    if values["resolution"] == UrgeTicket.Resolution.DATE_AGREED:
        values.setdefault("promised_date", timezone.localdate(opened) + timezone.timedelta(days=1))
    if values["promise_state"]:
        values.setdefault("promise_due_at", opened + timezone.timedelta(days=2))
    return UrgeTicket.objects.create(**values)


def urge_request(
    *, invoice_check: str = InvoiceRequest.Check.VERIFIED, **ticket_fields
) -> InvoiceRequest:
    """A request with an urge ticket whose record is `ticket_fields`. When the ticket was
    answered 已开发票 (the default) the request is issued at the ticket's answer, its invoice
    checked as `invoice_check` (verified by default; "unreadable", or "" for an invoice issued
    before the check); otherwise it is pending."""
    from tickets.models import UrgeTicket

    resolution = ticket_fields.get("resolution", UrgeTicket.Resolution.ISSUED)
    if resolution != UrgeTicket.Resolution.ISSUED:
        request = InvoiceRequestFactory()
        make_ticket(request, **ticket_fields)
        return InvoiceRequest.objects.for_system().get(pk=request.pk)
    request = InvoiceRequestFactory(issued=True, invoice_check=invoice_check)
    ticket = make_ticket(request, **ticket_fields)
    requests = InvoiceRequest.objects.for_system()
    requests.filter(pk=request.pk).update(issued_at=ticket.answered_at or request.issued_at)
    return requests.get(pk=request.pk)
